#include "auth/key_output.h"

#include <algorithm>

#include "auth/key_record_json.h"
#include "auth/time_text.h"

namespace keygate::auth {
namespace {

using Row = std::vector<std::string>;

// Left-aligned columns two spaces apart; the last column is not padded.
void print_table(std::ostream& out, const std::vector<Row>& rows) {
  std::vector<std::size_t> widths;
  for (const Row& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const Row& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string time_or(const std::optional<UnixSeconds>& time, const char* otherwise) {
  return time ? format_rfc3339(*time) : otherwise;
}

std::string join(const std::vector<std::string>& items, const char* otherwise) {
  if (items.empty()) return otherwise;
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

}  // namespace

std::string_view key_display_status(const KeyRecord& key, UnixSeconds now) {
  const EffectiveStatus status = effective_status(key, now);
  const bool still_works = status == EffectiveStatus::active || status == EffectiveStatus::inactive;
  if (still_works && !key.successor_id.empty()) return "rotated";
  return effective_status_name(status);
}

boost::json::object key_json(const KeyRecord& key, UnixSeconds now) {
  // Copied field by field: object::erase would move the last field into the hash's place.
  boost::json::object object;
  for (const auto& field : to_json(key))
    if (field.key() != "hash") object[field.key()] = field.value();
  for (const char* optional_time : {"expires_at", "revoked_at", "last_used_at", "grace_until"})
    if (!object.contains(optional_time)) object[optional_time] = nullptr;
  if (key.successor_id.empty()) object["successor_id"] = nullptr;
  object["effective_status"] = key_display_status(key, now);
  return object;
}

boost::json::object org_json(const OrgRecord& org) {
  boost::json::object object = to_json(org);
  if (org.plan.empty()) object["plan"] = nullptr;
  return object;
}

boost::json::object org_json(const OrgRecord& org, std::size_t active_keys,
                             std::optional<std::size_t> max_keys) {
  boost::json::object object = org_json(org);
  object["active_keys"] = active_keys;
  if (max_keys)
    object["max_keys"] = *max_keys;
  else
    object["max_keys"] = nullptr;
  return object;
}

boost::json::object list_json(std::string_view name, boost::json::array items,
                              const std::optional<std::string>& next_cursor) {
  boost::json::object object;
  object[name] = std::move(items);
  if (next_cursor)
    object["next_cursor"] = *next_cursor;
  else
    object["next_cursor"] = nullptr;
  return object;
}

void print_key_table(std::ostream& out, const std::vector<KeyRecord>& keys, UnixSeconds now) {
  std::vector<Row> rows{{"ID", "NAME", "PREFIX", "ENV", "TYPE", "STATUS", "EXPIRES", "CREATED BY",
                         "CREATED AT", "LAST USED"}};
  for (const KeyRecord& key : keys)
    rows.push_back({key.id, key.name, key.prefix + "...", key.environment, key.type,
                    std::string(key_display_status(key, now)), time_or(key.expires_at, "-"),
                    key.created_by.empty() ? "-" : key.created_by, format_rfc3339(key.created_at),
                    time_or(key.last_used_at, "never")});
  print_table(out, rows);
}

void print_key_details(std::ostream& out, const KeyRecord& key, UnixSeconds now) {
  std::vector<Row> rows{
      {"id", key.id},
      {"name", key.name},
      {"org", key.org},
      {"prefix", key.prefix + "..."},
      {"environment", key.environment},
      {"type", key.type},
      {"status", std::string(key_display_status(key, now))},
      {"scopes", join(key.scopes, "(none)")},
      {"networks", join(key.allowed_cidrs, "any")},
      {"created at", format_rfc3339(key.created_at)},
      {"created by", key.created_by.empty() ? "-" : key.created_by},
      {"expires at", time_or(key.expires_at, "never")},
      {"last used", time_or(key.last_used_at, "never")},
  };
  if (key.revoked_at) rows.push_back({"revoked at", format_rfc3339(*key.revoked_at)});
  if (!key.successor_id.empty()) rows.push_back({"replaced by", key.successor_id});
  if (key.grace_until) rows.push_back({"grace until", format_rfc3339(*key.grace_until)});
  for (const LimitOverride& override_ : key.limit_overrides) {
    std::string text = override_.policy + ":";
    if (override_.limit) text += " limit " + std::to_string(*override_.limit);
    if (override_.window_ms) text += " window " + std::to_string(*override_.window_ms) + "ms";
    rows.push_back({"limit override", text});
  }
  print_table(out, rows);
}

std::string key_usage_text(std::size_t active, std::optional<std::size_t> max_keys) {
  if (!max_keys) return std::to_string(active) + (active == 1 ? " key" : " keys") + ", unlimited";
  return std::to_string(active) + " of " + std::to_string(*max_keys) + " keys";
}

void print_org_table(std::ostream& out, const std::vector<OrgRow>& orgs) {
  std::vector<Row> rows{{"ORG", "PLAN", "KEYS", "CREATED AT"}};
  for (const OrgRow& row : orgs)
    rows.push_back({row.org.id, row.org.plan.empty() ? "-" : row.org.plan,
                    key_usage_text(row.active_keys, row.max_keys),
                    format_rfc3339(row.org.created_at)});
  print_table(out, rows);
}

}  // namespace keygate::auth
