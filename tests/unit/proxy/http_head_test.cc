// The heads keygate writes itself must be byte for byte what Beast's serializer writes.
#include "proxy/http_head.h"

#include <gtest/gtest.h>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>

namespace keygate::proxy {
namespace {

template <class Message>
std::string beast_bytes(const Message& message) {
  std::ostringstream out;
  out << message;
  return out.str();
}

TEST(HttpHead, RequestHeadMatchesBeast) {
  http::request<http::empty_body, Fields> req{http::verb::get, "/v1/items?x=1", 11};
  req.set(http::field::host, "api.example");
  req.insert("X-Forwarded-For", "10.0.0.1");
  req.insert("X-Custom", "a");
  req.insert("x-custom", "b");  // duplicates are kept, in order
  std::string head;
  append_request_head(head, req.method_string(), req.target(), req.base());
  EXPECT_EQ(head, beast_bytes(req));
}

TEST(HttpHead, StatusLineAndFieldsBuiltByHand) {
  std::string head;
  append_status_line(head, 11, 429, "Too Many Requests");
  append_field(head, "Retry-After", "7");
  EXPECT_EQ(head, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n");
}

}  // namespace
}  // namespace keygate::proxy
