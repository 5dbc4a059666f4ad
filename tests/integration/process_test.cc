// `keygate serve` re-executes itself once with glibc's tcache enlarged (proxy/malloc_tuning.h):
// the process the supervisor started (same pid) serves with the setting, and an operator's own
// tcache_count is kept.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

const std::string kConfig = R"(threads: 1
listeners: [{address: 127.0.0.1, port: 0}]
admin: {address: 127.0.0.1, port: 0}
access_log: {enabled: false}
upstreams: [{name: api, url: "http://127.0.0.1:9"}]
routes: [{match: {path_prefix: /}, upstream: api, auth: none}]
store: {kind: file, file: keys.json}
)";

// The GLIBC_TUNABLES of a running process, from /proc/<pid>/environ; "<unset>" if absent.
std::string tunables_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/environ", std::ios::binary);
  const std::string environ((std::istreambuf_iterator<char>(in)), {});
  std::size_t begin = 0;
  while (begin < environ.size()) {
    const std::size_t end = environ.find('\0', begin);
    const std::string entry = environ.substr(begin, end - begin);
    if (entry.starts_with("GLIBC_TUNABLES=")) return entry.substr(15);
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return "<unset>";
}

KeygateOptions options_with(EnvVars env) {
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  options.env = std::move(env);
  return options;
}

TEST(Process, ServeRunsWithTheLargerTcacheUnderItsOwnPid) {
  KeygateProcess keygate(kConfig, options_with({{"GLIBC_TUNABLES", ""}}));
  EXPECT_EQ(tunables_of(keygate.pid()), "glibc.malloc.tcache_count=128");
  EXPECT_EQ(http_get(keygate.admin_port(), "/healthz").status, 200);
}

TEST(Process, AnOperatorsTcacheCountWins) {
  KeygateProcess keygate(kConfig,
                         options_with({{"GLIBC_TUNABLES", "glibc.malloc.tcache_count=7"}}));
  EXPECT_EQ(tunables_of(keygate.pid()), "glibc.malloc.tcache_count=7");
}

}  // namespace
}  // namespace keygate::testing
