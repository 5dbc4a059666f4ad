#include "proxy/header_rewrite.h"

#include <array>
#include <boost/container/small_vector.hpp>
#include <random>

#include "proxy/ascii.h"

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
    http::field::transfer_encoding,
    http::field::proxy_authenticate,
    http::field::proxy_authorization,
};

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
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
  // values, which stay in place until Connection itself is erased below (so a token naming
  // Connection is left to that step).
  boost::container::small_vector<std::string_view, 8> named;
  for (auto it = fields.find(http::field::connection);
       it != fields.end() && it->name() == http::field::connection; ++it) {
    for_each_token(it->value(), [&](std::string_view t) {
      if (!(keep_upgrade && iequals(t, "upgrade")) && !iequals(t, "connection")) named.push_back(t);
    });
  }
  for (const auto name : named) fields.erase(name);
  for (auto f : kHopByHop) fields.erase(f);
  if (!keep_upgrade) fields.erase(http::field::upgrade);
}

void add_forwarded_headers(Fields& fields, std::string_view client_ip) {
  auto xff = fields.find("x-forwarded-for");
  if (xff != fields.end()) {
    std::string value(xff->value());
    value += ", ";
    value += client_ip;
    fields.set("X-Forwarded-For", value);
  } else {
    fields.insert("X-Forwarded-For", client_ip);  // insert: set() would search again
  }
  if (fields.find("x-forwarded-proto") == fields.end()) fields.insert("X-Forwarded-Proto", "http");
  if (fields.find("x-forwarded-host") == fields.end()) {
    auto host = fields.find(http::field::host);
    if (host != fields.end()) fields.insert("X-Forwarded-Host", host->value());
  }
}

void ensure_request_id(Fields& fields, std::string& id) {
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
  if (it != fields.end()) {
    fields.set("X-Request-Id", id);  // replaces the one that was not sane
  } else {
    fields.insert("X-Request-Id", id);
  }
}

}  // namespace keygate::proxy
