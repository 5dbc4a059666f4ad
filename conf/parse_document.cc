#include <yaml-cpp/yaml.h>

#include "conf/section_parsers.h"
#include "conf/yaml_map.h"

namespace keygate::conf {

void parse_document(const YAML::Node& root, ParseContext& ctx) {
  using SectionParser = void (*)(const YamlValue&, ParseContext&);
  // In dependency order is not needed (names are matched at the end), but keys must run even
  // when absent: it defines the default environments, types and plans.
  static constexpr std::pair<std::string_view, SectionParser> kSections[] = {
      {"threads", parse_threads},
      {"listeners", parse_listeners},
      {"admin", parse_admin},
      {"upstreams", parse_upstreams},
      {"routes", parse_routes},
      {"limits", parse_limits},
      {"http", parse_http},
      {"access_log", parse_access_log},
      {"identity_headers", parse_identity_headers},
      {"keys", parse_keys},
      {"cache", parse_cache},
      {"store", parse_store},
      {"rate_limits", parse_rate_limits},
      {"usage", parse_usage},
      {"readiness", parse_readiness},
  };
  std::vector<std::string_view> keys;
  for (const auto& [key, parser] : kSections) keys.push_back(key);

  const SourceMark start{1, 1};
  auto map = YamlMap::open({root, start, ""}, keys, ctx.diag);
  if (!map) return;
  for (const auto& [key, parser] : kSections) parser(map->get(key), ctx);
}

}  // namespace keygate::conf
