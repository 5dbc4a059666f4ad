// Shapes of the words the configuration is made of: header names, prefixes, addresses.
#pragma once

#include <string>
#include <string_view>

namespace keygate::conf {

std::string to_lower(std::string_view text);
std::string to_upper(std::string_view text);

// An HTTP token (RFC 9110): header names and methods.
bool is_http_token(std::string_view text);
// [A-Za-z_][A-Za-z0-9_]*, what a shell accepts as a variable name.
bool is_env_var_name(std::string_view text);
// [a-z0-9]+(_[a-z0-9]+)*: environment and key type names.
bool is_lower_word(std::string_view text);
// [a-z0-9]+(_[a-z0-9]+)*_ : the start of every key, e.g. "sk_live_".
bool is_key_prefix(std::string_view text);
// Letters, digits, '-' and '.': what a route may match the Host header against.
bool is_host_name(std::string_view text);

// A numeric IPv4 or IPv6 address; listeners bind to addresses, not names.
bool is_ip_address(const std::string& text);
// An address with an optional "/prefix" (0..32 for IPv4, 0..128 for IPv6).
bool is_cidr(std::string_view text);
// 127.0.0.0/8, ::1 or ::ffff:127.x.x.x.
bool is_loopback_address(const std::string& text);

}  // namespace keygate::conf
