#include "auth/key_record_json.h"

#include <boost/json.hpp>

namespace keygate::auth {
namespace json = boost::json;
namespace {

// Reads fields of one JSON object, remembering the first problem. Each getter leaves the
// target untouched when the field is absent (or null, for optional ones).
class FieldReader {
 public:
  FieldReader(const json::object& object, std::string& error, std::string context)
      : object_(object), error_(error), context_(std::move(context)) {}

  bool ok() const { return ok_; }

  void string(std::string_view name, std::string& out, bool required = false) {
    const json::value* v = find(name, required);
    if (v == nullptr) return;
    if (const json::string* s = v->if_string())
      out.assign(s->data(), s->size());
    else
      fail(name, "must be a string");
  }

  void strings(std::string_view name, std::vector<std::string>& out) {
    const json::value* v = find(name, false);
    if (v == nullptr) return;
    const json::array* array = v->if_array();
    if (array == nullptr) return fail(name, "must be an array of strings");
    out.clear();
    out.reserve(array->size());
    for (const json::value& item : *array) {
      const json::string* s = item.if_string();
      if (s == nullptr) return fail(name, "must be an array of strings");
      out.emplace_back(s->data(), s->size());
    }
  }

  void seconds(std::string_view name, UnixSeconds& out) {
    if (const json::value* v = find(name, false)) read_int(name, *v, out, 0);
  }

  void optional_seconds(std::string_view name, std::optional<UnixSeconds>& out) {
    const json::value* v = find(name, false);
    if (v == nullptr || v->is_null()) return;
    UnixSeconds value = 0;
    if (read_int(name, *v, value, 0)) out = value;
  }

  void optional_positive(std::string_view name, std::optional<std::int64_t>& out) {
    const json::value* v = find(name, false);
    if (v == nullptr || v->is_null()) return;
    std::int64_t value = 0;
    if (read_int(name, *v, value, 1)) out = value;
  }

  void optional_count(std::string_view name, std::optional<std::uint64_t>& out) {
    const json::value* v = find(name, false);
    if (v == nullptr || v->is_null()) return;
    if (const std::uint64_t* u = v->if_uint64()) {
      out = *u;
    } else if (const std::int64_t* i = v->if_int64(); i != nullptr && *i >= 0) {
      out = static_cast<std::uint64_t>(*i);
    } else {
      fail(name, "must be a non-negative integer");
    }
  }

  const json::value* find(std::string_view name, bool required) {
    if (!ok_) return nullptr;
    const json::value* v = object_.if_contains(name);
    if (v == nullptr && required) fail(name, "is required");
    return v;
  }

  void fail(std::string_view name, std::string_view what) {
    if (!ok_) return;
    ok_ = false;
    error_.assign(context_);
    error_ += '.';
    error_ += name;
    error_ += ' ';
    error_ += what;
  }

 private:
  bool read_int(std::string_view name, const json::value& v, std::int64_t& out, std::int64_t min) {
    // Boost.JSON stores integers that fit as int64; anything else (uint64 beyond int64,
    // doubles, strings) cannot be a timestamp or a window.
    if (const std::int64_t* i = v.if_int64(); i != nullptr && *i >= min) {
      out = *i;
      return true;
    }
    fail(name, min > 0 ? "must be a positive integer" : "must be a non-negative integer");
    return false;
  }

