// JSON in and out of the management API: responses, the error shape every keygate answer
// shares ({"error":{"message","type","code"}}), the public view of records (never the hash),
// and a strict request-body reader that names the offending field and refuses unknown ones,
// so a typo ("scope" for "scopes") is an error instead of a silently ignored change.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "auth/key_manager.h"
#include "proxy/admin_server.h"

namespace keygate::proxy::admin_json {

AdminResponse respond(unsigned status, const boost::json::value& body);
AdminResponse error(unsigned status, std::string_view type, std::string_view code,
                    std::string_view message);
// 400 not_found / plan_limit_reached / invalid_argument / invalid_state / store_unavailable.
AdminResponse key_error(auth::KeyErrc code, std::string_view message);

// auth::key_json() / auth::org_json(): the one public shape, shared with the CLI's --json.
boost::json::object key_view(const auth::KeyRecord& key, auth::UnixSeconds now);
boost::json::object org_view(const auth::OrgRecord& org);

class Body {
 public:
  // An empty body reads as {}. nullopt (with `error`) when it is not a JSON object.
  static std::optional<Body> parse(std::string_view text, std::string& error);

  // Each returns false (and records the first error) when the field has the wrong type.
  // Absent fields leave `out` alone; `present` tells whether the field was there.
  bool string(std::string_view name, std::string& out, bool required = false,
              bool* present = nullptr);
  bool strings(std::string_view name, std::vector<std::string>& out, bool* present = nullptr);
  // An integer (Unix seconds) or null; `present` is set either way.
  bool nullable_time(std::string_view name, std::optional<auth::UnixSeconds>& out, bool* present);
  bool non_negative(std::string_view name, std::optional<std::int64_t>& out);
  bool limit_overrides(std::string_view name, std::vector<auth::LimitOverride>& out);

  // After reading every known field: false (with error) if the body had others.
  bool no_other_fields();
  bool empty() const { return object_.empty(); }
  const std::string& error() const { return error_; }

 private:
  explicit Body(boost::json::object object) : object_(std::move(object)) {}
  const boost::json::value* find(std::string_view name);
  bool fail(std::string_view name, std::string_view what);

  boost::json::object object_;
  std::set<std::string, std::less<>> read_;
  std::string error_;
};

}  // namespace keygate::proxy::admin_json
