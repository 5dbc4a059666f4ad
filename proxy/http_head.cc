#include "proxy/http_head.h"

#include <charconv>

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
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
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
