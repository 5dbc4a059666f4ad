// A real nginx (Debian's, with auth_request) run by a test: one process, in the foreground,
// with its configuration, logs and temporary files in a fresh directory.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace keygate::testing {

class NginxProcess {
 public:
  // `server_body` is the inside of one `server {}` block; "@PORT@" in it is replaced by the
  // port nginx listens on (127.0.0.1), "@DIR@" by its directory. `http_extra` goes into the
  // `http {}` block before the server (upstream blocks, maps). Waits until nginx accepts
  // connections; throws std::runtime_error with nginx's error log if it does not start.
  NginxProcess(const std::string& server_body, const std::string& http_extra = "");
  ~NginxProcess();
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;

  std::uint16_t port() const { return port_; }
  std::string error_log() const;

 private:
  bool spawn_and_wait(const std::string& conf_path);
  void kill();

  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace keygate::testing
