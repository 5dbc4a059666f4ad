// Case-insensitive comparison and trimming for protocol text (header names and values,
// tokens, host names): ASCII only, no locale.
#pragma once

#include <cstdint>
#include <cstring>
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

// ascii_lower of eight bytes at once. Each byte's low seven bits plus a constant sets its high
// bit when it is at least 'A' (resp. past 'Z'), with no carry into the next byte; a byte with
// its own high bit set is not a letter.
constexpr std::uint64_t ascii_lower8(std::uint64_t bytes) {
  constexpr std::uint64_t kEach = 0x0101010101010101;
  const std::uint64_t low7 = bytes & (0x7f * kEach);
  const std::uint64_t from_a = low7 + (0x80 - 'A') * kEach;
  const std::uint64_t past_z = low7 + (0x80 - 'Z' - 1) * kEach;
  const std::uint64_t upper = from_a & ~past_z & ~bytes & (0x80 * kEach);
  return bytes | (upper >> 2);  // 0x80 >> 2 is the 0x20 between cases
}

// Header names are compared by the dozen per request, and most are 8 bytes or longer: those
// go eight bytes at a time, the last eight overlapping the ones before when need be.
inline bool iequals(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i)
      if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
  }
  auto word = [](const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return ascii_lower8(w);
  };
  for (std::size_t i = 0; i + 8 < n; i += 8)
    if (word(a.data() + i) != word(b.data() + i)) return false;
  return word(a.data() + n - 8) == word(b.data() + n - 8);
}

// Strips spaces, tabs and line ends (a token file's trailing newline) from both ends.
inline std::string_view trim(std::string_view text) {
  while (!text.empty() && ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace keygate::proxy
