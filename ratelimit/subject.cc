#include "ratelimit/subject.h"

namespace keygate::ratelimit {

Subject make_subject(const conf::RouteConfig& route, const auth::KeyRecord* key,
                     const auth::OrgRecord* org, std::string_view client_ip) {
  Subject s;
  if (key) {
    s.key_id = key->id;
    s.org_id = key->org;
  }
  if (org) {
    s.org_id = org->id;
    s.org_created_at = org->created_at;
  }
  s.route = route.name;
  s.client_ip = client_ip;
  s.on_store_failure = route.limit_failure;
  return s;
}

}  // namespace keygate::ratelimit
