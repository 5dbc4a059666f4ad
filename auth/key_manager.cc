#include "auth/key_manager.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>

#include "auth/cidr.h"
#include "auth/key_record_json.h"

namespace keygate::auth {
namespace {

constexpr std::size_t kMaxNameLength = 200;
constexpr std::size_t kMaxOrgIdLength = 64;
constexpr std::size_t kMaxScopeLength = 128;
constexpr std::size_t kMaxScopes = 100;
constexpr std::size_t kMaxCidrs = 100;
constexpr std::size_t kMinPrefixQuery = 6;

template <class T>
KeyResult<T> failure(KeyErrc code, std::string message) {
  return {code, std::move(message), {}};
}

template <class T>
KeyResult<T> success(T value) {
  return {KeyErrc::ok, {}, std::move(value)};
}

KeyErrc from_store(StoreErrc code) {
  switch (code) {
    case StoreErrc::ok:
      return KeyErrc::ok;
    case StoreErrc::not_found:
      return KeyErrc::not_found;
    case StoreErrc::conflict:
    case StoreErrc::aborted:
      return KeyErrc::invalid_state;
    case StoreErrc::busy:
    case StoreErrc::corrupt:
    case StoreErrc::unavailable:
      return KeyErrc::store_unavailable;
  }
  return KeyErrc::store_unavailable;
}

template <class T>
KeyResult<T> store_failure(const StoreStatus& status) {
  return failure<T>(from_store(status.code), status.message);
}

// Org ids become parts of Redis key names and file entries: keep them plain.
bool valid_org_id(const std::string& org) {
  if (org.empty() || org.size() > kMaxOrgIdLength) return false;
  return std::all_of(org.begin(), org.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

bool printable(const std::string& text) {
  return std::none_of(text.begin(), text.end(),
                      [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

// Scopes travel upstream joined in one header, so they hold no separators or spaces.
bool valid_scope(const std::string& scope) {
  if (scope.empty() || scope.size() > kMaxScopeLength) return false;
  return std::all_of(scope.begin(), scope.end(), [](unsigned char c) {
    return c > 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\\';
  });
}

std::string check_name(const std::string& name) {
  if (name.empty()) return "a key needs a name";
  if (name.size() > kMaxNameLength || !printable(name))
    return "a key name has at most " + std::to_string(kMaxNameLength) + " printable characters";
  return {};
}

std::string check_scopes(const std::vector<std::string>& scopes) {
  if (scopes.size() > kMaxScopes) return "at most " + std::to_string(kMaxScopes) + " scopes";
  for (const std::string& scope : scopes)
    if (!valid_scope(scope))
      return "invalid scope \"" + scope + "\" (visible ASCII, no spaces, commas or quotes)";
  return {};
}

std::vector<std::string> without_duplicates(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const std::string& item : items)
    if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

UnixSeconds system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool openssl_random(unsigned char* out, std::size_t n) {
  return RAND_bytes(out, static_cast<int>(n)) == 1;
}

std::size_t count_slots(const OrgKeys& org, UnixSeconds now) {
  return static_cast<std::size_t>(
      std::count_if(org.keys.begin(), org.keys.end(),
                    [&](const KeyRecord& key) { return counts_toward_plan(key, now); }));
}

std::string no_plans_message(const std::string& plan) {
  return "no plans are configured (keys.plans), so there is no plan \"" + plan +
         "\": every org has unlimited keys and no quota";
}

const KeyRecord* find_in(const OrgKeys& org, const std::string& id) {
  for (const KeyRecord& key : org.keys)
    if (key.id == id) return &key;
  return nullptr;
}

}  // namespace

std::string_view key_errc_name(KeyErrc code) {
  switch (code) {
    case KeyErrc::ok:
      return "ok";
    case KeyErrc::not_found:
      return "not_found";
    case KeyErrc::plan_limit_reached:
      return "plan_limit_reached";
    case KeyErrc::invalid_argument:
      return "invalid_argument";
    case KeyErrc::invalid_state:
      return "invalid_state";
    case KeyErrc::store_unavailable:
      return "store_unavailable";
  }
  return "store_unavailable";
}

KeyManager::KeyManager(std::shared_ptr<KeyRepository> repository,
                       std::shared_ptr<const KeyHasher> hasher, KeyManagerOptions options)
    : repository_(std::move(repository)), hasher_(std::move(hasher)), options_(std::move(options)) {
  if (!options_.clock) options_.clock = system_now;
  if (!options_.random) options_.random = openssl_random;
}

const conf::PlanConfig* KeyManager::find_plan(const std::string& name) const {
  for (const conf::PlanConfig& plan : options_.keys.plans)
    if (plan.name == name) return &plan;
  return nullptr;
}

std::string KeyManager::new_key_id() {
  std::array<unsigned char, 12> bytes{};
  if (!options_.random(bytes.data(), bytes.size())) return {};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "key_";
  for (unsigned char byte : bytes) {
    id += kHex[byte >> 4];
    id += kHex[byte & 0x0f];
  }
  return id;
}

KeyResult<CreatedKey> KeyManager::create(const CreateKeyRequest& request) {
  const conf::KeysConfig& keys = options_.keys;
  const UnixSeconds now = options_.clock();
  if (!valid_org_id(request.org))
    return failure<CreatedKey>(
        KeyErrc::invalid_argument,
        "invalid org id \"" + request.org + "\" (1-64 letters, digits, '_', '-' or '.')");
  if (std::string error = check_name(request.name); !error.empty())
    return failure<CreatedKey>(KeyErrc::invalid_argument, error);
  if (!contains(keys.environments, request.environment))
    return failure<CreatedKey>(KeyErrc::invalid_argument,
                               "unknown environment \"" + request.environment +
                                   "\" (configured: " + join(keys.environments, ", ") + ")");
  if (!contains(keys.types, request.type))
    return failure<CreatedKey>(
        KeyErrc::invalid_argument,
        "unknown key type \"" + request.type + "\" (configured: " + join(keys.types, ", ") + ")");
  const conf::KeyPrefixConfig* prefix = nullptr;
  for (const conf::KeyPrefixConfig& candidate : keys.prefixes)
    if (candidate.environment == request.environment && candidate.type == request.type)
      prefix = &candidate;
  if (prefix == nullptr)
    return failure<CreatedKey>(
        KeyErrc::invalid_argument,
        "no key prefix is configured for " + request.environment + "/" + request.type);
  if (std::string error = check_scopes(request.scopes); !error.empty())
    return failure<CreatedKey>(KeyErrc::invalid_argument, error);
  if (request.expires_at && *request.expires_at <= now)
    return failure<CreatedKey>(KeyErrc::invalid_argument, "the expiry must lie in the future");
  if (request.created_by.size() > kMaxNameLength || !printable(request.created_by))
    return failure<CreatedKey>(KeyErrc::invalid_argument, "invalid created-by");
  if (request.allowed_cidrs.size() > kMaxCidrs)
    return failure<CreatedKey>(KeyErrc::invalid_argument,
                               "at most " + std::to_string(kMaxCidrs) + " networks");
  if (auto errors = validate_cidrs(request.allowed_cidrs); !errors.empty())
    return failure<CreatedKey>(KeyErrc::invalid_argument, join(errors, "; "));
  for (const LimitOverride& override_ : request.limit_overrides) {
    if (override_.policy.empty() || (!override_.limit && !override_.window_ms))
      return failure<CreatedKey>(KeyErrc::invalid_argument,
                                 "a limit override names a policy and sets a limit or a window");
    if (!options_.rate_limit_policies.empty() &&
        !contains(options_.rate_limit_policies, override_.policy))
      return failure<CreatedKey>(KeyErrc::invalid_argument,
                                 "unknown rate-limit policy \"" + override_.policy + "\"");
  }

  CreatedKey created;
  created.raw_key = generate_key(*prefix, options_.random);
  KeyRecord& record = created.record;
  record.id = new_key_id();
  if (created.raw_key.empty() || record.id.empty())
    return failure<CreatedKey>(KeyErrc::store_unavailable, "the random generator failed");
  record.hash = hasher_->hash(created.raw_key);
  if (record.hash.empty())
    return failure<CreatedKey>(KeyErrc::store_unavailable, "hashing the new key failed");
  record.prefix = display_prefix(created.raw_key);
  record.name = request.name;
  record.org = request.org;
  record.environment = request.environment;
  record.type = request.type;
  record.scopes = without_duplicates(request.scopes);
  record.status = KeyStatus::active;
  record.created_at = now;
  record.created_by = request.created_by;
  record.expires_at = request.expires_at;
  record.allowed_cidrs = request.allowed_cidrs;
  record.limit_overrides = request.limit_overrides;

  KeyResult<CreatedKey> refused;
  const StoreStatus status =
      repository_->transact(request.org, [&](const OrgKeys& current, OrgChanges& changes) {
        changes = {};
        refused = {};
        OrgRecord org = current.org.value_or(OrgRecord{request.org, keys.default_plan, now});
        if (keys.plans.empty()) {  // no plans: no maximum, whatever plan the org once had
          if (!current.org) changes.put_org = org;
          changes.put_keys.push_back(record);
          return true;
        }
        const conf::PlanConfig* plan = find_plan(org.plan);
        if (plan == nullptr) {
          refused = failure<CreatedKey>(KeyErrc::invalid_state,
                                        "org " + org.id + " is on plan \"" + org.plan +
                                            "\", which the configuration does not define");
          return false;
        }
        const std::size_t used = count_slots(current, now);
        if (plan->max_keys && used >= *plan->max_keys) {
          refused = failure<CreatedKey>(
              KeyErrc::plan_limit_reached,
              "org " + org.id + " already has " + std::to_string(used) + " of the " +
                  std::to_string(*plan->max_keys) + " keys its plan \"" + plan->name +
                  "\" allows; revoke or delete a key, or move the org to a larger plan");
          return false;
        }
        if (!current.org) changes.put_org = org;
        changes.put_keys.push_back(record);
        return true;
      });
  if (status.code == StoreErrc::aborted) return refused;
  if (!status.ok()) return store_failure<CreatedKey>(status);
  return success(std::move(created));
}

KeyResult<KeyRecord> KeyManager::resolve(const std::string& key_ref) {
  if (key_ref.starts_with("key_")) {
    StoreResult<KeyRecord> found = repository_->get_key(key_ref);
    if (!found.ok()) return store_failure<KeyRecord>(found.status);
    return success(std::move(found.value));
  }
  if (parse_key(key_ref, options_.keys)) {
    StoreResult<KeyRecord> found = repository_->get_key_by_hash(hasher_->hash(key_ref));
    if (found.status.code == StoreErrc::not_found)
      return failure<KeyRecord>(KeyErrc::not_found, "no key matches the raw key given");
    if (!found.ok()) return store_failure<KeyRecord>(found.status);
    return success(std::move(found.value));
  }
  std::string prefix = key_ref;
  if (prefix.ends_with("...")) prefix.resize(prefix.size() - 3);
  if (prefix.size() < kMinPrefixQuery)
    return failure<KeyRecord>(KeyErrc::invalid_argument,
                              "name a key by its id (key_...) or by its prefix, at least " +
                                  std::to_string(kMinPrefixQuery) + " characters");
  StoreResult<std::vector<OrgRecord>> orgs = repository_->list_orgs();
  if (!orgs.ok()) return store_failure<KeyRecord>(orgs.status);
  std::vector<KeyRecord> matches;
  for (const OrgRecord& org : orgs.value) {
    StoreResult<OrgKeys> read = repository_->read_org(org.id);
    if (!read.ok()) return store_failure<KeyRecord>(read.status);
    for (KeyRecord& key : read.value.keys)
      if (key.prefix.starts_with(prefix)) matches.push_back(std::move(key));
  }
  if (matches.empty()) return failure<KeyRecord>(KeyErrc::not_found, "no key has prefix " + prefix);
  if (matches.size() > 1) {
    std::vector<std::string> ids;
    for (const KeyRecord& key : matches) ids.push_back(key.id);
    return failure<KeyRecord>(KeyErrc::invalid_argument, "prefix " + prefix + " matches " +
                                                             std::to_string(matches.size()) +
                                                             " keys: " + join(ids, ", "));
  }
  return success(std::move(matches.front()));
}

KeyResult<KeyRecord> KeyManager::show(const std::string& key_ref) {
  return resolve(key_ref);
}

KeyResult<std::vector<KeyRecord>> KeyManager::list(const std::string& org) {
  StoreResult<OrgKeys> read = repository_->read_org(org);
  if (!read.ok()) return store_failure<std::vector<KeyRecord>>(read.status);
  if (!read.value.org && read.value.keys.empty())
    return failure<std::vector<KeyRecord>>(KeyErrc::not_found, "no org " + org);
  return success(std::move(read.value.keys));
}

KeyResult<std::vector<KeyRecord>> KeyManager::list_all() {
  StoreResult<std::vector<OrgRecord>> orgs = repository_->list_orgs();
  if (!orgs.ok()) return store_failure<std::vector<KeyRecord>>(orgs.status);
  std::vector<KeyRecord> all;
  for (const OrgRecord& org : orgs.value) {
    StoreResult<OrgKeys> read = repository_->read_org(org.id);
    if (!read.ok()) return store_failure<std::vector<KeyRecord>>(read.status);
    for (KeyRecord& key : read.value.keys) all.push_back(std::move(key));
  }
  return success(std::move(all));
}

KeyResult<KeyChange> KeyManager::edit(const std::string& key_ref, const KeyEdit& change) {
  KeyResult<KeyRecord> target = resolve(key_ref);
  if (!target.ok()) return failure<KeyChange>(target.code, target.message);
  const std::string id = target.value.id;

  KeyResult<KeyChange> outcome;
  const StoreStatus status =
      repository_->transact(target.value.org, [&](const OrgKeys& current, OrgChanges& changes) {
        changes = {};
        const KeyRecord* stored = find_in(current, id);
        if (stored == nullptr) {
          outcome = failure<KeyChange>(KeyErrc::not_found, "no key " + id);
          return false;
        }
        KeyRecord updated = *stored;
        KeyResult<bool> changed = change(updated, current);
        if (!changed.ok()) {
          outcome = failure<KeyChange>(changed.code, changed.message);
          return false;
        }
        outcome = success(KeyChange{updated, changed.value});
        if (changed.value) changes.put_keys.push_back(std::move(updated));
        return true;
      });
  if (status.code == StoreErrc::aborted) return outcome;
  if (!status.ok()) return store_failure<KeyChange>(status);
  return outcome;
}

KeyResult<KeyChange> KeyManager::revoke(const std::string& key_ref) {
  const UnixSeconds now = options_.clock();
  return edit(key_ref, [&](KeyRecord& key, const OrgKeys&) {
    if (key.status == KeyStatus::revoked) return success(false);
    key.status = KeyStatus::revoked;
    key.revoked_at = now;
    return success(true);
  });
}

KeyResult<KeyChange> KeyManager::deactivate(const std::string& key_ref) {
  return edit(key_ref, [&](KeyRecord& key, const OrgKeys&) {
    if (key.status == KeyStatus::revoked)
      return failure<bool>(KeyErrc::invalid_state, "key " + key.id + " is revoked");
    if (key.status == KeyStatus::inactive) return success(false);
    key.status = KeyStatus::inactive;
    return success(true);
  });
}

KeyResult<KeyChange> KeyManager::activate(const std::string& key_ref) {
  return edit(key_ref, [&](KeyRecord& key, const OrgKeys&) {
    if (key.status == KeyStatus::revoked)
      return failure<bool>(KeyErrc::invalid_state,
                           "key " + key.id + " is revoked; revocation is final, create a new key");
    if (key.status == KeyStatus::active) return success(false);
    key.status = KeyStatus::active;
    return success(true);
  });
}

KeyResult<KeyChange> KeyManager::expire(const std::string& key_ref, std::optional<UnixSeconds> at) {
  const UnixSeconds now = options_.clock();
  return edit(key_ref, [&](KeyRecord& key, const OrgKeys& org) {
    if (key.status == KeyStatus::revoked)
      return failure<bool>(KeyErrc::invalid_state, "key " + key.id + " is revoked");
    if (key.expires_at == at) return success(false);
    // Moving an expiry into the future brings an expired key back: it needs a slot again.
    const bool held_slot = counts_toward_plan(key, now);
    key.expires_at = at;
    if (!held_slot && counts_toward_plan(key, now)) {
      const conf::PlanConfig* plan = nullptr;
      if (org.org) plan = find_plan(org.org->plan);
      if (plan != nullptr && plan->max_keys && count_slots(org, now) >= *plan->max_keys)
        return failure<bool>(KeyErrc::plan_limit_reached,
                             "reviving key " + key.id + " would exceed the plan's " +
                                 std::to_string(*plan->max_keys) + " keys");
    }
    return success(true);
  });
}

KeyResult<KeyChange> KeyManager::rename(const std::string& key_ref, const std::string& name) {
  if (std::string error = check_name(name); !error.empty())
    return failure<KeyChange>(KeyErrc::invalid_argument, error);
  return edit(key_ref, [&](KeyRecord& key, const OrgKeys&) {
    if (key.name == name) return success(false);
    key.name = name;
    return success(true);
  });
}

KeyResult<KeyChange> KeyManager::set_scopes(const std::string& key_ref,
                                            const std::vector<std::string>& scopes) {
  if (std::string error = check_scopes(scopes); !error.empty())
    return failure<KeyChange>(KeyErrc::invalid_argument, error);
  const std::vector<std::string> unique = without_duplicates(scopes);
  return edit(key_ref, [&](KeyRecord& key, const OrgKeys&) {
    if (key.scopes == unique) return success(false);
    key.scopes = unique;
    return success(true);
  });
}

KeyResult<RotatedKey> KeyManager::rotate(const std::string& key_ref, std::chrono::seconds grace,
                                         const std::string& created_by, RotateExpiry expiry) {
  if (grace.count() < 0)
    return failure<RotatedKey>(KeyErrc::invalid_argument, "the grace period cannot be negative");
  if (created_by.size() > kMaxNameLength || !printable(created_by))
    return failure<RotatedKey>(KeyErrc::invalid_argument, "invalid created-by");
  KeyResult<KeyRecord> target = resolve(key_ref);
  if (!target.ok()) return failure<RotatedKey>(target.code, target.message);
  const KeyRecord& old_key = target.value;
  const UnixSeconds now = options_.clock();
  if (expiry.replace && expiry.expires_at && *expiry.expires_at <= now)
    return failure<RotatedKey>(KeyErrc::invalid_argument, "the new expiry must lie in the future");

  const conf::KeyPrefixConfig* prefix = nullptr;
  for (const conf::KeyPrefixConfig& candidate : options_.keys.prefixes)
    if (candidate.environment == old_key.environment && candidate.type == old_key.type)
      prefix = &candidate;
  if (prefix == nullptr)
    return failure<RotatedKey>(
        KeyErrc::invalid_state,
        "no key prefix is configured any more for " + old_key.environment + "/" + old_key.type);

  RotatedKey rotated;
  CreatedKey& created = rotated.new_key;
  created.raw_key = generate_key(*prefix, options_.random);
  const std::string new_id = new_key_id();
  if (created.raw_key.empty() || new_id.empty())
    return failure<RotatedKey>(KeyErrc::store_unavailable, "the random generator failed");
  const std::string new_hash = hasher_->hash(created.raw_key);
  if (new_hash.empty())
    return failure<RotatedKey>(KeyErrc::store_unavailable, "hashing the new key failed");

  KeyResult<RotatedKey> refused;
  const StoreStatus status = repository_->transact(old_key.org, [&](const OrgKeys& current,
                                                                    OrgChanges& changes) {
    changes = {};
    const KeyRecord* stored = find_in(current, old_key.id);
    if (stored == nullptr) {
      refused = failure<RotatedKey>(KeyErrc::not_found, "no key " + old_key.id);
      return false;
    }
    const EffectiveStatus state = effective_status(*stored, now);
    if (!stored->successor_id.empty()) {
      refused = failure<RotatedKey>(
          KeyErrc::invalid_state,
          "key " + stored->id + " was already rotated; its successor is " + stored->successor_id);
      return false;
    }
    if (state == EffectiveStatus::revoked || state == EffectiveStatus::expired) {
      refused = failure<RotatedKey>(KeyErrc::invalid_state,
                                    "key " + stored->id + " is " +
                                        std::string(effective_status_name(state)) +
                                        "; create a new key instead");
      return false;
    }
    KeyRecord next = *stored;
    next.id = new_id;
    next.hash = new_hash;
    next.prefix = display_prefix(created.raw_key);
    next.status = KeyStatus::active;
    next.created_at = now;
    if (!created_by.empty()) next.created_by = created_by;
    // Same end date as the key it replaces: rotating a credential must not extend it.
    if (expiry.replace) next.expires_at = expiry.expires_at;
    next.revoked_at.reset();
    next.last_used_at.reset();
    next.successor_id.clear();
    next.grace_until.reset();

    KeyRecord old = *stored;
    old.successor_id = new_id;
    if (grace.count() == 0) {
      old.status = KeyStatus::revoked;
      old.revoked_at = now;
    } else {
      old.grace_until = now + grace.count();
    }
    rotated.old_key = old;
    created.record = next;
    changes.put_keys = {std::move(old), std::move(next)};
    return true;
  });
  if (status.code == StoreErrc::aborted) return refused;
  if (!status.ok()) return store_failure<RotatedKey>(status);
  return success(std::move(rotated));
}

KeyResult<KeyRecord> KeyManager::remove(const std::string& key_ref) {
  KeyResult<KeyRecord> target = resolve(key_ref);
  if (!target.ok()) return target;
  const std::string id = target.value.id;
  KeyResult<KeyRecord> outcome;
  const StoreStatus status =
      repository_->transact(target.value.org, [&](const OrgKeys& current, OrgChanges& changes) {
        changes = {};
        const KeyRecord* stored = find_in(current, id);
        if (stored == nullptr) {
          outcome = failure<KeyRecord>(KeyErrc::not_found, "no key " + id);
          return false;
        }
        outcome = success(*stored);
        changes.delete_key_ids.push_back(id);
        return true;
      });
  if (status.code == StoreErrc::aborted) return outcome;
  if (!status.ok()) return store_failure<KeyRecord>(status);
  return outcome;
}

KeyResult<OrgRecord> KeyManager::create_org(const std::string& org, const std::string& plan) {
  if (!valid_org_id(org))
    return failure<OrgRecord>(
        KeyErrc::invalid_argument,
        "invalid org id \"" + org + "\" (1-64 letters, digits, '_', '-' or '.')");
  const std::string plan_name = plan.empty() ? options_.keys.default_plan : plan;
  if (options_.keys.plans.empty() && !plan_name.empty())
    return failure<OrgRecord>(KeyErrc::invalid_argument, no_plans_message(plan_name));
  if (!options_.keys.plans.empty() && find_plan(plan_name) == nullptr)
    return failure<OrgRecord>(KeyErrc::invalid_argument, "unknown plan \"" + plan_name + "\"");
  const OrgRecord record{org, plan_name, options_.clock()};
  KeyResult<OrgRecord> refused;
  const StoreStatus status =
      repository_->transact(org, [&](const OrgKeys& current, OrgChanges& changes) {
        changes = {};
        if (current.org) {
          refused =
              failure<OrgRecord>(KeyErrc::invalid_state,
                                 "org " + org + " already exists (plan " + current.org->plan + ")");
          return false;
        }
        changes.put_org = record;
        return true;
      });
  if (status.code == StoreErrc::aborted) return refused;
  if (!status.ok()) return store_failure<OrgRecord>(status);
  return success(record);
}

KeyResult<OrgRecord> KeyManager::set_plan(const std::string& org, const std::string& plan) {
  if (options_.keys.plans.empty())
    return failure<OrgRecord>(KeyErrc::invalid_argument, no_plans_message(plan));
  if (find_plan(plan) == nullptr)
    return failure<OrgRecord>(KeyErrc::invalid_argument, "unknown plan \"" + plan + "\"");
  KeyResult<OrgRecord> outcome;
  const StoreStatus status =
      repository_->transact(org, [&](const OrgKeys& current, OrgChanges& changes) {
        changes = {};
        if (!current.org) {
          outcome = failure<OrgRecord>(KeyErrc::not_found, "no org " + org);
          return false;
        }
        OrgRecord updated = *current.org;
        updated.plan = plan;
        outcome = success(updated);
        changes.put_org = std::move(updated);
        return true;
      });
  if (status.code == StoreErrc::aborted) return outcome;
  if (!status.ok()) return store_failure<OrgRecord>(status);
  return outcome;
}

KeyResult<std::vector<OrgRecord>> KeyManager::list_orgs() {
  StoreResult<std::vector<OrgRecord>> orgs = repository_->list_orgs();
  if (!orgs.ok()) return store_failure<std::vector<OrgRecord>>(orgs.status);
  return success(std::move(orgs.value));
}

KeyResult<OrgRecord> KeyManager::get_org(const std::string& org) {
  StoreResult<OrgRecord> found = repository_->get_org(org);
  if (!found.ok()) return store_failure<OrgRecord>(found.status);
  return success(std::move(found.value));
}

KeyResult<KeyManager::Usage> KeyManager::usage(const std::string& org) {
  StoreResult<OrgKeys> read = repository_->read_org(org);
  if (!read.ok()) return store_failure<Usage>(read.status);
  Usage usage;
  usage.active = count_slots(read.value, options_.clock());
  const std::string plan_name = read.value.org ? read.value.org->plan : options_.keys.default_plan;
  if (const conf::PlanConfig* plan = find_plan(plan_name)) usage.max_keys = plan->max_keys;
  return success(usage);
}

}  // namespace keygate::auth
