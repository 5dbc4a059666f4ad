#include "conf/name_table.h"

#include <string_view>

#include "conf/suggest.h"

namespace keygate::conf {
namespace {

std::string_view kind_name(NameKind kind) {
  switch (kind) {
    case NameKind::upstream:
      return "upstream";
    case NameKind::policy:
      return "rate limit policy";
    case NameKind::plan:
      return "plan";
    case NameKind::environment:
      return "environment";
    case NameKind::key_type:
      return "key type";
    case NameKind::route:
      return "route";
  }
  return "name";
}

// "(did you mean 'x'?)", or the list of what exists when it is short enough to read.
std::string hint(const std::string& name, const std::map<std::string, SourceMark>& known) {
  std::vector<std::string_view> names;
  for (const auto& [known_name, mark] : known) names.push_back(known_name);
  std::string suggestion = did_you_mean(name, names);
  if (!suggestion.empty()) return suggestion;
  if (names.empty()) return " (none are defined)";
  if (names.size() > 8) return "";
  std::string list;
  for (std::string_view known_name : names)
    list += (list.empty() ? "" : ", ") + std::string(known_name);
  return " (defined: " + list + ")";
}

}  // namespace

bool NameTable::define(NameKind kind, const std::string& name, SourceMark where,
                       Diagnostics& diag) {
  auto [it, inserted] = definitions_[kind].emplace(name, where);
  if (inserted) return true;
  std::string first =
      it->second.line > 0 ? " (first defined at line " + std::to_string(it->second.line) + ")" : "";
  diag.error(where, "duplicate " + std::string(kind_name(kind)) + " name '" + name + "'" + first);
  return false;
}

bool NameTable::defined(NameKind kind, const std::string& name) const {
  auto names = definitions_.find(kind);
  return names != definitions_.end() && names->second.count(name) > 0;
}

void NameTable::refer(NameKind kind, const std::string& name, SourceMark where, std::string user) {
  references_.push_back({kind, name, where, std::move(user)});
}

void NameTable::check_references(Diagnostics& diag) const {
  static const std::map<std::string, SourceMark> kNone;
  for (const Reference& ref : references_) {
    if (defined(ref.kind, ref.name)) continue;
    auto names = definitions_.find(ref.kind);
    const auto& known = names == definitions_.end() ? kNone : names->second;
    diag.error(ref.where, ref.user + ": unknown " + std::string(kind_name(ref.kind)) + " '" +
                              ref.name + "'" + hint(ref.name, known));
  }
}

}  // namespace keygate::conf
