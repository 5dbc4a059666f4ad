// A command as the bytes Redis reads (RESP arrays of bulk strings), formatted by keygate:
// hiredis' own formatter appends each argument with sdscatfmt and was, for a rate-limit batch,
// a fifth of the client-side cost of deciding it (internal to redis/).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace keygate::redis {

// Appends "*<n>\r\n" and "$<len>\r\n<arg>\r\n" per argument to `out`.
void append_command(std::string& out, std::span<const std::string_view> args);

}  // namespace keygate::redis
