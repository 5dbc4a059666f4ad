// HTTPS upstreams against a real nginx: a pooled connection the upstream closes is replaced by
// one that resumes the TLS session (TLS 1.2 session ids/tickets, TLS 1.3 tickets), as nginx
// itself ($ssl_session_reused) and keygate's metric both say.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "tests/support/free_port.h"
#include "tests/support/http_client.h"
#include "tests/support/keygate_process.h"
#include "tests/support/nginx_process.h"
#include "tests/support/test_certs.h"

namespace keygate::testing {
namespace {

using namespace std::chrono_literals;

// Whether a TCP connection to 127.0.0.1:`port` is in CLOSE_WAIT: its peer (nginx) closed it
// and the local end (keygate's pool) has not yet. /proc/net/tcp: "sl local rem st ...", ports
// and the state in hex (08: CLOSE_WAIT).
bool connection_closed_by_peer(std::uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  char remote[16];
  std::snprintf(remote, sizeof remote, "0100007F:%04X", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, rem, state;
    fields >> slot >> local >> rem >> state;
    if (rem == remote && state == "08") return true;
  }
  return false;
}

template <class Condition>
bool wait_until(Condition condition, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

double metric(const std::string& text, const std::string& series) {
  const auto at = text.find(series + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + series.size() + 1));
}

class UpstreamResumptionTest : public ::testing::TestWithParam<std::string> {
 protected:
  UpstreamResumptionTest()
      : dir_(make_temp_dir("keygate-tls-resume")),
        ca_(dir_),
        cert_(ca_.server("upstream", {"127.0.0.1"})),
        tls_port_(pick_free_port()) {}

  std::string dir_;
  TestCa ca_;
  CertFiles cert_;
  std::uint16_t tls_port_;
};

TEST_P(UpstreamResumptionTest, PooledConnectionClosedByTheUpstreamIsReplacedByAResumedOne) {
  // nginx closes idle keep-alive connections after a second, with close_notify: the pooled
  // connection goes stale and the next request connects again.
  NginxProcess nginx("    listen 127.0.0.1:" + std::to_string(tls_port_) +
                     " ssl;\n"
                     "    ssl_certificate " +
                     cert_.cert + ";\n    ssl_certificate_key " + cert_.key +
                     ";\n"
                     "    ssl_protocols " +
                     GetParam() +
                     ";\n    keepalive_timeout 1s;\n"
                     "    location / { default_type text/plain; "
                     "return 200 \"$ssl_protocol reused=$ssl_session_reused\"; }");
  KeygateOptions options;
  options.files.push_back({"keys.json", R"({"orgs":[],"keys":[]})"});
  KeygateProcess keygate(
      "threads: 1\nlisteners: [{address: 127.0.0.1, port: 0}]\n"
      "admin: {address: 127.0.0.1, port: 0}\n"
      "upstreams: [{name: nginx, url: \"https://127.0.0.1:" +
          std::to_string(tls_port_) + "\", tls: {ca_file: " + ca_.cert_file() +
          "}}]\nroutes: [{name: all, match: {path_prefix: /}, upstream: nginx, auth: none}]\n"
          "store: {kind: file, file: keys.json}\n",
      options);

  auto first = http_get(keygate.proxy_port(), "/first");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body, GetParam() + " reused=.");  // a full handshake

  for (int round = 0; round < 2; ++round) {
    SCOPED_TRACE(round);
    // The upstream closes the pooled connection; keygate has not used it since.
    ASSERT_TRUE(wait_until([&] { return connection_closed_by_peer(tls_port_); }, 10s))
        << "nginx did not close the idle connection";
    auto again = http_get(keygate.proxy_port(), "/again");
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(again.body, GetParam() + " reused=r");  // the session resumed
  }

  const auto metrics = http_get(keygate.admin_port(), "/metrics").body;
  EXPECT_EQ(metric(metrics,
                   "keygate_upstream_tls_handshakes_total{upstream=\"nginx\",resumed=\"false\"}"),
            1);
  EXPECT_EQ(
      metric(metrics, "keygate_upstream_tls_handshakes_total{upstream=\"nginx\",resumed=\"true\"}"),
      2);
  // A stale connection is not an upstream error.
  EXPECT_EQ(metrics.find("keygate_upstream_errors_total{upstream=\"nginx\""), std::string::npos)
      << metrics;
}

INSTANTIATE_TEST_SUITE_P(Versions, UpstreamResumptionTest, ::testing::Values("TLSv1.2", "TLSv1.3"),
                         [](const auto& info) {
                           return info.param == "TLSv1.2" ? std::string("Tls12")
                                                          : std::string("Tls13");
                         });

}  // namespace
}  // namespace keygate::testing
