#include "auth/usage_redis_store.h"

#include "auth/key_record_json.h"
#include "auth/redis_key_schema.h"
#include "auth/usage_last_used.h"
#include "redis/redis_client.h"

namespace keygate::auth {
namespace {

// KEYS[1] batch marker, KEYS[2..n+1] key usage hashes, KEYS[n+2..] period counters.
// ARGV[1] marker ttl, ARGV[2] n, ARGV[3] key usage ttl, then per key: total, 2xx, 4xx, 5xx,
// last_used_at ('' when none), last_client_ip; then per period: calls, ttl.
const redis::Script kApplyScript(R"lua(
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
local n = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local a = 4
for i = 2, n + 1 do
  local k = KEYS[i]
  redis.call('HINCRBY', k, 'total', ARGV[a])
  redis.call('HINCRBY', k, 'status_2xx', ARGV[a + 1])
  redis.call('HINCRBY', k, 'status_4xx', ARGV[a + 2])
  redis.call('HINCRBY', k, 'status_5xx', ARGV[a + 3])
  if ARGV[a + 4] ~= '' then
    local old = tonumber(redis.call('HGET', k, 'last_used_at') or '0')
    if tonumber(ARGV[a + 4]) >= old then
      redis.call('HSET', k, 'last_used_at', ARGV[a + 4], 'last_client_ip', ARGV[a + 5])
    end
  end
  redis.call('EXPIRE', k, ttl)
  a = a + 6
end
for i = n + 2, #KEYS do
  redis.call('INCRBY', KEYS[i], ARGV[a])
  redis.call('EXPIRE', KEYS[i], ARGV[a + 1])
  a = a + 2
end
return 1
)lua");

// ARGV[1] <p>keyid:<id>, ARGV[2] <p>key: -> {hash, record} or false.
const redis::Script kReadRecordScript(R"lua(
local hash = redis.call('GET', ARGV[1])
if not hash then return false end
local record = redis.call('GET', ARGV[2] .. hash)
if not record then return false end
return {hash, record}
)lua");

// ARGV[1] <p>key:<hash>, ARGV[2] the record as read, ARGV[3] the new record,
// ARGV[4] <p>org:<org>:rev. 1 when written, 0 when the record changed meanwhile.
const redis::Script kCompareAndSetScript(R"lua(
if redis.call('GET', ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('SET', ARGV[1], ARGV[3])
redis.call('INCR', ARGV[4])
return 1
)lua");

constexpr int kRecordAttempts = 3;

std::string tagged(std::string_view prefix, std::string_view org) {
  std::string name(prefix);
  name += "usage:{";
  name += org;
  name += "}:";
  return name;
}

std::uint64_t to_count(const std::string& text) {
  try {
    const long long value = std::stoll(text);
    return value > 0 ? static_cast<std::uint64_t>(value) : 0;
  } catch (...) {
    return 0;  // a hand-edited field: read as nothing rather than fail the whole view
  }
}

}  // namespace

namespace usage_redis_schema {
std::string key_usage(std::string_view prefix, std::string_view org, std::string_view key_id) {
  return tagged(prefix, org) + "key:" + std::string(key_id);
}
std::string org_period(std::string_view prefix, std::string_view org, UnixSeconds period_start) {
  return tagged(prefix, org) + "period:" + std::to_string(period_start);
}
std::string batch_marker(std::string_view prefix, std::string_view org, std::string_view batch) {
  return tagged(prefix, org) + "batch:" + std::string(batch);
}
}  // namespace usage_redis_schema

RedisUsageStore::RedisUsageStore(const conf::RedisConfig& config,
                                 std::shared_ptr<KeyRepository> records, Connect connect)
    : config_(config),
      records_(std::move(records)),
      connect_(std::move(connect)),
      where_(redis::describe_server(config)) {
  if (!connect_)
    connect_ = [config](std::string* error) { return redis::connect_sync(config, error); };
}

RedisUsageStore::~RedisUsageStore() = default;

StoreStatus RedisUsageStore::ensure_connected() {
  if (client_) return StoreStatus::success();
  std::string error;
  client_ = connect_(&error);
  if (!client_) return StoreStatus::error(StoreErrc::unavailable, where_ + ": " + error);
  return StoreStatus::success();
}

StoreResult<redis::Reply> RedisUsageStore::checked(redis::Result result) {
  if (result.status != redis::Status::ok) {
    std::string detail = client_->last_error();
    client_.reset();  // reconnect on the next call
    return {
        StoreStatus::error(StoreErrc::unavailable, where_ + ": " + redis::to_string(result.status) +
                                                       (detail.empty() ? "" : " (" + detail + ")")),
        {}};
  }
  if (result.reply.is_error())
    return {StoreStatus::error(StoreErrc::unavailable, where_ + ": " + result.reply.str), {}};
  return {StoreStatus::success(), std::move(result.reply)};
}

StoreResult<redis::Reply> RedisUsageStore::run(std::initializer_list<std::string_view> args) {
  if (StoreStatus status = ensure_connected(); !status.ok()) return {status, {}};
  return checked(client_->command(args));
}

StoreResult<redis::Reply> RedisUsageStore::eval(const redis::Script& script,
                                                const std::vector<std::string>& keys,
                                                const std::vector<std::string>& args) {
  if (StoreStatus status = ensure_connected(); !status.ok()) return {status, {}};
  std::vector<std::string_view> key_views(keys.begin(), keys.end());
  std::vector<std::string_view> arg_views(args.begin(), args.end());
  return checked(script.eval(*client_, key_views, arg_views));
}

StoreStatus RedisUsageStore::apply(const UsageBatch& batch) {
  // Group by org: one script per org (and chunk), since only names of one org share a slot.
  std::map<std::string, std::vector<const std::pair<const std::string, KeyDelta>*>> by_org;
  for (const auto& entry : batch.keys) by_org[entry.second.org].push_back(&entry);
  for (const auto& [org, periods] : batch.org_calls) by_org.try_emplace(org);
  for (const auto& [org, keys] : by_org) {
    const auto calls = batch.org_calls.find(org);
    if (StoreStatus status =
            apply_org(batch, org, keys, calls == batch.org_calls.end() ? nullptr : &calls->second);
        !status.ok())
      return status;
  }
  if (records_) {
    std::map<std::string, std::map<std::string, UnixSeconds>> by_org;
    for (const auto& [id, delta] : batch.keys)
      if (delta.last_use) by_org[delta.org][id] = delta.last_use->at;
    for (const auto& [org, uses] : by_org)
      if (StoreStatus status = write_last_used(*records_, org, uses); !status.ok()) return status;
    return StoreStatus::success();
  }
  for (const auto& [id, delta] : batch.keys) {
    if (!delta.last_use) continue;
    if (StoreStatus status = touch_record(id, delta.org, delta.last_use->at); !status.ok())
      return status;
  }
  return StoreStatus::success();
}

StoreStatus RedisUsageStore::apply_org(
    const UsageBatch& batch, const std::string& org,
    const std::vector<const std::pair<const std::string, KeyDelta>*>& keys,
    const std::map<UnixSeconds, std::uint64_t>* periods) {
  const std::string& prefix = config_.key_prefix;
  std::size_t next = 0;
  int chunk = 0;
  do {
    const std::size_t end = std::min(keys.size(), next + kKeysPerScript);
    std::vector<std::string> names = {
        usage_redis_schema::batch_marker(prefix, org, batch.id + ":" + std::to_string(chunk))};
    std::vector<std::string> args = {std::to_string(kBatchMarkerTtlSeconds),
                                     std::to_string(end - next),
                                     std::to_string(kKeyUsageTtlSeconds)};
    for (std::size_t i = next; i < end; ++i) {
      const auto& [id, delta] = *keys[i];
      names.push_back(usage_redis_schema::key_usage(prefix, org, id));
      args.push_back(std::to_string(delta.counts.total));
      args.push_back(std::to_string(delta.counts.status_2xx));
      args.push_back(std::to_string(delta.counts.status_4xx));
      args.push_back(std::to_string(delta.counts.status_5xx));
      args.push_back(delta.last_use ? std::to_string(delta.last_use->at) : std::string());
      args.push_back(delta.last_use ? delta.last_use->client_ip : std::string());
    }
    // The org's calls ride with the first chunk.
    if (chunk == 0 && periods != nullptr) {
      for (const auto& [start, calls] : *periods) {
        names.push_back(usage_redis_schema::org_period(prefix, org, start));
        args.push_back(std::to_string(calls));
        args.push_back(std::to_string(kPeriodTtlSeconds));
      }
    }
    StoreResult<redis::Reply> reply = eval(kApplyScript, names, args);
    if (!reply.ok()) return reply.status;
    next = end;
    ++chunk;
  } while (next < keys.size());
  return StoreStatus::success();
}

StoreStatus RedisUsageStore::touch_record(const std::string& key_id, const std::string& org,
                                          UnixSeconds at) {
  // Key records live under the record prefix (one slot on a cluster); KEYS[1] names that slot
  // for a cluster client, the scripts themselves read ARGV.
  const std::string prefix = redis_schema::record_prefix(config_);
  const std::string slot_key = redis_schema::orgs(prefix);
  for (int attempt = 0; attempt < kRecordAttempts; ++attempt) {
    StoreResult<redis::Reply> read =
        eval(kReadRecordScript, {slot_key},
             {redis_schema::key_id(prefix, key_id), redis_schema::key_record(prefix, "")});
    if (!read.ok()) return read.status;
    if (read.value.type != redis::Reply::Type::array || read.value.elements.size() != 2)
      return StoreStatus::success();  // deleted meanwhile: nothing to record
    const std::string& hash = read.value.elements[0].str;
    const std::string& text = read.value.elements[1].str;
    std::string error;
    std::optional<KeyRecord> record = parse_key_record(text, error);
    // A record this binary cannot read is left alone; management commands will report it.
    if (!record) return StoreStatus::success();
    if (record->last_used_at && *record->last_used_at >= at) return StoreStatus::success();
    record->last_used_at = at;
    StoreResult<redis::Reply> written =
        eval(kCompareAndSetScript, {slot_key},
             {redis_schema::key_record(prefix, hash), text, key_record_to_json_string(*record),
              redis_schema::org_revision(prefix, record->org.empty() ? org : record->org)});
    if (!written.ok()) return written.status;
    if (written.value.type == redis::Reply::Type::integer && written.value.integer == 1)
      return StoreStatus::success();
  }
  // Management writes kept changing the record: its last use waits for the next one.
  return StoreStatus::success();
}

StoreResult<KeyUsage> RedisUsageStore::key_usage(const KeyRecord& key) {
  StoreResult<redis::Reply> reply =
      run({"HGETALL", usage_redis_schema::key_usage(config_.key_prefix, key.org, key.id)});
  if (!reply.ok()) return {reply.status, {}};
  KeyUsage usage;
  usage.key_id = key.id;
  const auto& items = reply.value.elements;
  for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
    const std::string& field = items[i].str;
    const std::string& value = items[i + 1].str;
    if (field == "total")
      usage.counts.total = to_count(value);
    else if (field == "status_2xx")
      usage.counts.status_2xx = to_count(value);
    else if (field == "status_4xx")
      usage.counts.status_4xx = to_count(value);
    else if (field == "status_5xx")
      usage.counts.status_5xx = to_count(value);
    else if (field == "last_used_at")
      usage.last_used_at = static_cast<UnixSeconds>(to_count(value));
    else if (field == "last_client_ip")
      usage.last_client_ip = value;
  }
  return {StoreStatus::success(), std::move(usage)};
}

StoreResult<std::uint64_t> RedisUsageStore::org_calls(const std::string& org,
                                                      UnixSeconds period_start) {
  StoreResult<redis::Reply> reply =
      run({"GET", usage_redis_schema::org_period(config_.key_prefix, org, period_start)});
  if (!reply.ok()) return {reply.status, 0};
  if (reply.value.type != redis::Reply::Type::string) return {StoreStatus::success(), 0};
  return {StoreStatus::success(), to_count(reply.value.str)};
}

}  // namespace keygate::auth
