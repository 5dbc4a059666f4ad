// API keys as the request path finds and strips them: extract_credential over a route's
// sources (headers and the query), parse_key, remove_query_param and remove_key_like_params;
// and generate_key, whose every key parse_key must accept.
//
// Input: one flags byte, then up to three '\n'-separated parts: the Authorization value, the
// X-Api-Key value and the request target. flags bit 0 lists the query source first, bit 1
// drops the header sources, bit 2 also generates a key from the input's bytes (as the random
// source) and checks that it parses.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/credential.h"
#include "auth/key_format.h"
#include "auth/stray_keys.h"
#include "conf/config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace keygate;
using Kind = conf::KeySource::Kind;

const conf::KeysConfig& keys_config() {
  static const conf::KeysConfig keys = [] {
    conf::KeysConfig k;
    k.prefixes = {{"live", "secret", "sk_live_"},     {"test", "secret", "sk_test_"},
                  {"live", "public", "pk_live_"},     {"test", "public", "pk_test_"},
                  {"live", "restricted", "rk_live_"}, {"stage", "secret", "fp_stage_"}};
    return k;
  }();
  return keys;
}

std::string_view next_part(std::string_view& rest) {
  const auto nl = rest.find('\n');
  const auto part = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  return part;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

void check_parsed(std::string_view raw) {
  const auto parsed = auth::parse_key(raw, keys_config());
  if (!parsed) return;
  FUZZ_CHECK(raw.size() <= auth::kMaxKeyLength);
  FUZZ_CHECK(raw.starts_with(parsed->prefix));
  FUZZ_CHECK(raw.size() == parsed->prefix.size() + auth::kKeyBodyChars);
  const auto& prefixes = keys_config().prefixes;
  FUZZ_CHECK(std::any_of(prefixes.begin(), prefixes.end(), [&](const conf::KeyPrefixConfig& p) {
    return p.prefix == parsed->prefix && p.environment == parsed->environment &&
           p.type == parsed->type;
  }));
}

void check_removed(std::string_view target, std::string_view name) {
  const std::string stripped = auth::remove_query_param(target, name);
  FUZZ_CHECK(path_of(stripped) == path_of(target));
  FUZZ_CHECK(stripped.size() <= target.size());
  // What authenticated the request (the first `name`, read the same way) is gone, and so is
  // every other one. (query_value stops at a '#', so "name#..." still reads as a bare "name":
  // an empty value, which authenticates nothing.)
  const auto left = auth::credential_detail::query_value(auth::query_of(stripped), name);
  FUZZ_CHECK(!left || left->empty());
  std::string_view query = auth::query_of(stripped);
  for (;;) {
    const auto amp = query.find('&');
    FUZZ_CHECK(!auth::credential_detail::segment_has_name(query.substr(0, amp), name));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  FUZZ_CHECK(auth::remove_query_param(stripped, name) == stripped);
}

void check_stray(std::string_view target) {
  const auto stripped = auth::remove_key_like_params(target, keys_config());
  if (!stripped) return;
  FUZZ_CHECK(path_of(*stripped) == path_of(target));
  FUZZ_CHECK(stripped->size() < target.size());
  // No key-like parameter is left behind.
  FUZZ_CHECK(!auth::remove_key_like_params(*stripped, keys_config()));
}

void check_generated(std::string_view seed) {
  if (seed.empty()) return;
  std::size_t at = 0;
  const auth::RandomBytes random = [&](unsigned char* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
      out[i] = static_cast<unsigned char>(seed[at++ % seed.size()]);
    return true;
  };
  const auto& prefix =
      keys_config().prefixes[static_cast<unsigned char>(seed[0]) % keys_config().prefixes.size()];
  const std::string key = auth::generate_key(prefix, random);
  if (key.empty()) return;  // the "random" bytes were all rejected: generate_key gives up
  const auto parsed = auth::parse_key(key, keys_config());
  FUZZ_CHECK(parsed);
  FUZZ_CHECK(parsed->prefix == prefix.prefix && parsed->environment == prefix.environment &&
             parsed->type == prefix.type);
  FUZZ_CHECK(auth::display_prefix(key).size() == auth::kDisplayPrefixChars);
  // Any one character changed is caught by the alphabet or the checksum.
  std::string typo = key;
  char& c =
      typo[prefix.prefix.size() + static_cast<unsigned char>(seed.back()) % auth::kKeyBodyChars];
  c = c == 'a' ? 'b' : 'a';
  FUZZ_CHECK(!auth::parse_key(typo, keys_config()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view whole = rest;
  const std::string_view authorization = next_part(rest);
  const std::string_view api_key = next_part(rest);
  const std::string_view target = next_part(rest);

  conf::RouteAuthConfig route;
  route.sources.clear();
  if (flags & 1) route.sources.push_back({Kind::query, "api_key"});
  if (!(flags & 2)) {
    route.sources.push_back({Kind::bearer, "authorization"});
    route.sources.push_back({Kind::header, "x-api-key"});
  }
  if (!(flags & 1)) route.sources.push_back({Kind::query, "api_key"});

  auto lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    if (name == "authorization" && !authorization.empty()) return authorization;
    if (name == "x-api-key" && !api_key.empty()) return api_key;
    return std::nullopt;
  };
  const auth::Credential credential =
      auth::extract_credential(route, lookup, auth::query_of(target));
  if (credential.found()) {
    if (credential.oversized()) {
      FUZZ_CHECK(credential.raw().empty());
    } else {
      FUZZ_CHECK(!credential.raw().empty());
      FUZZ_CHECK(credential.raw().size() <= auth::kMaxKeyLength);
      check_parsed(credential.raw());
    }
  } else {
    FUZZ_CHECK(credential.raw().empty());
  }
  check_parsed(whole);
  check_removed(target, "api_key");
  check_stray(target);
  if (flags & 4) check_generated(whole);
  return 0;
}
