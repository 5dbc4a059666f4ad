#include "auth/stray_keys.h"

#include "auth/credential.h"
#include "auth/key_format.h"

namespace keygate::auth {
namespace {

// Shorter than any prefix plus body: cannot be a key, not worth decoding.
constexpr std::size_t kMinKeyLength = kKeyBodyChars + 2;

bool is_key(std::string_view segment, const conf::KeysConfig& keys) {
  const auto eq = segment.find('=');
  if (eq == std::string_view::npos) return false;
  const auto value = segment.substr(eq + 1);
  if (value.size() < kMinKeyLength || value.size() > 3 * kMaxKeyLength) return false;
  if (value.find_first_of("%+") == std::string_view::npos)
    return parse_key(value, keys).has_value();
  return parse_key(credential_detail::percent_decode(value), keys).has_value();
}

template <class Fn>
void for_each_param(std::string_view query, Fn&& fn) {
  for (;;) {
    const auto amp = query.find('&');
    fn(query.substr(0, amp));
    if (amp == std::string_view::npos) return;
    query.remove_prefix(amp + 1);
  }
}

}  // namespace

std::optional<std::string> remove_key_like_params(std::string_view target,
                                                  const conf::KeysConfig& keys) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  const auto query = target.substr(q + 1);
  bool any = false;
  for_each_param(query, [&](std::string_view p) { any = any || is_key(p, keys); });
  if (!any) return std::nullopt;
  std::string out(target.substr(0, q));
  out.reserve(target.size());
  for_each_param(query, [&](std::string_view p) {
    if (is_key(p, keys)) return;
    out.push_back(out.size() == q ? '?' : '&');
    out.append(p);
  });
  return out;
}

}  // namespace keygate::auth
