#include "auth/redis_key_lookup.h"

#include <chrono>

#include "auth/key_record_json.h"
#include "auth/redis_key_schema.h"
#include "redis/script.h"

namespace keygate::auth {
namespace {

// KEYS[1]: <p>key:<hash>; ARGV[1]: <p>org: . Returns nil, or {record JSON, org JSON or nil}.
constexpr std::string_view kLookupScript = R"lua(
local record = redis.call('GET', KEYS[1])
if not record then return false end
local org = false
local ok, decoded = pcall(cjson.decode, record)
if ok and type(decoded) == 'table' and type(decoded.org) == 'string' and decoded.org ~= '' then
  org = redis.call('GET', ARGV[1] .. decoded.org)
end
return {record, org}
)lua";

const redis::Script& lookup_script() {
  static const redis::Script script{std::string(kLookupScript)};
  return script;
}

LookupResult unavailable() {
  return LookupResult{LookupStatus::unavailable, nullptr, nullptr};
}

}  // namespace

struct RedisKeyLookup::State {
  std::shared_ptr<redis::Client> client;
  std::string record_prefix;  // "<p>key:"
  std::string org_prefix;     // "<p>org:"
  std::chrono::milliseconds timeout;
};

const std::string& RedisKeyLookup::script() {
  return lookup_script().source();
}

RedisKeyLookup::RedisKeyLookup(std::shared_ptr<redis::Client> client,
                               const conf::RedisConfig& config)
    : state_(std::make_shared<const State>(State{
          std::move(client), redis_schema::key_record(redis_schema::record_prefix(config), ""),
          redis_schema::org_record_prefix(redis_schema::record_prefix(config)),
          config.command_timeout})) {}

LookupResult lookup_result_from_reply(const redis::Reply& reply, const std::string& hash) {
  if (reply.type == redis::Reply::Type::nil) return {LookupStatus::not_found, nullptr, nullptr};
  if (reply.type != redis::Reply::Type::array || reply.elements.size() != 2 ||
      reply.elements[0].type != redis::Reply::Type::string)
    return unavailable();
  std::string error;
  std::optional<KeyRecord> key = parse_key_record(reply.elements[0].str, error);
  // A record that does not parse, or sits under another hash, is store trouble, not a
  // verdict about the caller: answer unavailable rather than not_found.
  if (!key || key->hash != hash) return unavailable();
  LookupResult result{LookupStatus::found, std::make_shared<const KeyRecord>(std::move(*key)),
                      nullptr};
  if (reply.elements[1].type == redis::Reply::Type::string) {
    std::optional<OrgRecord> org = parse_org_record(reply.elements[1].str, error);
    if (!org) return unavailable();
    result.org = std::make_shared<const OrgRecord>(std::move(*org));
  }
  return result;
}

void RedisKeyLookup::find_by_hash(const std::string& hash, std::function<void(LookupResult)> done) {
  const std::string record_key = state_->record_prefix + hash;
  const std::string_view keys[] = {record_key};
  const std::string_view args[] = {state_->org_prefix};
  // The callback keeps the client alive: Script::eval needs it until the reply.
  lookup_script().eval(
      *state_->client, keys, args, state_->timeout,
      [client = state_->client, hash, done = std::move(done)](redis::Result result) {
        if (result.status != redis::Status::ok || result.reply.is_error())
          return done(unavailable());
        done(lookup_result_from_reply(result.reply, hash));
      });
}

void RedisKeyLookup::preload() const {
  lookup_script().load(*state_->client, state_->timeout,
                       [client = state_->client](redis::Result) {});
}

}  // namespace keygate::auth
