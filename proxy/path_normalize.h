// The request path as keygate routes it and forwards it (RFC 3986 §6.2.2): one spelling per
// resource, so that a route's prefix cannot be sidestepped by `/public/../private`,
// `/public/%2e%2e/private` or `//private`, and the upstream serves what was authorised.
#pragma once

#include <string>
#include <string_view>

#include "conf/config.h"

namespace keygate::proxy {

enum class PathVerdict {
  ok,
  bad_escape,     // '%' not followed by two hex digits
  escaped_slash,  // %2F, %5C or '\' under escaped_slashes: reject
  bad_character,  // a fragment ('#'), a control character or a space
};

// Normalises an origin-form path (no query): decodes %XX of unreserved characters
// (ALPHA DIGIT - . _ ~), upper-cases the hex of every other escape, merges "//" when
// configured, and removes "." and ".." segments (never climbing above the root). With
// normalize_path off only the character checks apply. `out` is set only when the path
// changed; `changed` says whether it did.
PathVerdict normalize_path(std::string_view path, const conf::HttpConfig& http, std::string& out,
                           bool& changed);

}  // namespace keygate::proxy
