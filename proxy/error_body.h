// The JSON bodies keygate answers with itself, in the seed products' shape:
// {"error":{"message":"...","type":"...","code":"..."}}
#pragma once

#include <string>
#include <string_view>

namespace keygate::proxy {

struct ErrorSpec {
  unsigned status;
  std::string_view type;
  std::string_view code;
  std::string_view message;
};

std::string error_body(const ErrorSpec& spec);

// Appends `value` to `out` as the inside of a JSON string (quotes not included).
void append_json_escaped(std::string& out, std::string_view value);

// The answers the proxy itself gives; auth and rate-limit errors come from their modules.
namespace errors {
inline constexpr ErrorSpec route_not_found{404, "invalid_request_error", "route_not_found",
                                           "No route matches this request"};
inline constexpr ErrorSpec bad_request{400, "invalid_request_error", "bad_request",
                                       "The request is malformed"};
inline constexpr ErrorSpec ambiguous_length{
    400, "invalid_request_error", "bad_request",
    "Conflicting Content-Length and Transfer-Encoding headers"};
inline constexpr ErrorSpec headers_too_large{431, "invalid_request_error", "headers_too_large",
                                             "Request header fields too large"};
inline constexpr ErrorSpec body_too_large{413, "invalid_request_error", "payload_too_large",
                                          "Request body exceeds the limit for this route"};
inline constexpr ErrorSpec request_timeout{408, "invalid_request_error", "request_timeout",
                                           "The request was not received in time"};
inline constexpr ErrorSpec upstream_unavailable{502, "upstream_error", "upstream_unavailable",
                                                "The upstream service could not be reached"};
inline constexpr ErrorSpec upstream_bad_response{502, "upstream_error", "upstream_bad_response",
                                                 "The upstream service sent an invalid response"};
inline constexpr ErrorSpec upstream_tls{502, "upstream_error", "upstream_tls_error",
                                        "The upstream service's TLS certificate could not be "
                                        "verified (see keygate's log for the reason)"};
inline constexpr ErrorSpec client_certificate_required{
    401, "authentication_error", "client_certificate_required",
    "This route requires a verified TLS client certificate"};
inline constexpr ErrorSpec upstream_timeout{504, "upstream_error", "upstream_timeout",
                                            "The upstream service did not answer in time"};
inline constexpr ErrorSpec upstream_busy{503, "upstream_error", "upstream_connection_limit",
                                         "Too many connections to the upstream service"};
inline constexpr ErrorSpec shutting_down{503, "service_unavailable", "shutting_down",
                                         "keygate is shutting down"};
inline constexpr ErrorSpec not_implemented{501, "invalid_request_error", "not_implemented",
                                           "Unsupported Transfer-Encoding"};
}  // namespace errors

}  // namespace keygate::proxy
