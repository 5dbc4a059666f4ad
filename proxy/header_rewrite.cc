#include "proxy/header_rewrite.h"

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <charconv>
#include <random>

#include "proxy/ascii.h"
#include "proxy/http_head.h"

namespace keygate::proxy {
namespace {

template <class Fn>
void for_each_token(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto token = trim(list.substr(0, comma));
    if (!token.empty()) fn(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

constexpr std::array kHopByHop = {
    http::field::connection,
    http::field::keep_alive,
    http::field::proxy_connection,
    http::field::te,
    http::field::trailer,
    http::field::proxy_authenticate,
    http::field::proxy_authorization,
};

// What a Connection token may never remove: the parser framed the message by these, and Host
// is what the request was routed by.
bool protected_from_connection(std::string_view name) {
  return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
         iequals(name, "host") || iequals(name, "connection");
}

// Names compared as a CGI gateway would see them: case and '-' versus '_' do not matter.
bool same_header_for_cgi(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    x = x == '_' ? '-' : static_cast<unsigned char>(ascii_lower(static_cast<char>(x)));
    y = y == '_' ? '-' : static_cast<unsigned char>(ascii_lower(static_cast<char>(y)));
    if (x != y) return false;
  }
  return true;
}

// Headers keygate sets itself: a client's copy in any spelling is removed. The forwarding
// headers proper are left to set_forwarded_headers (a trusted proxy may send them); only
// their underscore spellings are removed here.
bool poses_as_keygate_header(std::string_view name, bool has_underscore,
                             const conf::IdentityHeadersConfig& identity) {
  for (const auto* own : {&identity.key_id, &identity.org, &identity.environment,
                          &identity.key_type, &identity.scopes, &identity.plan})
    if (same_header_for_cgi(name, *own)) return true;
  if (!has_underscore) return false;
  for (std::string_view own : {"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
                               "x-forwarded-port", "x-real-ip", "x-request-id"})
    if (same_header_for_cgi(name, own)) return true;
  return false;
}

ErrorSpec underscored_name_error() {
  return ErrorSpec{400, "invalid_request_error", "bad_request",
                   "Header names with underscores are not accepted"};
}

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

bool trusted(const boost::asio::ip::address& address, std::span<const auth::Cidr> cidrs) {
  for (const auto& cidr : cidrs)
    if (cidr.contains(address)) return true;
  return false;
}

}  // namespace

bool connection_has_token(const Fields& fields, std::string_view token) {
  bool found = false;
  for (auto it = fields.find(http::field::connection);
       it != fields.end() && it->name() == http::field::connection; ++it) {
    for_each_token(it->value(), [&](std::string_view t) { found = found || iequals(t, token); });
  }
  return found;
}

void strip_hop_by_hop(Fields& fields, bool keep_upgrade) {
  // Headers named in Connection are hop-by-hop too. The names are views into the Connection
  // values, which stay in place until Connection itself is erased below.
  boost::container::small_vector<std::string_view, 8> named;
  for (auto it = fields.find(http::field::connection);
       it != fields.end() && it->name() == http::field::connection; ++it) {
    for_each_token(it->value(), [&](std::string_view t) {
      if (!(keep_upgrade && iequals(t, "upgrade")) && !protected_from_connection(t))
        named.push_back(t);
    });
  }
  // One pass over the fields each instead of a search of the tree per name. The named ones
  // go first: their names are views into Connection, which the second pass removes.
  if (!named.empty()) {
    for (auto it = fields.begin(); it != fields.end();) {
      const std::string_view name = it->name_string();
      const bool listed = it->name() != http::field::connection &&
                          std::any_of(named.begin(), named.end(),
                                      [&](std::string_view token) { return iequals(name, token); });
      it = listed ? fields.erase(it) : std::next(it);
    }
  }
  auto hop_by_hop = [&](http::field name) {
    if (name == http::field::upgrade) return !keep_upgrade;
    return std::find(kHopByHop.begin(), kHopByHop.end(), name) != kHopByHop.end();
  };
  for (auto it = fields.begin(); it != fields.end();)
    it = hop_by_hop(it->name()) ? fields.erase(it) : std::next(it);
}

std::optional<ErrorSpec> refuse_underscored_names(const Fields& fields,
                                                  const conf::HttpConfig& http_config) {
  if (http_config.headers_with_underscores != conf::HttpConfig::Underscores::reject)
    return std::nullopt;
  for (const auto& field : fields)
    if (field.name_string().find('_') != std::string_view::npos) return underscored_name_error();
  return std::nullopt;
}

std::optional<ErrorSpec> clean_request_headers(Fields& fields, const conf::Config& config,
                                               bool keep_upgrade) {
  strip_hop_by_hop(fields, keep_upgrade);
  const auto underscores = config.http.headers_with_underscores;
  for (auto it = fields.begin(); it != fields.end();) {
    const std::string_view name = it->name_string();
    const bool has_underscore = name.find('_') != std::string_view::npos;
    if (has_underscore && underscores == conf::HttpConfig::Underscores::reject)
      return underscored_name_error();
    if ((has_underscore && underscores == conf::HttpConfig::Underscores::drop) ||
        poses_as_keygate_header(name, has_underscore, config.identity_headers)) {
      it = fields.erase(it);
    } else {
      ++it;
    }
  }
  return std::nullopt;
}

ClientOrigin resolve_client_origin(const Fields& fields, const boost::asio::ip::address& peer,
                                   std::string_view peer_ip, std::span<const auth::Cidr> cidrs) {
  ClientOrigin origin{peer, std::string(peer_ip), false};
  if (cidrs.empty() || !trusted(peer, cidrs)) return origin;
  origin.peer_trusted = true;
  // Right to left: each hop that is a trusted proxy vouches for the address before it.
  boost::container::small_vector<std::string_view, 8> hops;
  for (const auto& field : fields) {
    const std::string_view name = field.name_string();
    if (name.size() == 15 && iequals(name, "x-forwarded-for"))
      for_each_token(field.value(), [&](std::string_view t) { hops.push_back(t); });
  }
  auto candidate = peer;
  std::string_view candidate_text;  // as sent, when that is already the canonical form
  for (auto hop = hops.rbegin(); hop != hops.rend() && trusted(candidate, cidrs); ++hop) {
    // Dotted quads are parsed as such (make_address tries IPv6 first); inet_pton's IPv4 form
    // admits no leading zeros, so the text of one that parses is its canonical text.
    boost::system::error_code ec;
    const bool v6 = hop->find(':') != std::string_view::npos;
    const std::string text(*hop);
    const auto address = v6 ? boost::asio::ip::address(boost::asio::ip::make_address_v6(text, ec))
                            : boost::asio::ip::address(boost::asio::ip::make_address_v4(text, ec));
    if (ec) break;  // not an address: keep the last one a trusted hop vouched for
    candidate = address;
    candidate_text = v6 ? std::string_view() : *hop;
  }
  if (candidate != peer) {
    origin.address = candidate;
    origin.ip = candidate_text.empty() ? candidate.to_string() : std::string(candidate_text);
  }
  return origin;
}

void set_forwarded_headers(Fields& fields, const ClientOrigin& origin, std::string_view peer_ip,
                           std::string_view scheme, std::string_view host) {
  if (origin.peer_trusted) {
    std::string chain;
    for (auto it = fields.find("x-forwarded-for");
         it != fields.end() && iequals(it->name_string(), "x-forwarded-for"); ++it) {
      chain += it->value();
      chain += ", ";
    }
    chain += peer_ip;
    fields.set("X-Forwarded-For", chain);
    if (fields.find("x-forwarded-proto") == fields.end())
      fields.insert("X-Forwarded-Proto", scheme);
    if (fields.find("x-forwarded-host") == fields.end() && !host.empty())
      fields.insert("X-Forwarded-Host", host);
  } else {
    // Clients rarely send any of these: one walk over the fields tells, before five searches.
    bool sent_any = false;
    for (const auto& field : fields) {
      const std::string_view name = field.name_string();
      sent_any = sent_any || field.name() == http::field::forwarded ||
                 (name.size() > 12 && iequals(name.substr(0, 12), "x-forwarded-"));
    }
    if (sent_any)
      for (std::string_view name : {"forwarded", "x-forwarded-for", "x-forwarded-proto",
                                    "x-forwarded-host", "x-forwarded-port"})
        fields.erase(name);
    // insert, not set: set() would search again for what was just erased.
    fields.insert("X-Forwarded-For", peer_ip);
    fields.insert("X-Forwarded-Proto", scheme);
    if (!host.empty()) fields.insert("X-Forwarded-Host", host);
  }
  fields.set("X-Real-IP", origin.ip);
}

void set_framing(Fields& fields, boost::optional<std::uint64_t> content_length, bool chunked) {
  fields.erase(http::field::content_length);
  fields.erase(http::field::transfer_encoding);
  if (chunked) {
    fields.insert(http::field::transfer_encoding, "chunked");
  } else if (content_length) {
    fields.insert(http::field::content_length, std::to_string(*content_length));
  }
}

namespace {

// Hop-by-hop fields and the framing ones, by name in any case: what the Beast path below skips
// by its field codes.
bool hop_by_hop_or_framing(std::string_view name) {
  switch (name.size()) {
    case 2:
      return iequals(name, "te");
    case 7:
      return iequals(name, "trailer") || iequals(name, "upgrade");
    case 10:
      return iequals(name, "connection") || iequals(name, "keep-alive");
    case 14:
      return iequals(name, "content-length");
    case 16:
      return iequals(name, "proxy-connection");
    case 17:
      return iequals(name, "transfer-encoding");
    case 18:
      return iequals(name, "proxy-authenticate");
    case 19:
      return iequals(name, "proxy-authorization");
    default:
      return false;
  }
}

using NamedFields = boost::container::small_vector<std::string_view, 8>;

// What a Connection value names: hop-by-hop too, unless protected.
void add_connection_names(std::string_view value, NamedFields& named) {
  for_each_token(value, [&](std::string_view t) {
    if (!protected_from_connection(t)) named.push_back(t);
  });
}

bool is_named(std::string_view name, std::span<const std::string_view> names) {
  for (std::string_view other : names)
    if (name.size() == other.size() && iequals(name, other)) return true;
  return false;
}

// The forwarded head from the status line and the upstream's end-to-end fields, which
// `each_field(emit)` hands over as emit(name, value, line) with the hop-by-hop and framing ones
// left out already. `line`, when not empty, is the field as it arrived and already in the form
// append_field writes: runs of such lines that are kept and adjacent go in one copy.
template <class EachField>
void write_forwarded_head(std::string& out, unsigned version, unsigned status,
                          std::string_view reason, const NamedFields& named, EachField&& each_field,
                          std::span<const std::string_view> added_names,
                          std::string_view added_fields, std::string_view request_id,
                          boost::optional<std::uint64_t> content_length, bool keep_alive) {
  append_status_line(out, version, status, reason);
  const char* run = nullptr;  // the kept lines not copied yet: [run, run_end)
  const char* run_end = nullptr;
  auto copy_run = [&] {
    if (run) out.append(run, static_cast<std::size_t>(run_end - run));
    run = nullptr;
  };
  each_field([&](std::string_view name, std::string_view value, std::string_view line) {
    if (name.size() == 12 && iequals(name, "x-request-id")) return;
    if (is_named(name, added_names) || (!named.empty() && is_named(name, named))) return;
    if (line.empty()) {
      copy_run();
      append_field(out, name, value);
    } else if (run && line.data() == run_end) {
      run_end += line.size();
    } else {
      copy_run();
      run = line.data();
      run_end = line.data() + line.size();
    }
  });
  copy_run();
  out += added_fields;
  append_field(out, "X-Request-Id", request_id);
  if (content_length) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, *content_length).ptr;
    append_field(out, "Content-Length", std::string_view(digits, end - digits));
  }
  if (version >= 11 && !keep_alive) append_field(out, "Connection", "close");
  if (version < 11 && keep_alive) append_field(out, "Connection", "keep-alive");
  out += "\r\n";
}

}  // namespace

