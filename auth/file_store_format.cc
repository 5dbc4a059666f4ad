#include "auth/file_store_format.h"

#include <boost/json.hpp>
#include <unordered_set>

#include "auth/key_record_json.h"

namespace keygate::auth {
namespace json = boost::json;
namespace {

// "line L, column C" of byte `offset` in `text`, for JSON syntax errors.
std::string position_of(std::string_view text, std::size_t offset) {
  int line = 1;
  int column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

std::optional<json::value> parse_json(std::string_view text, std::string& error) {
  json::stream_parser parser;
  boost::system::error_code ec;
  const std::size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    error = position_of(text, consumed) + ": invalid JSON: " + ec.message();
    return std::nullopt;
  }
  return parser.release();
}

// The array `name` of `root`, or null when absent; sets `error` when it is not an array.
const json::array* array_field(const json::object& root, std::string_view name,
                               std::string& error) {
  const json::value* value = root.if_contains(name);
  if (value == nullptr || value->is_null()) return nullptr;
  if (const json::array* array = value->if_array()) return array;
  error = "\"" + std::string(name) + "\" must be an array";
  return nullptr;
}

bool check_unique(const StoreDocument& document, std::string& error) {
  std::unordered_set<std::string> seen;
  for (const OrgRecord& org : document.orgs) {
    if (!seen.insert(org.id).second) {
      error = "org " + org.id + " appears twice";
      return false;
    }
  }
  seen.clear();
  std::unordered_set<std::string> hashes;
  for (const KeyRecord& key : document.keys) {
    if (!seen.insert(key.id).second) {
      error = "key " + key.id + " appears twice";
      return false;
    }
    if (!hashes.insert(key.hash).second) {
      error = "key " + key.id + " has the same hash as an earlier key";
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<StoreDocument> parse_store_document(std::string_view text, std::string& error) {
  error.clear();  // array_field() reports through it
  if (text.size() > kMaxStoreFileBytes) {
    error = "larger than " + std::to_string(kMaxStoreFileBytes) + " bytes";
    return std::nullopt;
  }
  std::optional<json::value> value = parse_json(text, error);
  if (!value) return std::nullopt;
  const json::object* root = value->if_object();
  if (root == nullptr) {
    error = "the document must be a JSON object with \"orgs\" and \"keys\" arrays";
    return std::nullopt;
  }
  if (const json::value* version = root->if_contains("version")) {
    const std::int64_t* number = version->if_int64();
    if (number == nullptr || *number != kFileStoreVersion) {
      error = "unsupported \"version\" (this keygate reads version " +
              std::to_string(kFileStoreVersion) + ")";
      return std::nullopt;
    }
  }

  StoreDocument document;
  const json::array* orgs = array_field(*root, "orgs", error);
  if (!error.empty()) return std::nullopt;
  const json::array* keys = array_field(*root, "keys", error);
  if (!error.empty()) return std::nullopt;
  for (std::size_t i = 0; orgs != nullptr && i < orgs->size(); ++i) {
    std::string record_error;
    auto org = org_record_from_json((*orgs)[i], record_error);
    if (!org) {
      error = "orgs[" + std::to_string(i) + "]: " + record_error;
      return std::nullopt;
    }
    document.orgs.push_back(std::move(*org));
  }
  for (std::size_t i = 0; keys != nullptr && i < keys->size(); ++i) {
    std::string record_error;
    auto key = key_record_from_json((*keys)[i], record_error);
    if (!key) {
      error = "keys[" + std::to_string(i) + "]: " + record_error;
      return std::nullopt;
    }
    document.keys.push_back(std::move(*key));
  }
  if (!check_unique(document, error)) return std::nullopt;
  return document;
}

std::string serialize_store_document(const StoreDocument& document) {
  std::string out = "{\n  \"version\": " + std::to_string(kFileStoreVersion) + ",\n";
  auto write_array = [&out](std::string_view name, const auto& records, bool last) {
    out += "  \"";
    out += name;
    out += "\": [";
    for (std::size_t i = 0; i < records.size(); ++i) {
      out += i == 0 ? "\n    " : ",\n    ";
      out += json::serialize(to_json(records[i]));
    }
    out += records.empty() ? "]" : "\n  ]";
    out += last ? "\n" : ",\n";
  };
  write_array("orgs", document.orgs, false);
  write_array("keys", document.keys, true);
  out += "}\n";
  return out;
}

}  // namespace keygate::auth
