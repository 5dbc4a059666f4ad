#include "tests/support/scripted_upstream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace keygate::testing {
namespace {

// Waits up to `ms` for `fd` to be readable; false on timeout or error.
bool readable(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

std::size_t content_length(const std::string& head) {
  std::string lower(head);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return 0;
  return std::strtoull(lower.c_str() + at + 17, nullptr, 10);
}

bool write_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

struct ScriptedUpstream::Impl {
  ScriptedUpstreamOptions options;
  int listener = -1;
  std::uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> requests{0}, extras{0}, connections{0}, unanswered{0};
  mutable std::mutex mutex;
  std::vector<std::string> heads;
  std::vector<std::thread> threads;  // guarded by mutex
  std::thread acceptor;

  void serve(int fd) {
    std::string buffer;
    char chunk[16384];
    for (std::size_t answered = 0; !stopping; ++answered) {
      // One request: the head, then a Content-Length body.
      std::size_t head_end;
      while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        if (!readable(fd, 100)) {
          if (stopping) break;
          continue;
        }
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) {
          ::close(fd);
          return;
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      if (stopping) break;
      const std::string head = buffer.substr(0, head_end + 4);
      const auto total = head.size() + content_length(head);
      while (buffer.size() < total) {
        if (!readable(fd, 1000)) break;
        const auto n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buffer.append(chunk, static_cast<std::size_t>(n));
      }
      buffer.erase(0, std::min(total, buffer.size()));
      {
        std::lock_guard lock(mutex);
        heads.push_back(head);
      }
      ++requests;
      if (options.answers_per_connection != 0 && answered == options.answers_per_connection) {
        ++unanswered;
        break;
      }
      if (!write_all(fd, options.response)) break;
      if (!options.extra.empty()) {
        std::this_thread::sleep_for(options.extra_delay);  // the misbehaviour, not a wait
        if (!write_all(fd, options.extra)) break;
        ++extras;
      }
    }
    ::close(fd);
  }

  void accept_loop() {
    while (!stopping) {
      if (!readable(listener, 100)) continue;
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) continue;
      ++connections;
      std::lock_guard lock(mutex);
      threads.emplace_back([this, fd] { serve(fd); });
    }
  }
};

ScriptedUpstream::ScriptedUpstream(ScriptedUpstreamOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (impl_->listener < 0 ||
      ::bind(impl_->listener, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(impl_->listener, 64) != 0 ||
      ::getsockname(impl_->listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("scripted upstream: cannot listen on 127.0.0.1");
  impl_->port = ntohs(addr.sin_port);
  impl_->acceptor = std::thread([this] { impl_->accept_loop(); });
}

ScriptedUpstream::~ScriptedUpstream() {
  stop();
}

void ScriptedUpstream::stop() {
  if (impl_->stopping.exchange(true)) return;
  impl_->acceptor.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(impl_->mutex);
    threads.swap(impl_->threads);
  }
  for (auto& t : threads) t.join();
  ::close(impl_->listener);
}

std::uint16_t ScriptedUpstream::port() const {
  return impl_->port;
}
std::string ScriptedUpstream::url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port);
}
std::size_t ScriptedUpstream::requests() const {
  return impl_->requests;
}
std::size_t ScriptedUpstream::extras_sent() const {
  return impl_->extras;
}
std::size_t ScriptedUpstream::connections() const {
  return impl_->connections;
}
std::size_t ScriptedUpstream::unanswered() const {
  return impl_->unanswered;
}

std::vector<std::string> ScriptedUpstream::heads() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->heads;
}

bool ScriptedUpstream::wait_for_extras(std::size_t count, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (extras_sent() >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // polling with a deadline
  }
  return extras_sent() >= count;
}

}  // namespace keygate::testing