void append_forwarded_response_head(std::string& out, const ResponseHeader& res, unsigned version,
                                    std::span<const std::string_view> added_names,
                                    std::string_view added_fields, std::string_view request_id,
                                    boost::optional<std::uint64_t> content_length,
                                    bool keep_alive) {
  NamedFields named;
  for (auto it = res.find(http::field::connection);
       it != res.end() && it->name() == http::field::connection; ++it)
    add_connection_names(it->value(), named);
  auto each_field = [&](auto&& emit) {
    for (const auto& field : res) {
      switch (field.name()) {
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::proxy_connection:
        case http::field::te:
        case http::field::trailer:
        case http::field::proxy_authenticate:
        case http::field::proxy_authorization:
        case http::field::upgrade:
        case http::field::content_length:
        case http::field::transfer_encoding:
          continue;
        default:
          emit(field.name_string(), field.value(), std::string_view());
      }
    }
  };
  write_forwarded_head(out, version, res.result_int(), res.reason(), named, each_field, added_names,
                       added_fields, request_id, content_length, keep_alive);
}

void append_forwarded_simple_head(std::string& out, const SimpleResponse& res, unsigned version,
                                  std::span<const std::string_view> added_names,
                                  std::string_view added_fields, std::string_view request_id,
                                  bool keep_alive) {
  NamedFields named;
  add_connection_names(res.connection, named);
  auto each_field = [&](auto&& emit) {
    for (const SimpleResponse::Field& field : res.fields) {
      if (hop_by_hop_or_framing(field.name)) continue;
      // "name: value\r\n" as it stands in the upstream's buffer.
      const std::string_view line =
          field.canonical
              ? std::string_view(field.name.data(), field.name.size() + field.value.size() + 4)
              : std::string_view();
      emit(field.name, field.value, line);
    }
  };
  // An empty reason is forwarded as Beast's reason() gives it: the usual phrase.
  const std::string_view reason =
      res.reason.empty()
          ? std::string_view(http::obsolete_reason(static_cast<http::status>(res.status)))
          : res.reason;
  write_forwarded_head(out, version, res.status, reason, named, each_field, added_names,
                       added_fields, request_id, res.content_length, keep_alive);
}

void ensure_request_id(Fields& fields, std::string& id, bool forwards) {
  auto it = fields.find("x-request-id");
  if (it != fields.end() && sane_request_id(it->value())) {
    id.assign(it->value());
    return;
  }
  // Not a secret: uniqueness is what matters, so a per-thread PRNG is enough.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  id.assign(32, '0');
  for (int half = 0; half < 2; ++half) {
    auto bits = rng();
    for (int i = 0; i < 16; ++i, bits >>= 4) id[half * 16 + i] = kHex[bits & 0xf];
  }
  if (!forwards) return;
  if (it != fields.end()) {
    fields.set("X-Request-Id", id);  // replaces the one that was not sane
  } else {
    fields.insert("X-Request-Id", id);
  }
}

}  // namespace keygate::proxy
