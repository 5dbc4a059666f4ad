// The admin listener (127.0.0.1 by default): /healthz, /readyz, /metrics and, when a
// handler is installed, the management API. It runs on its own thread, so a handler may
// block briefly (a synchronous store call) without touching the data path.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proxy/asio_aliases.h"

namespace keygate::proxy {

struct AdminRequest {
  std::string method;
  std::string target;  // path and query
  std::string authorization;
  std::string body;
};

struct AdminResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// What /readyz answers: 200 {"status":"ready",...} or 503 {"status":"not_ready","reason":...},
// with `details` (JSON members, e.g. `"store":"unreachable"`) added to the object either way.
struct Readiness {
  bool ready = true;
  std::string reason;   // why not
  std::string details;  // comma-separated JSON members without braces; may be empty
};

struct AdminHooks {
  std::function<Readiness()> readiness;
  std::function<std::string()> metrics;  // Prometheus text
  // The management API: answers the requests it owns, nullopt for anything else.
  std::function<std::optional<AdminResponse>(const AdminRequest&)> api;
};

class AdminServer {
 public:
  explicit AdminServer(AdminHooks hooks);
  ~AdminServer();

  // Binds; returns false with a reason when the address cannot be used.
  bool listen(const std::string& address, std::uint16_t port, std::string* error);
  std::uint16_t port() const { return port_; }
  void start();
  void stop();

  void set_api(std::function<std::optional<AdminResponse>(const AdminRequest&)> api);

 private:
  awaitable<void> accept_loop();
  awaitable<void> serve(tcp::socket socket);
  AdminResponse dispatch(const AdminRequest& request);

  AdminHooks hooks_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::thread thread_;
};

}  // namespace keygate::proxy
