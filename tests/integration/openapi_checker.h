// Checks real management-API responses against docs/openapi.yaml: for an operation and a
// status, the documented response must exist and the JSON body must match its schema (types,
// required fields, nullable, enums, additionalProperties: false, array items, $ref). Enough
// of JSON Schema for the document we write, and strict about what it supports: an unknown
// "type" is reported rather than skipped.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keygate::testing {

class OpenApiChecker {
 public:
  explicit OpenApiChecker(const std::string& path) : root_(YAML::LoadFile(path)) {}

  // Every documented operation as (METHOD, path template).
  std::vector<std::pair<std::string, std::string>> operations() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& path : root_["paths"]) {
      for (const auto& item : path.second) {
        const std::string method = item.first.as<std::string>();
        if (method == "parameters") continue;
        out.emplace_back(upper(method), path.first.as<std::string>());
      }
    }
    return out;
  }

  // Empty when `body` is a documented answer of the operation with this status; otherwise
  // every problem found, one per line. Remembers the (operation, status) as checked.
  std::string check(std::string_view method, const std::string& path_template, int status,
                    std::string_view body) {
    const YAML::Node operation = root_["paths"][path_template][lower(method)];
    if (!operation) return "undocumented operation " + std::string(method) + " " + path_template;
    YAML::Node response = operation["responses"][std::to_string(status)];
    if (!response)
      return "status " + std::to_string(status) + " is not documented for " + std::string(method) +
             " " + path_template;
    response.reset(resolve(response));
    const YAML::Node schema = response["content"]["application/json"]["schema"];
    if (!schema) return "no application/json schema for " + std::to_string(status);
    boost::system::error_code ec;
    const boost::json::value value = boost::json::parse(body, ec);
    if (ec) return "body is not JSON: " + std::string(body);
    std::vector<std::string> errors;
    validate(schema, value, "$", errors);
    if (errors.empty()) checked_.insert({std::string(method) + " " + path_template, status});
    std::string out;
    for (const auto& e : errors) out += e + "\n";
    return out;
  }

  // Documented operations never checked with one of their 2xx statuses.
  std::vector<std::string> unchecked_successes() const {
    std::vector<std::string> missing;
    for (const auto& [method, path] : operations()) {
      bool seen = false;
      for (int status = 200; status < 300; ++status)
        seen = seen || checked_.contains({method + " " + path, status});
      if (!seen) missing.push_back(method + " " + path);
    }
    return missing;
  }

 private:
  static std::string upper(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }
  static std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }

  // Follows "$ref": "#/a/b/c" within the document. (yaml-cpp's Node::operator= writes
  // through to the node it refers to; reset() rebinds, which is what walking needs.)
  YAML::Node resolve(YAML::Node node) const {
    for (int depth = 0; node["$ref"] && depth < 16; ++depth) {
      const std::string ref = node["$ref"].as<std::string>();
      if (!ref.starts_with("#/")) throw std::runtime_error("external $ref " + ref);
      YAML::Node target;
      target.reset(root_);
      std::size_t start = 2;
      while (true) {
        const auto end = ref.find('/', start);
        const std::string part = ref.substr(start, end == std::string::npos ? end : end - start);
        YAML::Node next = target[part];
        if (!next) throw std::runtime_error("dangling $ref " + ref);
        target.reset(next);
        if (end == std::string::npos) break;
        start = end + 1;
      }
      node.reset(target);
    }
    return node;
  }

  static bool is_integer(const boost::json::value& value) {
    return value.is_int64() || value.is_uint64();
  }

  void validate(YAML::Node schema, const boost::json::value& value, const std::string& where,
                std::vector<std::string>& errors) const {
    schema.reset(resolve(schema));
    if (value.is_null()) {
      if (!(schema["nullable"] && schema["nullable"].as<bool>()))
        errors.push_back(where + ": null but not nullable");
      return;
    }
    const std::string type = schema["type"] ? schema["type"].as<std::string>() : "";
    if (type == "object") {
      if (!value.is_object()) {
        errors.push_back(where + ": expected an object");
        return;
      }
      const auto& object = value.as_object();
      for (const auto& required : schema["required"])
        if (!object.contains(required.as<std::string>()))
          errors.push_back(where + ": missing required field " + required.as<std::string>());
      const YAML::Node properties = schema["properties"];
      const bool closed = schema["additionalProperties"] &&
                          schema["additionalProperties"].IsScalar() &&
                          !schema["additionalProperties"].as<bool>();
      for (const auto& field : object) {
        const std::string name(field.key());
        if (properties && properties[name])
          validate(properties[name], field.value(), where + "." + name, errors);
        else if (closed)
          errors.push_back(where + ": undocumented field " + name);
      }
    } else if (type == "array") {
      if (!value.is_array()) {
        errors.push_back(where + ": expected an array");
        return;
      }
      std::size_t i = 0;
      for (const auto& item : value.as_array())
        validate(schema["items"], item, where + "[" + std::to_string(i++) + "]", errors);
    } else if (type == "string") {
      if (!value.is_string()) {
        errors.push_back(where + ": expected a string");
        return;
      }
      if (schema["enum"]) {
        bool listed = false;
        for (const auto& option : schema["enum"])
          listed = listed || option.as<std::string>() == value.as_string();
        if (!listed)
          errors.push_back(where + ": \"" + std::string(value.as_string()) + "\" not in enum");
      }
    } else if (type == "integer") {
      if (!is_integer(value)) {
        errors.push_back(where + ": expected an integer");
        return;
      }
      if (schema["minimum"] && value.is_int64() &&
          value.as_int64() < schema["minimum"].as<long long>())
        errors.push_back(where + ": below the minimum");
    } else if (type == "number") {
      if (!value.is_number()) errors.push_back(where + ": expected a number");
    } else if (type == "boolean") {
      if (!value.is_bool()) errors.push_back(where + ": expected a boolean");
    } else {
      errors.push_back(where + ": schema type \"" + type + "\" not supported by the checker");
    }
  }

  YAML::Node root_;
  std::set<std::pair<std::string, int>> checked_;
};

}  // namespace keygate::testing
