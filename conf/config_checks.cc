#include "conf/config_checks.h"

#include <algorithm>

#include "conf/section_parsers.h"

namespace keygate::conf {
namespace {

std::string line_of(SourceMark mark) {
  return mark.line > 0 ? " (line " + std::to_string(mark.line) + ")" : "";
}

bool methods_overlap(const RouteConfig& a, const RouteConfig& b) {
  if (a.methods.empty() || b.methods.empty()) return true;
  return std::any_of(a.methods.begin(), a.methods.end(), [&](const std::string& method) {
    return std::find(b.methods.begin(), b.methods.end(), method) != b.methods.end();
  });
}

// Routes are tried in order, so a later route matching the same requests is dead.
void check_duplicate_routes(const Config& config, Diagnostics& diag) {
  const auto& routes = config.routes;
  for (std::size_t later = 0; later < routes.size(); ++later) {
    for (std::size_t earlier = 0; earlier < later; ++earlier) {
      const RouteConfig& a = routes[earlier];
      const RouteConfig& b = routes[later];
      if (a.host != b.host || a.path_match != b.path_match || a.path != b.path ||
          !methods_overlap(a, b))
        continue;
      diag.error(b.mark, "route '" + b.name + "' duplicates route '" + a.name + "'" +
                             line_of(a.mark) +
                             ": same host, path and methods, so it would never be used");
      break;
    }
  }
}

// A key is recognised by its prefix; if one prefix starts another, the shorter one's
// environment and type could be claimed by the longer one's keys.
void check_key_prefixes(const ParseContext& ctx, Diagnostics& diag) {
  const auto& prefixes = ctx.config.keys.prefixes;
  const std::string fix = ctx.prefixes_generated ? "; set keys.prefixes explicitly" : "";
  for (std::size_t j = 0; j < prefixes.size(); ++j) {
    const SourceMark mark_j = ctx.prefix_marks[j];
    for (std::size_t i = 0; i < j; ++i) {
      const std::string& a = prefixes[i].prefix;
      const std::string& b = prefixes[j].prefix;
      if (a == b) {
        diag.error(mark_j, "key prefix '" + b + "' is used twice" + line_of(ctx.prefix_marks[i]) +
                               " (types '" + prefixes[i].type + "' and '" + prefixes[j].type +
                               "')" + fix);
      } else if (a.starts_with(b) || b.starts_with(a)) {
        diag.error(mark_j, "key prefixes '" + a + "'" + line_of(ctx.prefix_marks[i]) + " and '" +
                               b + "' are ambiguous: one is a prefix of the other" + fix);
      }
    }
  }
}

// Without a key there is no key or org to count against.
void check_public_route_limits(const Config& config, Diagnostics& diag) {
  using Counter = RateLimitPolicyConfig::Counter;
  for (const RouteConfig& route : config.routes) {
    if (route.auth.required) continue;
    for (const std::string& name : route.rate_limits) {
      const RateLimitPolicyConfig* policy = config.find_policy(name);
      if (!policy || (policy->per != Counter::key && policy->per != Counter::org)) continue;
      diag.error(route.mark, "route '" + route.name + "' has auth: none, so policy '" + name +
                                 "' (per " + (policy->per == Counter::key ? "key" : "org") +
                                 ") can never apply; use per: client_ip or per: route");
    }
  }
}

}  // namespace

void check_config(ParseContext& ctx) {
  const Config& config = ctx.config;
  ctx.names.check_references(ctx.diag);
  check_duplicate_routes(config, ctx.diag);
  check_key_prefixes(ctx, ctx.diag);
  check_public_route_limits(config, ctx.diag);
  check_route_mtls(config, ctx.diag);
}

}  // namespace keygate::conf
