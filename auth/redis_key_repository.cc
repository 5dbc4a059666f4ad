#include "auth/redis_key_repository.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>
#include <vector>

#include "auth/key_record_json.h"
#include "auth/redis_key_schema.h"
#include "redis/redis_client.h"
#include "redis/script.h"

namespace keygate::auth {
namespace {

// ARGV: prefix, org. Returns {revision, org JSON or nil, {key JSON...}} in one atomic step.
constexpr std::string_view kReadOrgScript = R"lua(
local p = ARGV[1]
local base = p .. 'org:' .. ARGV[2]
local rev = redis.call('GET', base .. ':rev') or '0'
local org = redis.call('GET', base)
local records = {}
for _, id in ipairs(redis.call('SMEMBERS', base .. ':keys')) do
  local hash = redis.call('GET', p .. 'keyid:' .. id)
  if hash then
    local record = redis.call('GET', p .. 'key:' .. hash)
    if record then records[#records + 1] = record end
  end
end
return {rev, org, records}
)lua";

// ARGV: prefix, org, expected revision, org JSON ('' = unchanged), n, n x (id, hash, JSON),
// m, m x id. Returns 0 when the revision moved (nothing written), 1 when applied.
// Every check runs before the first write: Redis keeps the writes of a script that fails.
constexpr std::string_view kCommitScript = R"lua(
local p, org = ARGV[1], ARGV[2]
local base = p .. 'org:' .. org
if (redis.call('GET', base .. ':rev') or '0') ~= ARGV[3] then return 0 end
local n = tonumber(ARGV[5])
for i = 0, n - 1 do
  local id, hash = ARGV[6 + 3 * i], ARGV[7 + 3 * i]
  local known = redis.call('GET', p .. 'keyid:' .. id)
  if known then
    if known ~= hash then
      return redis.error_reply('CONFLICT the hash of key ' .. id .. ' cannot change')
    end
    if redis.call('SISMEMBER', base .. ':keys', id) == 0 then
      return redis.error_reply('CONFLICT key ' .. id .. ' belongs to another org')
    end
  elseif redis.call('EXISTS', p .. 'key:' .. hash) == 1 then
    return redis.error_reply('CONFLICT key ' .. id .. ' has the same hash as an existing key')
  end
end
if ARGV[4] ~= '' then
  redis.call('SET', base, ARGV[4])
  redis.call('SADD', p .. 'orgs', org)
end
local channel = p .. 'invalidate'
for i = 0, n - 1 do
  local id, hash, record = ARGV[6 + 3 * i], ARGV[7 + 3 * i], ARGV[8 + 3 * i]
  redis.call('SET', p .. 'key:' .. hash, record)
  redis.call('SET', p .. 'keyid:' .. id, hash)
  redis.call('SADD', base .. ':keys', id)
  redis.call('PUBLISH', channel, hash)
end
local d = 6 + 3 * n
for i = 1, tonumber(ARGV[d]) do
  local id = ARGV[d + i]
  local hash = redis.call('GET', p .. 'keyid:' .. id)
  if hash then
    redis.call('DEL', p .. 'key:' .. hash, p .. 'keyid:' .. id)
    redis.call('PUBLISH', channel, hash)
  end
  redis.call('SREM', base .. ':keys', id)
end
redis.call('INCR', base .. ':rev')
return 1
)lua";

// Words for operators; redis::to_string() gives the terse metric labels.
std::string_view status_text(redis::Status status) {
  switch (status) {
    case redis::Status::timeout:
      return "timed out";
    case redis::Status::disconnected:
      return "not reachable";
    default:
      return redis::to_string(status);
  }
}

const redis::Script& read_org_script() {
  static const redis::Script script{std::string(kReadOrgScript)};
  return script;
}

const redis::Script& commit_script() {
  static const redis::Script script{std::string(kCommitScript)};
  return script;
}

void sort_by_creation(std::vector<KeyRecord>& keys) {
  std::sort(keys.begin(), keys.end(), [](const KeyRecord& a, const KeyRecord& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
}

}  // namespace

struct RedisKeyRepository::VersionedOrg {
  std::string revision;
  OrgKeys org;
};

RedisKeyRepository::RedisKeyRepository(std::unique_ptr<redis::SyncClient> client,
                                       const conf::RedisConfig& config, int max_attempts)
    : client_(std::move(client)),
      prefix_(redis_schema::record_prefix(config)),
      where_(redis::describe_server(config)),
      max_attempts_(std::max(1, max_attempts)) {}

StoreResult<redis::Reply> RedisKeyRepository::checked(redis::Result result) const {
  if (result.status != redis::Status::ok) {
    std::string detail = client_->last_error();
    return {StoreStatus::error(StoreErrc::unavailable,
                               where_ + ": " + std::string(status_text(result.status)) +
                                   (detail.empty() ? "" : " (" + detail + ")")),
            {}};
  }
  if (result.reply.is_error()) {
    const std::string& text = result.reply.str;
    if (text.starts_with("CONFLICT "))
      return {StoreStatus::error(StoreErrc::conflict, text.substr(9)), {}};
    return {StoreStatus::error(StoreErrc::unavailable, where_ + ": " + text), {}};
  }
  return {StoreStatus::success(), std::move(result.reply)};
}

StoreResult<redis::Reply> RedisKeyRepository::run(const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  return checked(client_->command(std::span<const std::string_view>(views)));
}

StoreResult<redis::Reply> RedisKeyRepository::eval(const redis::Script& script,
                                                   const std::vector<std::string>& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  // The scripts name their keys in ARGV; KEYS[1] only tells a cluster client the slot (every
  // record is in the one slot of the record prefix's hash tag).
  const std::string slot_key = redis_schema::orgs(prefix_);
  const std::string_view keys[] = {slot_key};
  return checked(script.eval(*client_, keys, views));
}

StoreResult<redis::Reply> RedisKeyRepository::run(std::initializer_list<std::string_view> args) {
  return run(std::vector<std::string>(args.begin(), args.end()));
}

StoreResult<KeyRecord> RedisKeyRepository::get_key_by_hash(const std::string& hash) {
  const std::string name = redis_schema::key_record(prefix_, hash);
  StoreResult<redis::Reply> reply = run({"GET", name});
  if (!reply.ok()) return {std::move(reply.status), {}};
  if (reply.value.type != redis::Reply::Type::string)
    return {StoreStatus::error(StoreErrc::not_found, "no key with that hash"), {}};
  std::string error;
  std::optional<KeyRecord> key = parse_key_record(reply.value.str, error);
  if (!key) return {StoreStatus::error(StoreErrc::corrupt, where_ + " " + name + ": " + error), {}};
  return {StoreStatus::success(), std::move(*key)};
}

StoreResult<KeyRecord> RedisKeyRepository::get_key(const std::string& id) {
  StoreResult<redis::Reply> reply = run({"GET", redis_schema::key_id(prefix_, id)});
  if (!reply.ok()) return {std::move(reply.status), {}};
  if (reply.value.type != redis::Reply::Type::string)
    return {StoreStatus::error(StoreErrc::not_found, "no key " + id), {}};
  StoreResult<KeyRecord> key = get_key_by_hash(reply.value.str);
  if (key.status.code == StoreErrc::not_found)  // deleted between the two reads
    return {StoreStatus::error(StoreErrc::not_found, "no key " + id), {}};
  return key;
}

StoreResult<RedisKeyRepository::VersionedOrg> RedisKeyRepository::read_versioned(
    const std::string& org) {
  StoreResult<redis::Reply> reply = eval(read_org_script(), {prefix_, org});
  if (!reply.ok()) return {std::move(reply.status), {}};
  const redis::Reply& r = reply.value;
  if (r.type != redis::Reply::Type::array || r.elements.size() != 3 ||
      r.elements[2].type != redis::Reply::Type::array)
    return {StoreStatus::error(StoreErrc::unavailable, where_ + ": unexpected reply"), {}};

  VersionedOrg result;
  result.revision = r.elements[0].str;
  std::string error;
  if (r.elements[1].type == redis::Reply::Type::string) {
    result.org.org = parse_org_record(r.elements[1].str, error);
    if (!result.org.org)
      return {
          StoreStatus::error(StoreErrc::corrupt,
                             where_ + " " + redis_schema::org_record(prefix_, org) + ": " + error),
          {}};
  }
  for (const redis::Reply& item : r.elements[2].elements) {
    std::optional<KeyRecord> key = parse_key_record(item.str, error);
    if (!key)
      return {StoreStatus::error(StoreErrc::corrupt,
                                 where_ + ": a key record of org " + org + ": " + error),
              {}};
    result.org.keys.push_back(std::move(*key));
  }
  sort_by_creation(result.org.keys);
  return {StoreStatus::success(), std::move(result)};
}

StoreResult<OrgKeys> RedisKeyRepository::read_org(const std::string& org) {
  StoreResult<VersionedOrg> read = read_versioned(org);
  return {std::move(read.status), std::move(read.value.org)};
}

StoreResult<std::vector<OrgRecord>> RedisKeyRepository::list_orgs() {
  StoreResult<redis::Reply> ids = run({"SMEMBERS", redis_schema::orgs(prefix_)});
  if (!ids.ok()) return {std::move(ids.status), {}};
  std::vector<OrgRecord> orgs;
  if (ids.value.elements.empty()) return {StoreStatus::success(), std::move(orgs)};
  std::vector<std::string> args{"MGET"};
  for (const redis::Reply& id : ids.value.elements)
    args.push_back(redis_schema::org_record(prefix_, id.str));
  StoreResult<redis::Reply> records = run(args);
  if (!records.ok()) return {std::move(records.status), {}};
  for (std::size_t i = 0; i < records.value.elements.size(); ++i) {
    const redis::Reply& item = records.value.elements[i];
    if (item.type != redis::Reply::Type::string) continue;  // removed meanwhile
    std::string error;
    std::optional<OrgRecord> org = parse_org_record(item.str, error);
    if (!org)
      return {StoreStatus::error(StoreErrc::corrupt, where_ + " " + args[i + 1] + ": " + error),
              {}};
    orgs.push_back(std::move(*org));
  }
  std::sort(orgs.begin(), orgs.end(),
            [](const OrgRecord& a, const OrgRecord& b) { return a.id < b.id; });
  return {StoreStatus::success(), std::move(orgs)};
}

StoreStatus RedisKeyRepository::transact(const std::string& org,
                                         const OrgTransaction& transaction) {
  std::minstd_rand jitter(std::random_device{}());
  for (int attempt = 0; attempt < max_attempts_; ++attempt) {
    if (attempt > 0)  // let the writer that got in first finish its own retry loop
      std::this_thread::sleep_for(std::chrono::milliseconds(1 + jitter() % (5 * attempt)));
    StoreResult<VersionedOrg> read = read_versioned(org);
    if (!read.ok()) return read.status;
    OrgChanges changes;
    if (!transaction(read.value.org, changes))
      return StoreStatus::error(StoreErrc::aborted, "the change was declined");
    if (changes.empty()) return StoreStatus::success();
    if (StoreStatus checked = check_changes(org, read.value.org, changes); !checked.ok())
      return checked;

    std::vector<std::string> args{
        prefix_, org, read.value.revision,
        changes.put_org ? org_record_to_json_string(*changes.put_org) : std::string()};
    args.push_back(std::to_string(changes.put_keys.size()));
    for (const KeyRecord& key : changes.put_keys) {
      args.push_back(key.id);
      args.push_back(key.hash);
      args.push_back(key_record_to_json_string(key));
    }
    args.push_back(std::to_string(changes.delete_key_ids.size()));
    for (const std::string& id : changes.delete_key_ids) args.push_back(id);

    StoreResult<redis::Reply> committed = eval(commit_script(), args);
    if (!committed.ok()) return committed.status;
    if (committed.value.type == redis::Reply::Type::integer && committed.value.integer == 1)
      return StoreStatus::success();
  }
  return StoreStatus::error(StoreErrc::busy, "org " + org + " kept changing under " +
                                                 std::to_string(max_attempts_) +
                                                 " attempts; try again");
}

StoreStatus RedisKeyRepository::publish_invalidation(const std::string& hash) {
  return run({"PUBLISH", redis_schema::invalidation_channel(prefix_), hash}).status;
}

}  // namespace keygate::auth
