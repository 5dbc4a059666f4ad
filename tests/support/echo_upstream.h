// An in-process HTTP/1.1 upstream for tests and for `make run`.
//
// It runs on its own io_context and threads, binds 127.0.0.1 port 0 by default, and records
// every request it receives so a test can assert what keygate forwarded (headers added or
// removed, body bytes, which upstream connection carried it). Bodies are always read and
// written in 64 KiB pieces, never held whole, so multi-gigabyte transfers stay flat in memory.
//
// Endpoints, chosen by the last segment(s) of the path so that they work under any route
// prefix (/v1/slow is /slow, /api/status/503 is /status/503); the query selects options:
//   default          200 JSON {"method","target","headers":{...},"body_bytes":N,"body_checksum"}
//   /status/<code>   answers <code> with {"status":<code>} (no body for 204 and 304)
//   /slow?ms=N       waits N ms (a timer, the thread stays free), then answers like default
//   /bytes?n=N       streams N pattern bytes with Content-Length; &chunked=1 uses chunked
//   /stream?ms=N     chunked: "first\n" at once, "last\n" N ms later
//   /upload          consumes the body and answers {"body_bytes":N,"body_checksum":"..."}
//   /ws              accepts a WebSocket upgrade and echoes every message
//   /close           answers like default with Connection: close, then closes
//   /hang            never answers; the connection is released when the peer closes or on stop
// Every answer carries X-Echo-Connection: <connection id> and, for each request header
// `X-Echo-Set-Header: Name: value`, the response header `Name: value` (to test how keygate
// treats response headers it did not produce).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keygate::testing {

// FNV-1a 64 over a byte stream: cheap, incremental, and identical in the upstream and the
// clients, so a test can prove a streamed body arrived intact without storing it.
class BodyChecksum {
 public:
  void update(std::string_view bytes);
  void update(const void* data, std::size_t size);
  std::string hex() const;  // 16 lowercase hex digits

 private:
  std::uint64_t state_ = 14695981039346656037ull;
};

std::string body_checksum(std::string_view bytes);

// The deterministic body /bytes serves and the clients can upload: byte i is 'a' + i % 26.
// `offset` lets a writer produce the stream piecewise.
void fill_pattern(char* out, std::size_t size, std::uint64_t offset);
std::string pattern_bytes(std::size_t size);
// Checksum of the first `size` pattern bytes, computed piecewise without holding them.
std::string pattern_checksum(std::uint64_t size);

struct RecordedRequest {
  std::string method;
  std::string target;                                        // as received: path and query
  unsigned version = 11;                                     // 10 or 11
  std::vector<std::pair<std::string, std::string>> headers;  // in order, duplicates kept
  bool chunked = false;  // the body came with Transfer-Encoding: chunked
  std::uint64_t body_bytes = 0;
  std::string body_checksum;  // BodyChecksum of the whole body
  std::string body;           // the first kBodyKeepBytes of the body
  bool body_truncated = false;
  bool expect_continue = false;             // asked for 100-continue (and got it)
  std::uint64_t connection_id = 0;          // 1-based, in accept order
  std::uint64_t request_on_connection = 0;  // 1 for the first request on a connection

  static constexpr std::size_t kBodyKeepBytes = 1 << 20;

  // Case-insensitive; the first value, or nullopt.
  std::optional<std::string> header(std::string_view name) const;
  bool has_header(std::string_view name) const { return header(name).has_value(); }
  std::size_t header_count(std::string_view name) const;
  std::string path() const;  // target without the query
};

struct EchoUpstreamOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port, read it back with port()
  int threads = 1;
  // Off for long-running use (`make run`, benchmarks), where the record would only grow.
  bool record = true;
  // Called on an upstream thread for every request once its body is read.
  std::function<void(const RecordedRequest&)> on_request;
};

class EchoUpstream {
 public:
  // Binds and starts serving before returning; throws std::runtime_error if it cannot bind.
  explicit EchoUpstream(EchoUpstreamOptions options = {});
  ~EchoUpstream();
  EchoUpstream(const EchoUpstream&) = delete;
  EchoUpstream& operator=(const EchoUpstream&) = delete;

  std::uint16_t port() const;
  const std::string& address() const;
  std::string url() const;  // "http://127.0.0.1:<port>"

  std::vector<RecordedRequest> requests() const;  // a snapshot
  std::size_t request_count() const;
  std::optional<RecordedRequest> last_request() const;
  // Requests are recorded from upstream threads: poll until at least `count` arrived.
  bool wait_for_requests(std::size_t count,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  void clear();  // forgets the recorded requests; counters keep counting

  std::size_t connection_count() const;       // TCP connections accepted since start
  std::size_t open_connection_count() const;  // accepted and not yet closed
  // Polls until open connections drop to `count` (e.g. keygate closed its pool).
  bool wait_for_open_connections(
      std::size_t count, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  std::size_t parse_error_count() const;  // requests it could not parse (answered 400)
  std::size_t websocket_message_count() const;

  // Closes the listener and every connection, joins the threads. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace keygate::testing
