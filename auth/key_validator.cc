#include "auth/key_validator.h"

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/key_checks.h"
#include "auth/key_format.h"

namespace keygate::auth {
namespace {

// A request waiting for a store lookup. The route is copied: the caller's config snapshot
// might be released before the store answers.
struct Waiter {
  conf::RouteAuthConfig route;
  conf::KeySource::Kind source;
  boost::asio::ip::address client;
  KeyValidator::Done done;
};

// A decision without a key: the key is unknown or could not be looked up.
AuthDecision only(AuthCode code) {
  AuthDecision decision;
  decision.code = code;
  return decision;
}

AuthDecision decide(std::shared_ptr<const CompactKey> key, const conf::RouteAuthConfig& route,
                    const conf::KeysConfig& keys, conf::KeySource::Kind source,
                    const boost::asio::ip::address& client, UnixSeconds now) {
  const AuthCode code = check_key(*key, route, keys, source, client, now);
  return AuthDecision{code, std::move(key), false};
}

}  // namespace

ValidatorClock ValidatorClock::system() {
  return ValidatorClock{
      [] { return std::chrono::steady_clock::now(); },
      [] {
        return static_cast<UnixSeconds>(std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
      }};
}

// What a store callback needs, kept alive by the callback itself.
struct KeyValidator::Shared {
  std::shared_ptr<KeyCache> cache;
  std::shared_ptr<const KeyHasher> hasher;
  KeyLookup& lookup;
  ValidatorClock clock;

  std::mutex mutex;
  std::unordered_map<std::string, std::vector<Waiter>> waiting;  // hash -> requests

  std::atomic<std::uint64_t> store_lookups{0};
  std::atomic<std::uint64_t> coalesced{0};
  std::atomic<std::uint64_t> stale_answers{0};
  std::atomic<std::uint64_t> unavailable{0};

  Shared(std::shared_ptr<KeyCache> c, std::shared_ptr<const KeyHasher> h, KeyLookup& l,
         ValidatorClock k)
      : cache(std::move(c)), hasher(std::move(h)), lookup(l), clock(std::move(k)) {}

  void complete(const conf::ConfigPtr& config, const std::string& hash, LookupResult result);
};

struct KeyValidator::Prepared {
  std::optional<AuthDecision> decision;
  std::string hash;  // set when `decision` is empty: the store must be asked
};

KeyValidator::KeyValidator(conf::ConfigPtr config, std::shared_ptr<KeyCache> cache,
                           std::shared_ptr<const KeyHasher> hasher, KeyLookup& lookup,
                           ValidatorClock clock)
    : config_(std::move(config)),
      shared_(std::make_shared<Shared>(std::move(cache), std::move(hasher), lookup,
                                       std::move(clock))) {}

KeyValidator::~KeyValidator() = default;

void KeyValidator::update_config(conf::ConfigPtr config) {
  config_ = std::move(config);
}

KeyValidator::Prepared KeyValidator::prepare(std::string_view raw_key, conf::KeySource::Kind source,
                                             const conf::RouteAuthConfig& route,
                                             const boost::asio::ip::address& client) {
  // The checksum turns away typos and garbage before any hashing or lookup.
  if (!parse_key(raw_key, config_->keys)) return {only(AuthCode::invalid_api_key), {}};
  // Bytes on the stack: a cached key, the usual case, needs the hash only for the lookup; its
  // hex (the store's form) is made on a miss.
  KeyDigest digest;
  // Only OpenSSL failing gets here: our fault, so not a 401.
  if (!shared_->hasher->digest_into(raw_key, digest))
    return {only(AuthCode::store_unavailable), {}};

  KeyCache::Result cached = shared_->cache->lookup(digest, shared_->clock.steady());
  switch (cached.outcome) {
    case KeyCache::Outcome::hit:
      return {decide(std::move(cached.key), route, config_->keys, source, client,
                     shared_->clock.unix_seconds()),
              {}};
    case KeyCache::Outcome::negative_hit:
      return {only(AuthCode::invalid_api_key), {}};
    case KeyCache::Outcome::miss:
      break;
  }
  return {std::nullopt, hex_digest(digest)};
}

std::optional<AuthDecision> KeyValidator::try_validate(std::string_view raw_key,
                                                       conf::KeySource::Kind source,
                                                       const conf::RouteAuthConfig& route,
                                                       const boost::asio::ip::address& client) {
  return prepare(raw_key, source, route, client).decision;
}

void KeyValidator::validate(std::string_view raw_key, conf::KeySource::Kind source,
                            const conf::RouteAuthConfig& route,
                            const boost::asio::ip::address& client, Done done) {
  Prepared prepared = prepare(raw_key, source, route, client);
  if (prepared.decision) return done(std::move(*prepared.decision));

  bool first = false;
  {
    std::lock_guard lock(shared_->mutex);
    auto [it, inserted] = shared_->waiting.try_emplace(prepared.hash);
    it->second.push_back(Waiter{route, source, client, std::move(done)});
    first = inserted;
  }
  if (!first) {
    shared_->coalesced.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  shared_->store_lookups.fetch_add(1, std::memory_order_relaxed);
  // Not under the lock: an in-memory store answers inline.
  shared_->lookup.find_by_hash(
      prepared.hash, [shared = shared_, config = config_, hash = prepared.hash](LookupResult r) {
        shared->complete(config, hash, std::move(r));
      });
}

void KeyValidator::Shared::complete(const conf::ConfigPtr& config, const std::string& hash,
                                    LookupResult result) {
  const auto steady_now = clock.steady();
  std::shared_ptr<const CompactKey> key;
  bool stale = false;
  bool store_down = false;
  switch (result.status) {
    case LookupStatus::found:
      // A record filed under another hash is a store bug; refuse it rather than trust it.
      if (result.key && constant_time_equals(result.key->hash, hash))
        key = cache->put(hash, *result.key, result.org.get(), steady_now);
      break;
    case LookupStatus::not_found:
      cache->put_negative(hash, steady_now);
      break;
    case LookupStatus::unavailable:
      if (KeyCache::Result old = cache->lookup_stale(hash, steady_now);
          old.outcome == KeyCache::Outcome::hit) {
        key = std::move(old.key);
        stale = true;
      } else {
        store_down = true;
      }
      break;
  }

  std::vector<Waiter> waiters;
  {
    std::lock_guard lock(mutex);
    if (auto it = waiting.find(hash); it != waiting.end()) {
      waiters = std::move(it->second);
      waiting.erase(it);
    }
  }
  const UnixSeconds unix_now = clock.unix_seconds();
  if (stale) stale_answers.fetch_add(waiters.size(), std::memory_order_relaxed);
  if (store_down) unavailable.fetch_add(waiters.size(), std::memory_order_relaxed);
  for (Waiter& waiter : waiters) {
    AuthDecision decision;
    if (key) {
      decision = decide(key, waiter.route, config->keys, waiter.source, waiter.client, unix_now);
      decision.stale = stale;
    } else {
      decision.code = store_down ? AuthCode::store_unavailable : AuthCode::invalid_api_key;
    }
    waiter.done(std::move(decision));
  }
}

KeyValidator::Stats KeyValidator::stats() const {
  Stats s;
  s.store_lookups = shared_->store_lookups.load(std::memory_order_relaxed);
  s.coalesced = shared_->coalesced.load(std::memory_order_relaxed);
  s.stale_answers = shared_->stale_answers.load(std::memory_order_relaxed);
  s.unavailable = shared_->unavailable.load(std::memory_order_relaxed);
  return s;
}

}  // namespace keygate::auth
