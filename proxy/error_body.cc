#include "proxy/error_body.h"

#include <cstdio>

namespace keygate::proxy {

void append_json_escaped(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

std::string error_body(const ErrorSpec& spec) {
  std::string out;
  out.reserve(96 + spec.message.size());
  out += R"({"error":{"message":")";
  append_json_escaped(out, spec.message);
  out += R"(","type":")";
  append_json_escaped(out, spec.type);
  out += R"(","code":")";
  append_json_escaped(out, spec.code);
  out += "\"}}";
  return out;
}

}  // namespace keygate::proxy
