// Case-insensitive comparison and trimming for protocol text (header names and values,
// tokens, host names): ASCII only, no locale.
#pragma once

#include <cctype>
#include <string_view>

namespace keygate::proxy {

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Strips spaces, tabs and line ends (a token file's trailing newline) from both ends.
inline std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  return text;
}

}  // namespace keygate::proxy
