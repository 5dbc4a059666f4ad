// keygate-echo-upstream: the echo upstream as a standalone server, for `make run`, benchmarks
// and poking at keygate by hand.
//
//   keygate-echo-upstream [--port 3000] [--address 127.0.0.1] [--threads 1] [--log]
//
// Prints one JSON line once it is listening: {"msg":"listening","address":...,"port":N}.
// --port 0 picks a free port (read it from that line). Stops on SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>

#include "tests/support/echo_upstream.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: keygate-echo-upstream [--port N] [--address A] [--threads N] [--log]\n";
}

// Shows what keygate forwarded, identity headers included, which is the point of `make run`.
void log_request(const keygate::testing::RecordedRequest& r) {
  static std::mutex mutex;
  std::string line = r.method + " " + r.target + " body_bytes=" + std::to_string(r.body_bytes);
  for (const auto& [name, value] : r.headers) {
    if (name.size() > 10 && std::string_view(name).substr(0, 10) == "X-Keygate-") {
      line += " " + name + "=" + value;
    }
  }
  std::lock_guard lock(mutex);
  std::cout << line << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  keygate::testing::EchoUpstreamOptions options;
  options.port = 3000;
  options.record = false;  // a long-running server would only accumulate the record
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << arg << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (arg == "--port") {
        const int port = std::stoi(value());
        if (port < 0 || port > 65535) throw std::out_of_range("port");
        options.port = static_cast<std::uint16_t>(port);
      } else if (arg == "--address") {
        options.address = value();
      } else if (arg == "--threads") {
        options.threads = std::stoi(value());
      } else if (arg == "--log") {
        options.on_request = log_request;
      } else if (arg == "--help" || arg == "-h") {
        usage(std::cout);
        return 0;
      } else {
        usage(std::cerr);
        return 2;
      }
    } catch (const std::logic_error&) {
      std::cerr << "bad value for " << arg << "\n";
      return 2;
    }
  }

  // Block the stop signals before the server threads exist, so they inherit the mask and
  // only sigwait below ever sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    keygate::testing::EchoUpstream upstream(options);
    std::cout << R"({"msg":"listening","address":")" << upstream.address() << R"(","port":)"
              << upstream.port() << "}" << std::endl;
    int received = 0;
    sigwait(&signals, &received);
    upstream.stop();
  } catch (const std::exception& e) {
    std::cerr << "keygate-echo-upstream: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
