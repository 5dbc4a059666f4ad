// Small blocking clients for tests, each operation bounded by a deadline.
//
// They are synchronous to the caller but run Asio operations on a private io_context with a
// deadline (the socket is closed when it passes), so a broken or stalled proxy fails a test
// with an error instead of hanging it. SO_RCVTIMEO would not do: Asio's blocking reads poll
// again after EAGAIN.
//
// Bodies move in 64 KiB pieces both ways: a test can download or upload gigabytes and assert
// byte counts and checksums (see BodyChecksum / pattern_checksum in echo_upstream.h) with the
// client's memory staying flat.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keygate::testing {

// Request headers, sent in this order; duplicates are sent as given.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Received headers, in order, looked up case-insensitively.
class Headers {
 public:
  void add(std::string name, std::string value);
  std::optional<std::string> get(std::string_view name) const;  // the first value
  std::string value(std::string_view name) const { return get(name).value_or(""); }
  std::vector<std::string> get_all(std::string_view name) const;
  bool has(std::string_view name) const { return get(name).has_value(); }
  std::size_t count(std::string_view name) const;
  const HeaderList& items() const { return items_; }
  std::size_t size() const { return items_.size(); }

 private:
  HeaderList items_;
};

struct HttpResponse {
  int status = 0;  // 0: no response arrived (see error)
  std::string reason;
  unsigned version = 11;
  Headers headers;
  std::string body;                   // empty when RequestOptions::store_body is false
  std::uint64_t body_bytes = 0;       // always counted
  std::string body_checksum;          // BodyChecksum of the whole body
  bool chunked = false;               // the body came chunked
  bool keep_alive = false;            // the server allows another request on the connection
  std::vector<int> interim_statuses;  // 1xx responses that came first (100, 103, ...)
  std::string error;        // transport error or timeout; empty when the exchange completed
  std::string write_error;  // sending the request failed, but a response was still read

  bool ok() const { return status != 0 && error.empty(); }
  std::optional<std::string> header(std::string_view name) const { return headers.get(name); }
};

struct RequestOptions {
  std::chrono::milliseconds timeout = std::chrono::seconds(10);  // the whole exchange
  bool store_body = true;  // false: count and checksum the response body, keep none of it
  // Upload this many pattern bytes (fill_pattern) instead of `body`, generated piecewise.
  std::optional<std::uint64_t> generated_body_bytes;
  bool chunked = false;  // send the request body with Transfer-Encoding: chunked
  // Send Expect: 100-continue and hold the body until an interim or final response arrives
  // (waits up to the timeout; use RawConnection to test a server that never answers).
  bool expect_continue = false;
  unsigned version = 11;  // 10 for HTTP/1.0
  std::string address = "127.0.0.1";
};

// One request on a fresh connection. Adds Host (unless given) and, when neither
// Content-Length nor Transfer-Encoding is in `headers`, the framing for the body.
HttpResponse http_request(std::uint16_t port, std::string_view method, std::string_view target,
                          const HeaderList& headers = {}, std::string_view body = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
HttpResponse http_request(std::uint16_t port, std::string_view method, std::string_view target,
                          const HeaderList& headers, std::string_view body,
                          const RequestOptions& options);
inline HttpResponse http_get(std::uint16_t port, std::string_view target,
                             const HeaderList& headers = {}) {
  return http_request(port, "GET", target, headers);
}

// Several requests on ONE connection; it never reconnects, so tests can assert exactly when
// the server keeps or closes a connection.
class KeepAliveClient {
 public:
  explicit KeepAliveClient(std::uint16_t port,
                           std::chrono::milliseconds connect_timeout = std::chrono::seconds(5),
                           std::string address = "127.0.0.1");
  ~KeepAliveClient();
  KeepAliveClient(const KeepAliveClient&) = delete;
  KeepAliveClient& operator=(const KeepAliveClient&) = delete;

  bool connected() const;            // connected, and neither side has closed since
  const std::string& error() const;  // why it is not connected

  // Fails (status 0) without sending if the connection is gone; closes it after a response
  // that does not allow keep-alive, or after any error.
  HttpResponse request(std::string_view method, std::string_view target,
                       const HeaderList& headers = {}, std::string_view body = {},
                       const RequestOptions& options = {});
  HttpResponse get(std::string_view target, const HeaderList& headers = {}) {
    return request("GET", target, headers);
  }
  std::size_t requests_sent() const;
  // Waits up to `timeout` for the server to close the connection; true if it did.
  bool wait_peer_closed(std::chrono::milliseconds timeout);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Byte-exact access for smuggling, malformed-request and slow-client tests.
class RawConnection {
 public:
  // receive_buffer_bytes > 0 shrinks SO_RCVBUF before connecting, so a client that stops
  // reading pushes back on the server sooner.
  explicit RawConnection(std::uint16_t port,
                         std::chrono::milliseconds connect_timeout = std::chrono::seconds(5),
                         int receive_buffer_bytes = 0, std::string address = "127.0.0.1");
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const;            // connect succeeded and close() not called
  const std::string& error() const;  // the last failure

  bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Sends `bytes` in `piece`-sized writes with `pause` between them: a deliberately slow
  // client. False as soon as a write fails (the server gave up on us).
  bool send_slowly(std::string_view bytes, std::size_t piece, std::chrono::milliseconds pause,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Whatever arrives first (bytes already buffered come first); "" on timeout or close.
  std::string read_some(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Everything until the peer closes or the deadline passes (check peer_closed()).
  std::string read_until_close(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Discards input until the peer closes; true if it closed (EOF or reset) in time.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Parses one response (skipping no interim responses: a 100 is returned as such). Pass
  // head_request for a response to HEAD, which has no body whatever its headers say.
  HttpResponse read_response(std::chrono::milliseconds timeout = std::chrono::seconds(10),
                             bool head_request = false, bool store_body = true);
  bool peer_closed() const;  // EOF or reset seen

  void shutdown_send();  // half-close: the server reads EOF, we can still read
  void close();
  void abort();  // close with RST (SO_LINGER 0): a client that vanishes mid-exchange

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A tiny WebSocket client (ws:// only).
class WebSocketClient {
 public:
  WebSocketClient(std::uint16_t port, std::string_view target, const HeaderList& headers = {},
                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                  std::string address = "127.0.0.1");
  ~WebSocketClient();
  WebSocketClient(const WebSocketClient&) = delete;
  WebSocketClient& operator=(const WebSocketClient&) = delete;

  bool connected() const;  // the upgrade succeeded (101) and the stream is open
  const std::string& error() const;
  // The answer to the upgrade request: 101 when accepted, else e.g. 401 with its JSON body.
  int handshake_status() const;
  const Headers& handshake_headers() const;
  const std::string& handshake_body() const;

  bool send_text(std::string_view message);
  bool send_binary(std::string_view message);
  std::optional<std::string> read_message();  // nullopt on close, error or timeout
  std::optional<std::string> echo(std::string_view message) {
    if (!send_text(message)) return std::nullopt;
    return read_message();
  }
  bool close();  // the closing handshake

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Resident set size of a process in KiB (VmRSS in /proc/<pid>/status); -1 if unavailable.
long measure_rss_kb(pid_t pid);

// False in an AddressSanitizer build (make asan), whose quarantine and shadow memory make RSS
// bounds meaningless: memory assertions are skipped there, with a message, and hold in the
// normal build that `make test` runs.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRssIsMeaningful = false;
#else
inline constexpr bool kRssIsMeaningful = true;
#endif

}  // namespace keygate::testing
