#include "auth/auth_result.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

namespace keygate::auth {
namespace {

TEST(AuthResult, StatusAndTypePerCode) {
  struct Row {
    AuthCode code;
    int status;
    const char* type;
  };
  const Row rows[] = {
      {AuthCode::missing_api_key, 401, "authentication_error"},
      {AuthCode::invalid_api_key, 401, "authentication_error"},
      {AuthCode::expired_api_key, 401, "authentication_error"},
      {AuthCode::revoked_api_key, 401, "authentication_error"},
      {AuthCode::inactive_api_key, 401, "authentication_error"},
      {AuthCode::insufficient_permissions, 403, "authorization_error"},
      {AuthCode::wrong_environment, 403, "authorization_error"},
      {AuthCode::key_type_not_allowed, 403, "authorization_error"},
      {AuthCode::ip_not_allowed, 403, "authorization_error"},
      {AuthCode::store_unavailable, 503, "service_unavailable"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(http_status(row.code), row.status) << error_code(row.code);
    EXPECT_EQ(error_type(row.code), row.type) << error_code(row.code);
  }
  EXPECT_EQ(http_status(AuthCode::ok), 200);
  EXPECT_EQ(error_body(AuthCode::ok), "");
}

TEST(AuthResult, MessagesFromTheProductPages) {
  EXPECT_EQ(error_message(AuthCode::invalid_api_key), "Invalid API key provided");
  EXPECT_EQ(error_message(AuthCode::insufficient_permissions),
            "API key does not have permission for this operation");
  EXPECT_EQ(error_message(AuthCode::missing_api_key),
            "No API key provided. Use the Authorization: Bearer header.");
  EXPECT_EQ(error_code(AuthCode::store_unavailable), "store_unavailable");
}

TEST(AuthResult, EveryBodyIsValidJsonWithTheRightFields) {
  std::set<std::string_view> codes;
  for (int i = 1; i < kAuthCodeCount; ++i) {
    const auto code = static_cast<AuthCode>(i);
    boost::system::error_code ec;
    const boost::json::value body = boost::json::parse(error_body(code), ec);
    ASSERT_FALSE(ec) << error_body(code);
    const auto& error = body.at("error").as_object();
    EXPECT_EQ(error.at("message").as_string(), error_message(code));
    EXPECT_EQ(error.at("type").as_string(), error_type(code));
    EXPECT_EQ(error.at("code").as_string(), error_code(code));
    EXPECT_FALSE(error_message(code).empty());
    codes.insert(error_code(code));
  }
  EXPECT_EQ(codes.size(), static_cast<std::size_t>(kAuthCodeCount - 1));
}

}  // namespace
}  // namespace keygate::auth