  const json::object& object_;
  std::string& error_;
  std::string context_;  // owned: callers build it on the fly
  bool ok_ = true;
};

json::array string_array(const std::vector<std::string>& items) {
  json::array array;
  array.reserve(items.size());
  for (const auto& item : items) array.emplace_back(item);
  return array;
}

void put_optional(json::object& object, std::string_view name,
                  const std::optional<UnixSeconds>& value) {
  if (value) object[name] = *value;
}

std::optional<json::value> parse_text(std::string_view text, std::string& error) {
  if (text.size() > kMaxRecordJsonBytes) {
    error = "record larger than " + std::to_string(kMaxRecordJsonBytes) + " bytes";
    return std::nullopt;
  }
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) {
    error = "invalid JSON: " + ec.message();
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string_view key_status_name(KeyStatus status) {
  switch (status) {
    case KeyStatus::active:
      return "active";
    case KeyStatus::inactive:
      return "inactive";
    case KeyStatus::revoked:
      return "revoked";
  }
  return "revoked";
}

std::optional<KeyStatus> parse_key_status(std::string_view name) {
  if (name == "active") return KeyStatus::active;
  if (name == "inactive") return KeyStatus::inactive;
  if (name == "revoked") return KeyStatus::revoked;
  return std::nullopt;
}

std::string_view effective_status_name(EffectiveStatus status) {
  switch (status) {
    case EffectiveStatus::active:
      return "active";
    case EffectiveStatus::inactive:
      return "inactive";
    case EffectiveStatus::revoked:
      return "revoked";
    case EffectiveStatus::expired:
      return "expired";
  }
  return "revoked";
}

EffectiveStatus effective_status(const KeyRecord& key, UnixSeconds now) {
  return effective_status(key.status, key.expires_at, key.grace_until, now);
}

EffectiveStatus effective_status(KeyStatus status, std::optional<UnixSeconds> expires_at,
                                 std::optional<UnixSeconds> grace_until, UnixSeconds now) {
  if (status == KeyStatus::revoked) return EffectiveStatus::revoked;
  if (grace_until && *grace_until <= now) return EffectiveStatus::revoked;
  if (expires_at && *expires_at <= now) return EffectiveStatus::expired;
  if (status == KeyStatus::inactive) return EffectiveStatus::inactive;
  return EffectiveStatus::active;
}

json::object to_json(const KeyRecord& key) {
  json::object o;
  o["id"] = key.id;
  o["hash"] = key.hash;
  o["prefix"] = key.prefix;
  o["name"] = key.name;
  o["org"] = key.org;
  o["environment"] = key.environment;
  o["type"] = key.type;
  o["scopes"] = string_array(key.scopes);
  o["status"] = key_status_name(key.status);
  o["created_at"] = key.created_at;
  o["created_by"] = key.created_by;
  put_optional(o, "expires_at", key.expires_at);
  put_optional(o, "revoked_at", key.revoked_at);
  put_optional(o, "last_used_at", key.last_used_at);
  o["allowed_cidrs"] = string_array(key.allowed_cidrs);
  json::array overrides;
  for (const auto& override_ : key.limit_overrides) {
    json::object item;
    item["policy"] = override_.policy;
    if (override_.limit) item["limit"] = *override_.limit;
    if (override_.window_ms) item["window_ms"] = *override_.window_ms;
    overrides.push_back(std::move(item));
  }
  o["limit_overrides"] = std::move(overrides);
  o["successor_id"] = key.successor_id;
  put_optional(o, "grace_until", key.grace_until);
  return o;
}

json::object to_json(const OrgRecord& org) {
  json::object o;
  o["id"] = org.id;
  o["plan"] = org.plan;
  o["created_at"] = org.created_at;
  return o;
}

std::string key_record_to_json_string(const KeyRecord& key) {
  return json::serialize(to_json(key));
}
std::string org_record_to_json_string(const OrgRecord& org) {
  return json::serialize(to_json(org));
}

std::optional<KeyRecord> key_record_from_json(const json::value& value, std::string& error) {
  const json::object* object = value.if_object();
  if (object == nullptr) {
    error = "key record must be a JSON object";
    return std::nullopt;
  }
  KeyRecord key;
  FieldReader r(*object, error, "key");
  r.string("id", key.id, true);
  r.string("hash", key.hash, true);
  r.string("prefix", key.prefix);
  r.string("name", key.name);
  r.string("org", key.org);
  r.string("environment", key.environment);
  r.string("type", key.type);
  r.strings("scopes", key.scopes);
  std::string status;
  r.string("status", status);
  if (r.ok() && !status.empty()) {
    if (auto parsed = parse_key_status(status))
      key.status = *parsed;
    else
      r.fail("status", "must be \"active\", \"inactive\" or \"revoked\"");
  }
  r.seconds("created_at", key.created_at);
  r.string("created_by", key.created_by);
  r.optional_seconds("expires_at", key.expires_at);
  r.optional_seconds("revoked_at", key.revoked_at);
  r.optional_seconds("last_used_at", key.last_used_at);
  r.strings("allowed_cidrs", key.allowed_cidrs);
  if (const json::value* v = r.find("limit_overrides", false)) {
    const json::array* array = v->if_array();
    if (array == nullptr) r.fail("limit_overrides", "must be an array of objects");
    for (std::size_t i = 0; r.ok() && array != nullptr && i < array->size(); ++i) {
      const json::object* item = (*array)[i].if_object();
      if (item == nullptr) {
        r.fail("limit_overrides", "must be an array of objects");
        break;
      }
      LimitOverride override_;
      std::string item_error;
      FieldReader ir(*item, item_error, "key.limit_overrides[" + std::to_string(i) + "]");
      ir.string("policy", override_.policy, true);
      ir.optional_count("limit", override_.limit);
      ir.optional_positive("window_ms", override_.window_ms);
      if (!ir.ok()) {
        error = item_error;
        return std::nullopt;
      }
      key.limit_overrides.push_back(std::move(override_));
    }
  }
  r.string("successor_id", key.successor_id);
  r.optional_seconds("grace_until", key.grace_until);
  if (!r.ok()) return std::nullopt;
  return key;
}

std::optional<OrgRecord> org_record_from_json(const json::value& value, std::string& error) {
  const json::object* object = value.if_object();
  if (object == nullptr) {
    error = "org record must be a JSON object";
    return std::nullopt;
  }
  OrgRecord org;
  FieldReader r(*object, error, "org");
  r.string("id", org.id, true);
  r.string("plan", org.plan);
  r.seconds("created_at", org.created_at);
  if (!r.ok()) return std::nullopt;
  return org;
}

std::optional<KeyRecord> parse_key_record(std::string_view text, std::string& error) {
  auto value = parse_text(text, error);
  if (!value) return std::nullopt;
  return key_record_from_json(*value, error);
}

std::optional<OrgRecord> parse_org_record(std::string_view text, std::string& error) {
  auto value = parse_text(text, error);
  if (!value) return std::nullopt;
  return org_record_from_json(*value, error);
}

}  // namespace keygate::auth
