#include "conf/upstream_url.h"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

namespace keygate::conf {
namespace {

constexpr std::string_view kExpected = "expected http://host[:port][/base] or https://...";

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace

Parsed<UpstreamAddress> parse_upstream_url(std::string_view url) {
  using Result = Parsed<UpstreamAddress>;
  const std::string shown = "'" + std::string(url) + "'";
  // parse_uri rather than parse_absolute_uri, so a fragment gets its own message.
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return Result::fail(shown + " is not a URL (" + std::string(kExpected) + ")");
  const boost::urls::url_view& view = *parsed;

  const std::string scheme = lower(view.scheme());
  if (scheme != "http" && scheme != "https") {
    return Result::fail(shown + ": unsupported scheme '" + std::string(view.scheme()) + "' (" +
                        std::string(kExpected) + ")");
  }
  if (view.has_userinfo())
    return Result::fail(shown + ": user info is not supported in upstream URLs");
  if (view.has_query() || view.has_fragment())
    return Result::fail(shown + ": an upstream URL cannot have a query or a fragment");

  UpstreamAddress out;
  out.tls = scheme == "https";
  out.port = out.tls ? 443 : 80;
  switch (view.host_type()) {
    case boost::urls::host_type::name:
      // A percent-encoded host name would have to be decoded into something no resolver takes.
      if (view.encoded_host().find('%') != std::string_view::npos)
        return Result::fail(shown + ": the host name cannot be percent-encoded");
      out.host = lower(view.encoded_host());
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      out.host = lower(view.host_address());
      break;
    default:
      break;
  }
  if (out.host.empty())
    return Result::fail(shown + " has no host (" + std::string(kExpected) + ")");

  if (view.has_port()) {
    // port_number() wraps values above 65535 instead of failing, so read the digits ourselves.
    std::string_view digits = view.port();
    unsigned long value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value == 0 ||
        value > 65535) {
      return Result::fail(shown + ": port '" + std::string(digits) + "' is out of range (1-65535)");
    }
    out.port = static_cast<std::uint16_t>(value);
  }

  std::string_view path = view.encoded_path();
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.base_path = std::string(path);
  return Result::ok(std::move(out));
}

}  // namespace keygate::conf
