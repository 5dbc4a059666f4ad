#include "tests/support/nginx_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/support/free_port.h"
#include "tests/support/keygate_process.h"

namespace keygate::testing {
namespace {

std::string replace_all(std::string text, std::string_view from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

bool accepts(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

NginxProcess::NginxProcess(const std::string& server_body, const std::string& http_extra)
    : dir_(make_temp_dir("nginx")) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = pick_free_port();
    // master_process off: one process, nothing to reap but the one we started.
    const std::string conf =
        "daemon off;\nmaster_process off;\nerror_log " + dir_ + "/error.log info;\npid " + dir_ +
        "/nginx.pid;\nevents { worker_connections 1024; }\nhttp {\n"
        "  access_log off;\n  client_body_temp_path " +
        dir_ + "/body;\n  proxy_temp_path " + dir_ + "/proxy;\n" + "  fastcgi_temp_path " + dir_ +
        "/fastcgi;\n  uwsgi_temp_path " + dir_ + "/uwsgi;\n  scgi_temp_path " + dir_ + "/scgi;\n" +
        http_extra + "\n  server {\n    listen 127.0.0.1:@PORT@;\n" + server_body + "\n  }\n}\n";
    const std::string path = dir_ + "/nginx.conf";
    write_text_file(path,
                    replace_all(replace_all(conf, "@PORT@", std::to_string(port_)), "@DIR@", dir_));
    if (spawn_and_wait(path)) return;
    const auto log = error_log();
    kill();
    if (log.find("Address already in use") == std::string::npos)
      throw std::runtime_error("nginx did not start:\n" + log);
  }
  throw std::runtime_error("nginx found no free port:\n" + error_log());
}

NginxProcess::~NginxProcess() {
  kill();
}

std::string NginxProcess::error_log() const {
  return read_text_file(dir_ + "/error.log");
}

bool NginxProcess::spawn_and_wait(const std::string& conf_path) {
  std::vector<std::string> words = {"/usr/sbin/nginx", "-p", dir_, "-c", conf_path};
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (accepts(port_)) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling with a deadline
  }
  return false;
}

void NginxProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace keygate::testing
