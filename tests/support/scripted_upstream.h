// A deliberately misbehaving HTTP/1.1 upstream for security tests: it answers every request
// with fixed bytes and may then send more bytes nobody asked for (a second response after a
// 204, data past a Content-Length), as a buggy or hostile backend would.
//
// Plain blocking sockets on threads of its own, binding 127.0.0.1 port 0. It understands just
// enough HTTP to find where a request ends (Content-Length bodies; no chunked requests), and
// records every request head it read so a test can assert what keygate sent.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace keygate::testing {

struct ScriptedUpstreamOptions {
  std::string response;  // sent whole after each request
  // Sent after `response`, `extra_delay` later, as a separate write: it reaches keygate while
  // the connection sits idle in its pool.
  std::string extra;
  std::chrono::milliseconds extra_delay{10};
  // After this many answers on a connection, the next request on it is read and the
  // connection closed unanswered, as an upstream closing an idle keep-alive connection just as
  // a request reaches it (0: every request is answered).
  std::size_t answers_per_connection = 0;
};

class ScriptedUpstream {
 public:
  explicit ScriptedUpstream(ScriptedUpstreamOptions options);
  ~ScriptedUpstream();
  ScriptedUpstream(const ScriptedUpstream&) = delete;
  ScriptedUpstream& operator=(const ScriptedUpstream&) = delete;

  std::uint16_t port() const;
  std::string url() const;
  std::size_t requests() const;            // request heads read so far
  std::size_t extras_sent() const;         // times `extra` was written
  std::size_t connections() const;         // accepted so far
  std::size_t unanswered() const;          // requests whose connection was closed instead
  std::vector<std::string> heads() const;  // every request head, as received
  // Polls until extras_sent() reaches `count`.
  bool wait_for_extras(std::size_t count,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keygate::testing
