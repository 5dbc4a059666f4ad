// The check behind proxy/simple_response.h, shared by its unit test and its fuzz target: a
// response the in-place reader accepts must mean to Beast's parser (with the same head limit,
// fed the way the session feeds it) exactly what it means to the reader, and the forwarded
// head written from either reading must be the same bytes.
#pragma once

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <string>
#include <string_view>

#include "proxy/header_rewrite.h"
#include "proxy/http_fields.h"
#include "proxy/simple_response.h"

namespace keygate::testing {

// Empty when both readings of `data` agree; otherwise what differs.
inline std::string simple_response_disagreement(std::string_view data, std::size_t head_limit,
                                                const proxy::SimpleResponse& simple) {
  namespace http = boost::beast::http;
  http::parser<false, http::string_body, proxy::FieldAllocator<char>> parser;
  parser.header_limit(static_cast<std::uint32_t>(head_limit));
  parser.body_limit(boost::none);
  parser.eager(true);
  boost::system::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(data.data(), data.size()), ec);
  if (ec) return "Beast's parser failed: " + ec.message();
  if (!parser.is_done()) return "Beast's parser wants more";
  if (used != simple.head_bytes + simple.body.size()) return "a different length";
  const auto& res = parser.get();
  if (res.result_int() != simple.status || res.version() != simple.version)
    return "a different status line";
  // Beast's reason() stands in the usual phrase for an empty one.
  const std::string_view reason =
      simple.reason.empty() ? std::string_view(http::obsolete_reason(res.result())) : simple.reason;
  if (res.reason() != reason) return "a different reason";
  if (!parser.content_length() || *parser.content_length() != simple.content_length)
    return "a different Content-Length";
  if (res.keep_alive() != simple.keep_alive) return "a different keep-alive";
  if (res.body() != simple.body) return "a different body";
  std::size_t i = 0;
  for (const auto& field : res) {
    if (i == simple.fields.size()) return "more fields";
    if (field.name_string() != simple.fields[i].name || field.value() != simple.fields[i].value)
      return "field " + std::to_string(i) + " is " + std::string(field.name_string()) + ": " +
             std::string(field.value()) + " to Beast, " + std::string(simple.fields[i].name) +
             ": " + std::string(simple.fields[i].value) + " in place";
    ++i;
  }
  if (i != simple.fields.size()) return "fewer fields";

  const std::string_view names[] = {"X-RateLimit-Limit", "Retry-After"};
  const std::string_view added = "X-RateLimit-Limit: 10\r\nRetry-After: 1\r\n";
  for (const unsigned version : {10u, 11u}) {
    for (const bool keep : {false, true}) {
      std::string from_beast;
      std::string from_simple;
      proxy::append_forwarded_response_head(from_beast, res.base(), version, names, added, "id",
                                            parser.content_length(), keep);
      proxy::append_forwarded_simple_head(from_simple, simple, version, names, added, "id", keep);
      if (from_beast != from_simple) return "a different forwarded head:\n" + from_simple;
    }
  }
  return {};
}

}  // namespace keygate::testing
