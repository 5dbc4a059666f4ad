// API keys in places a route does not read them from. A client that puts its key in
// `?token=sk_live_...` on a route that reads only headers would otherwise have the key
// forwarded upstream (and into the upstream's access logs), which keygate promises never
// happens to a raw key.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "conf/config.h"

namespace keygate::auth {

// `target` without every query parameter whose value (percent-decoded) is a well-formed key
// of `keys` (prefix, alphabet, checksum: no store lookup). nullopt when there is none, the
// common case, in which nothing is copied.
std::optional<std::string> remove_key_like_params(std::string_view target,
                                                  const conf::KeysConfig& keys);

}  // namespace keygate::auth
