#include "proxy/request_guard.h"

#include <string>

#include "proxy/ascii.h"

namespace keygate::proxy {
namespace {

namespace http = boost::beast::http;

struct FramingCounts {
  std::size_t transfer_encoding = 0;
  std::size_t content_length = 0;
  std::size_t host = 0;
};

// One walk over the fields instead of a search of the tree per name.
FramingCounts count_framing_fields(const RequestHeader& h) {
  FramingCounts counts;
  for (const auto& field : h) {
    switch (field.name()) {
      case http::field::transfer_encoding:
        ++counts.transfer_encoding;
        break;
      case http::field::content_length:
        ++counts.content_length;
        break;
      case http::field::host:
        ++counts.host;
        break;
      default:
        break;
    }
  }
  return counts;
}

std::string lower_trimmed(std::string_view s) {
  std::string out(trim(s));
  for (auto& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace

std::optional<ErrorSpec> check_request_framing(const RequestHeader& h) {
  const FramingCounts counts = count_framing_fields(h);
  const auto te_count = counts.transfer_encoding;
  const auto cl_count = counts.content_length;

  if (te_count > 0 && cl_count > 0) return errors::ambiguous_length;
  if (cl_count > 1) {
    // Equal duplicates are harmless per RFC 9112 §6.3, differing ones are an attack.
    auto it = h.find(http::field::content_length);
    const std::string first(it->value());
    for (; it != h.end() && it->name() == http::field::content_length; ++it)
      if (it->value() != first)
        return ErrorSpec{400, "invalid_request_error", "bad_request",
                         "Conflicting Content-Length headers"};
  }
  if (te_count > 1)
    return ErrorSpec{400, "invalid_request_error", "bad_request",
                     "Multiple Transfer-Encoding headers"};
  if (te_count == 1) {
    if (h.version() < 11)
      return ErrorSpec{400, "invalid_request_error", "bad_request",
                       "Transfer-Encoding is not allowed in HTTP/1.0"};
    const auto te = lower_trimmed(h[http::field::transfer_encoding]);
    if (te != "chunked") {
      if (te.find("chunked") != std::string::npos)
        return ErrorSpec{400, "invalid_request_error", "bad_request",
                         "Malformed Transfer-Encoding"};
      return errors::not_implemented;
    }
  }
  const auto host_count = counts.host;
  if (host_count > 1)
    return ErrorSpec{400, "invalid_request_error", "bad_request", "Multiple Host headers"};
  if (host_count == 0 && h.version() >= 11)
    return ErrorSpec{400, "invalid_request_error", "bad_request", "Missing Host header"};
  return std::nullopt;
}

}  // namespace keygate::proxy
