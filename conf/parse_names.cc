#include "conf/section_parsers.h"

namespace keygate::conf {

bool read_names(const YamlValue& value, NameKind kind, const std::string& user,
                std::vector<std::string>& out, ParseContext& ctx) {
  if (!value.present()) return false;
  if (!value.node.IsSequence()) {
    ctx.diag.error(value.mark, value.label + " must be a list, got " + describe(value.node));
    return false;
  }
  std::vector<std::string> names;
  bool all_strings = true;
  for (const YamlValue& item : read_list(value, value.label + " item", ctx.diag)) {
    auto name = read_string(item, ctx.diag);
    if (!name) {
      all_strings = false;
      continue;
    }
    ctx.names.refer(kind, *name, item.mark, user);
    names.push_back(std::move(*name));
  }
  if (all_strings) out = std::move(names);
  return all_strings;
}

}  // namespace keygate::conf
