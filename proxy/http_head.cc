#include "proxy/http_head.h"

#include <charconv>
#include <cstring>

namespace keygate::proxy {
namespace {

void append_version(std::string& out, unsigned version) {
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

void append_fields_and_end(std::string& out, const Fields& fields) {
  for (const auto& field : fields) append_field(out, field.name_string(), field.value());
  out += "\r\n";
}

}  // namespace

void append_field(std::string& out, std::string_view name, std::string_view value) {
  // One size check and two copies instead of four appends: a proxied request writes some
  // twenty fields this way.
  const std::size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

void append_status_line(std::string& out, unsigned version, unsigned status,
                        std::string_view reason) {
  append_version(out, version);
  char digits[8];
  const auto end = std::to_chars(digits, digits + sizeof digits, status).ptr;
  out += ' ';
  out.append(digits, end);
  out += ' ';
  out += reason;
  out += "\r\n";
}

void append_request_head(std::string& out, std::string_view method, std::string_view target,
                         const Fields& fields) {
  out += method;
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\n";
  append_fields_and_end(out, fields);
}

}  // namespace keygate::proxy
