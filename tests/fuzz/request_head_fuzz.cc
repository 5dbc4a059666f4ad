// The request head as keygate's session takes it in: Beast's parser with keygate's header
// limit, then check_request_framing, clean_request_headers, the Host and the path as
// route_target reads them, and set_framing before the request leaves. Besides "no crash",
// it checks what these security functions promise (see the FUZZ_CHECKs).
//
// Input: one flags byte, then the bytes. flags bits 0-1 pick headers_with_underscores, 2
// merge_slashes, 3 normalize_path, 4 escaped_slashes: keep, 5 keep_upgrade; bits 6-7 pick what
// the rest is: 0 or 1 a request head, 2 a path for normalize_path, 3 a Host value.
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "conf/config.h"
#include "proxy/ascii.h"
#include "proxy/header_rewrite.h"
#include "proxy/host_header.h"
#include "proxy/http_fields.h"
#include "proxy/path_normalize.h"
#include "proxy/request_guard.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace keygate;
namespace http = boost::beast::http;
using proxy::Fields;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_unreserved(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// How a CGI gateway names a header: case and '-' versus '_' do not matter.
std::string cgi_name(std::string_view name) {
  std::string out(name);
  for (auto& c : out) {
    if (c == '_') c = '-';
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void check_path(std::string_view path, const conf::HttpConfig& config) {
  std::string out;
  bool changed = true;
  const auto verdict = proxy::normalize_path(path, config, out, changed);
  if (verdict != proxy::PathVerdict::ok || !config.normalize_path) {
    FUZZ_CHECK(!changed);
    return;
  }
  // The session hands over an origin-form path ("/...") or "*".
  if (path.empty() || path.front() != '/') return;
  const std::string_view result = changed ? std::string_view(out) : path;
  FUZZ_CHECK(!result.empty() && result.front() == '/');
  FUZZ_CHECK(result.find("/./") == std::string_view::npos);
  FUZZ_CHECK(result.find("/../") == std::string_view::npos);
  FUZZ_CHECK(!result.ends_with("/.") && !result.ends_with("/.."));
  if (config.merge_slashes) FUZZ_CHECK(result.find("//") == std::string_view::npos);
  for (std::size_t i = 0; i < result.size(); ++i) {
    if (result[i] != '%') continue;
    FUZZ_CHECK(i + 2 < result.size());
    const int hi = hex_value(result[i + 1]), lo = hex_value(result[i + 2]);
    FUZZ_CHECK(hi >= 0 && lo >= 0);
    // An escape that is left is one that must stay, and written in upper-case hex.
    if (changed) {
      FUZZ_CHECK(!is_unreserved(hi * 16 + lo));
      FUZZ_CHECK(!(result[i + 1] >= 'a' && result[i + 1] <= 'f'));
      FUZZ_CHECK(!(result[i + 2] >= 'a' && result[i + 2] <= 'f'));
    }
  }
  // Normalising the output again changes nothing.
  std::string again;
  bool changed_again = true;
  FUZZ_CHECK(proxy::normalize_path(result, config, again, changed_again) == proxy::PathVerdict::ok);
  FUZZ_CHECK(!changed_again);
}

void check_host(std::string_view host) {
  std::string name;
  std::string_view port;
  if (!proxy::parse_host_header(host, name, port)) return;
  FUZZ_CHECK(name.size() <= 255);
  for (char c : name) {
    FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    FUZZ_CHECK(c != '@' && (c != ':' || name.front() == '['));
    FUZZ_CHECK(static_cast<unsigned char>(c) > 0x20 && c != 0x7f && c != '/' && c != '%');
  }
  if (!name.empty() && name.front() != '[') FUZZ_CHECK(name.back() != '.');
  FUZZ_CHECK(port.size() <= 5);
  for (char c : port) FUZZ_CHECK(c >= '0' && c <= '9');
  // What keygate forwards as Host reads back as the same host.
  std::string normal = name;
  if (!port.empty()) normal.append(":").append(port);
  std::string name_again;
  std::string_view port_again;
  FUZZ_CHECK(proxy::parse_host_header(normal, name_again, port_again));
  FUZZ_CHECK(name_again == name && port_again == port);
}

std::size_t count(const Fields& fields, std::string_view name) {
  std::size_t n = 0;
  for (const auto& f : fields)
    if (proxy::iequals(f.name_string(), name)) ++n;
  return n;
}

void check_clean_headers(Fields& fields, const conf::Config& config, bool keep_upgrade) {
  const auto hosts = count(fields, "host"), lengths = count(fields, "content-length"),
             encodings = count(fields, "transfer-encoding");
  const auto error = proxy::clean_request_headers(fields, config, keep_upgrade);
  if (error) {
    FUZZ_CHECK(error->status == 400);
    return;
  }
  const auto& id = config.identity_headers;
  const std::string identity[] = {cgi_name(id.key_id),      cgi_name(id.org),
                                  cgi_name(id.environment), cgi_name(id.key_type),
                                  cgi_name(id.scopes),      cgi_name(id.plan)};
  for (const auto& f : fields) {
    const std::string name = cgi_name(f.name_string());
    for (const auto& own : identity) FUZZ_CHECK(name != own);
    for (std::string_view hop : {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                 "proxy-authenticate", "proxy-authorization"})
      FUZZ_CHECK(!proxy::iequals(f.name_string(), hop));
    if (!keep_upgrade) FUZZ_CHECK(!proxy::iequals(f.name_string(), "upgrade"));
    const bool underscore = f.name_string().find('_') != std::string_view::npos;
    if (config.http.headers_with_underscores != conf::HttpConfig::Underscores::allow)
      FUZZ_CHECK(!underscore);
  }
  // Nothing a client says may remove what framed the message or what it is routed by.
  FUZZ_CHECK(count(fields, "host") == hosts);
  FUZZ_CHECK(count(fields, "content-length") == lengths);
  FUZZ_CHECK(count(fields, "transfer-encoding") == encodings);
}

void check_request(std::string_view bytes, const conf::Config& config, bool keep_upgrade) {
  http::request_parser<http::buffer_body, proxy::FieldAllocator<char>> parser;
  parser.header_limit(static_cast<std::uint32_t>(config.limits.max_header_bytes));
  parser.body_limit(boost::none);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (!parser.is_header_done()) return;
  auto& req = parser.get();

  if (proxy::check_request_framing(req)) return;
  // A head that passed: one Host on HTTP/1.1, no Transfer-Encoding next to Content-Length.
  if (req.version() >= 11) FUZZ_CHECK(req.count(http::field::host) == 1);
  FUZZ_CHECK(req.count(http::field::transfer_encoding) == 0 ||
             req.count(http::field::content_length) == 0);
  check_clean_headers(req.base(), config, keep_upgrade);

  // The Host and path as route_target takes them.
  std::string_view target = req.target();
  std::string host(req[http::field::host]);
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() < scheme.size() || !proxy::iequals(target.substr(0, scheme.size()), scheme))
      continue;
    const auto rest = target.substr(scheme.size());
    const auto end = rest.find_first_of("/?");
    host = rest.substr(0, end);
    target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    break;
  }
  check_host(host);
  std::string path(target.substr(0, target.find('?')));
  if (path.empty()) path = "/";
  if (path.front() == '/') check_path(path, config.http);

  // Whatever the client's headers said, the request leaves framed as the parser read it.
  proxy::set_framing(req.base(), parser.content_length(), parser.chunked());
  if (parser.chunked()) {
    FUZZ_CHECK(req.count(http::field::content_length) == 0);
    FUZZ_CHECK(req.count(http::field::transfer_encoding) == 1);
    FUZZ_CHECK(req[http::field::transfer_encoding] == "chunked");
  } else if (parser.content_length()) {
    FUZZ_CHECK(req.count(http::field::transfer_encoding) == 0);
    FUZZ_CHECK(req.count(http::field::content_length) == 1);
    FUZZ_CHECK(req[http::field::content_length] == std::to_string(*parser.content_length()));
  } else {
    FUZZ_CHECK(req.count(http::field::transfer_encoding) == 0);
    FUZZ_CHECK(req.count(http::field::content_length) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  conf::Config config;
  constexpr conf::HttpConfig::Underscores modes[] = {
      conf::HttpConfig::Underscores::drop, conf::HttpConfig::Underscores::reject,
      conf::HttpConfig::Underscores::allow, conf::HttpConfig::Underscores::drop};
  config.http.headers_with_underscores = modes[flags & 3];
  config.http.merge_slashes = (flags & 4) != 0;
  config.http.normalize_path = (flags & 8) != 0;
  config.http.escaped_slashes = (flags & 16) ? conf::HttpConfig::EscapedSlashes::keep
                                             : conf::HttpConfig::EscapedSlashes::reject;
  const bool keep_upgrade = (flags & 32) != 0;

  switch (flags >> 6) {
    case 2:
      check_path(bytes, config.http);
      break;
    case 3:
      check_host(bytes);
      break;
    default:
      check_request(bytes, config, keep_upgrade);
      break;
  }
  return 0;
}
