#include "redis/resp_command.h"

#include <charconv>

namespace keygate::redis {
namespace {

void append_header(std::string& out, char kind, std::size_t n) {
  char digits[24];
  digits[0] = kind;
  const auto end = std::to_chars(digits + 1, digits + sizeof digits - 2, n).ptr;
  end[0] = '\r';
  end[1] = '\n';
  out.append(digits, end + 2);
}

}  // namespace

void append_command(std::string& out, std::span<const std::string_view> args) {
  std::size_t size = 16;
  for (const auto arg : args) size += arg.size() + 16;
  out.reserve(out.size() + size);
  append_header(out, '*', args.size());
  for (const auto arg : args) {
    append_header(out, '$', arg.size());
    out.append(arg);
    out.append("\r\n", 2);
  }
}

}  // namespace keygate::redis
