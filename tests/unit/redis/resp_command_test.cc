#include "redis/resp_command.h"

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <string>
#include <vector>

#include "redis/argv.h"

namespace keygate::redis {
namespace {

// What hiredis itself would send for the same arguments.
std::string hiredis_format(const std::vector<std::string_view>& args) {
  Argv argv(args);
  char* target = nullptr;
  const long long n =
      redisFormatCommandArgv(&target, argv.count(), argv.pointers(), argv.lengths());
  std::string out(target, static_cast<std::size_t>(n));
  redisFreeCommand(target);
  return out;
}

TEST(RespCommand, MatchesHiredisByteForByte) {
  const std::string binary("a\0b\r\nc", 6);
  std::string big(70000, 'x');
  const std::vector<std::vector<std::string_view>> cases = {
      {"PING"},
      {"SET", "k", ""},
      {"EVALSHA", "0123456789abcdef0123456789abcdef01234567", "2", "kg:{a}:1", "kg:{b}:2", ""},
      {"SET", binary, big},
  };
  for (const auto& args : cases) {
    std::string out;
    append_command(out, args);
    EXPECT_EQ(out, hiredis_format(args)) << args[0];
  }
}

TEST(RespCommand, AppendsAfterWhatIsThere) {
  std::string out = "*1\r\n$4\r\nPING\r\n";
  const std::vector<std::string_view> args = {"GET", "key"};
  append_command(out, args);
  EXPECT_EQ(out, "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n");
}

}  // namespace
}  // namespace keygate::redis
