// Case-insensitive comparison and trimming for protocol text (header names and values,
// tokens, host names): ASCII only, no locale.
#pragma once

#include <string_view>

namespace keygate::proxy {

// Inline, unlike std::tolower and std::isspace: those are calls into libc through the locale,
// and header names are compared a few dozen times per request.
constexpr char ascii_lower(char c) {
  return static_cast<unsigned char>(c - 'A') < 26 ? static_cast<char>(c + ('a' - 'A')) : c;
}

// The C locale's isspace: space, tab, line feed, vertical tab, form feed, carriage return.
constexpr bool ascii_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r');
}

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

// Strips spaces, tabs and line ends (a token file's trailing newline) from both ends.
inline std::string_view trim(std::string_view text) {
  while (!text.empty() && ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace keygate::proxy
