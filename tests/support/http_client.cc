#include "tests/support/http_client.h"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <fstream>
#include <limits>
#include <thread>

#include "tests/support/echo_upstream.h"

namespace keygate::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kPiece = 64 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string describe(std::string_view what, beast::error_code ec) {
  return std::string(what) + ": " + ec.message();
}

bool is_peer_gone(beast::error_code ec) {
  return ec == net::error::eof || ec == http::error::end_of_stream ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

// What one Asio operation reported.
struct Outcome {
  beast::error_code ec;
  std::size_t bytes = 0;
};

// The handler of every operation. One type for all of them means each Beast operation template
// is instantiated once, not once per call site: this file is expensive enough to compile.
struct Completion {
  bool* done;
  Outcome* out;
  void operator()(beast::error_code ec, std::size_t bytes = 0) const {
    *done = true;
    out->ec = ec;
    out->bytes = bytes;
  }
};

// One socket driven by a private io_context: each operation runs until it completes or its
// deadline passes. At the deadline the operation is cancelled; if it was a composed operation
// whose partial progress cannot be resumed (`close_on_timeout`), the socket is closed too.
struct Connection {
  net::io_context ioc{1};
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  std::string error;
  bool open = false;
  bool peer_closed = false;

  template <class Start>
  Outcome run(Clock::time_point deadline, Start&& start, bool close_on_timeout = true) {
    return run_on(ioc, socket, deadline, std::forward<Start>(start), close_on_timeout);
  }

  template <class Start>
  static Outcome run_on(net::io_context& ioc, tcp::socket& socket, Clock::time_point deadline,
                        Start&& start, bool close_on_timeout) {
    bool done = false;
    Outcome out;
    start(Completion{&done, &out});
    ioc.restart();
    ioc.run_until(deadline);
    if (done) return out;
    beast::error_code ignored;
    if (close_on_timeout) {
      socket.close(ignored);
    } else {
      socket.cancel(ignored);
    }
    // The cancelled handler still runs (with operation_aborted); let it, so nothing outlives
    // this frame that refers to it.
    ioc.restart();
    ioc.run();
    out.ec = net::error::timed_out;
    return out;
  }

  bool connect(const std::string& address, std::uint16_t port, Clock::time_point deadline,
               int receive_buffer_bytes = 0) {
    beast::error_code ec;
    const auto ip = net::ip::make_address(address, ec);
    if (ec) {
      error = describe("bad address " + address, ec);
      return false;
    }
    const tcp::endpoint endpoint(ip, port);
    socket.open(endpoint.protocol(), ec);
    if (!ec && receive_buffer_bytes > 0) {
      socket.set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes), ec);
    }
    if (ec) {
      error = describe("socket", ec);
      return false;
    }
    const auto result =
        run(deadline, [&](auto handler) { socket.async_connect(endpoint, std::move(handler)); });
    if (result.ec) {
      error = describe("connect to " + address + ":" + std::to_string(port), result.ec);
      return false;
    }
    socket.set_option(tcp::no_delay(true), ec);
    // Beast reads at most the buffer's spare capacity (min 512 bytes): without room, a large
    // body would come in 512-byte reads.
    buffer.reserve(kPiece);
    open = true;
    return true;
  }

  void close() {
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    open = false;
  }
};

std::string host_header(const std::string& address, std::uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

// Reads one response from `c`, body in 64 KiB pieces. Interim 1xx responses (not 101) are
// recorded and skipped when `skip_interim`. Returns false on a transport error (out.error set).
bool read_one_response(Connection& c, Clock::time_point deadline, bool head_request,
                       bool store_body, bool skip_interim, HttpResponse& out) {
  while (true) {
    http::response_parser<http::buffer_body> parser;
    // The tests probe keygate's limits; the client's own must never be the ones that bite.
    parser.header_limit(1024 * 1024);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (head_request) parser.skip(true);
    auto result = c.run(deadline, [&](auto handler) {
      http::async_read_header(c.socket, c.buffer, parser, std::move(handler));
    });
    if (result.ec) {
      if (is_peer_gone(result.ec)) c.peer_closed = true;
      out.error = describe("reading response header", result.ec);
      c.close();
      return false;
    }
    auto& res = parser.get();
    const int status = static_cast<int>(res.result_int());
    if (skip_interim && status >= 100 && status < 200 && status != 101) {
      out.interim_statuses.push_back(status);
      continue;
    }
    out.status = status;
    out.reason = std::string(res.reason());
    out.version = res.version();
    out.headers = Headers{};
    for (const auto& field : res) {
      out.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    out.chunked = parser.chunked();
    out.body.clear();
    out.body_bytes = 0;
    BodyChecksum checksum;
    std::unique_ptr<char[]> piece(new char[kPiece]);
    while (!parser.is_done()) {
      res.body().data = piece.get();
      res.body().size = kPiece;
      result = c.run(deadline, [&](auto handler) {
        http::async_read(c.socket, c.buffer, parser, std::move(handler));
      });
      // need_buffer only means the piece is full.
      if (result.ec == http::error::need_buffer) result.ec = {};
      const std::size_t got = kPiece - res.body().size;
      checksum.update(piece.get(), got);
      out.body_bytes += got;
      if (store_body) out.body.append(piece.get(), got);
      if (result.ec) {
        if (is_peer_gone(result.ec)) c.peer_closed = true;
        out.error = describe("reading response body", result.ec);
        out.body_checksum = checksum.hex();
        c.close();
        return false;
      }
    }
    out.body_checksum = checksum.hex();
    out.keep_alive = !res.need_eof();
    return true;
  }
}

HttpResponse exchange(Connection& c, std::string_view method, std::string_view target,
                      const HeaderList& headers, std::string_view body,
                      const RequestOptions& options, const std::string& host) {
  HttpResponse out;
  const auto deadline = Clock::now() + options.timeout;
  if (!c.open) {
    out.error = c.error.empty() ? "connection is closed" : c.error;
    return out;
  }

  http::request<http::buffer_body> req;
  req.version(options.version);
  const http::verb verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  bool has_host = false;
  bool has_framing = false;
  for (const auto& [name, value] : headers) {
    has_host = has_host || iequals(name, "host");
    has_framing =
        has_framing || iequals(name, "content-length") || iequals(name, "transfer-encoding");
  }
  if (!has_host) req.set(http::field::host, host);
  for (const auto& [name, value] : headers) req.insert(name, value);
  const std::uint64_t total = options.generated_body_bytes.value_or(body.size());
  if (!has_framing) {
    if (options.chunked) {
      req.chunked(true);
    } else if (total > 0 || verb == http::verb::post || verb == http::verb::put ||
               verb == http::verb::patch) {
      req.content_length(total);
    }
  }
  if (options.expect_continue) req.set(http::field::expect, "100-continue");
  req.body().data = nullptr;
  req.body().size = 0;
  req.body().more = true;

  http::request_serializer<http::buffer_body> serializer{req};
  auto result = c.run(deadline, [&](auto handler) {
    http::async_write_header(c.socket, serializer, std::move(handler));
  });
  if (result.ec) {
    out.error = describe("writing request header", result.ec);
    c.close();
    return out;
  }

  const bool head = verb == http::verb::head;
  if (options.expect_continue) {
    // Hold the body until the server says 100, or answers without wanting it.
    while (true) {
      HttpResponse interim;
      if (!read_one_response(c, deadline, head, options.store_body, false, interim)) return interim;
      if (interim.status == 100) {
        out.interim_statuses.push_back(100);
        break;
      }
      if (interim.status > 100 && interim.status < 200 && interim.status != 101) {
        out.interim_statuses.push_back(interim.status);
        continue;
      }
      interim.interim_statuses.insert(interim.interim_statuses.begin(),
                                      out.interim_statuses.begin(), out.interim_statuses.end());
      // The promised body was never sent: the connection's framing is now the server's guess.
      interim.keep_alive = false;
      c.close();
      return interim;
    }
  }

  std::unique_ptr<char[]> piece;
  if (options.generated_body_bytes) piece.reset(new char[kPiece]);
  std::uint64_t sent = 0;
  while (!serializer.is_done()) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, total - sent));
    char* data = nullptr;
    if (n > 0 && piece) {
      fill_pattern(piece.get(), n, sent);
      data = piece.get();
    } else if (n > 0) {
      data = const_cast<char*>(body.data() + sent);
    }
    req.body().data = data;
    req.body().size = n;
    req.body().more = sent + n < total;
    result = c.run(deadline, [&](auto handler) {
      http::async_write(c.socket, serializer, std::move(handler));
    });
    if (result.ec == http::error::need_buffer) result.ec = {};
    if (result.ec == net::error::timed_out) {
      out.error = describe("writing request body", result.ec);
      return out;
    }
    if (result.ec) {
      // The server may have answered early (401 before a large upload) and closed: the
      // answer is still worth reading.
      out.write_error = describe("writing request body", result.ec);
      break;
    }
    sent += n;
    if (n == 0 && !req.body().more) break;
  }

  read_one_response(c, deadline, head, options.store_body, true, out);
  if (!out.error.empty() || !out.keep_alive || !out.write_error.empty()) c.close();
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Headers

void Headers::add(std::string name, std::string value) {
  items_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string> Headers::get(std::string_view name) const {
  for (const auto& [n, v] : items_) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::vector<std::string> Headers::get_all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : items_) {
    if (iequals(n, name)) out.push_back(v);
  }
  return out;
}

std::size_t Headers::count(std::string_view name) const {
  return get_all(name).size();
}

// ---------------------------------------------------------------------------------------------
// One-shot requests

HttpResponse http_request(std::uint16_t port, std::string_view method, std::string_view target,
                          const HeaderList& headers, std::string_view body,
                          std::chrono::milliseconds timeout) {
  RequestOptions options;
  options.timeout = timeout;
  return http_request(port, method, target, headers, body, options);
}

HttpResponse http_request(std::uint16_t port, std::string_view method, std::string_view target,
                          const HeaderList& headers, std::string_view body,
                          const RequestOptions& options) {
  Connection c;
  if (!c.connect(options.address, port, Clock::now() + options.timeout)) {
    HttpResponse out;
    out.error = c.error;
    return out;
  }
  auto out =
      exchange(c, method, target, headers, body, options, host_header(options.address, port));
  c.close();
  return out;
}

// ---------------------------------------------------------------------------------------------
// KeepAliveClient

struct KeepAliveClient::Impl {
  Connection connection;
  std::string host;
  std::size_t sent = 0;
};

KeepAliveClient::KeepAliveClient(std::uint16_t port, std::chrono::milliseconds connect_timeout,
                                 std::string address)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = host_header(address, port);
  impl_->connection.connect(address, port, Clock::now() + connect_timeout);
}

KeepAliveClient::~KeepAliveClient() {
  close();
}

bool KeepAliveClient::connected() const {
  return impl_->connection.open;
}
const std::string& KeepAliveClient::error() const {
  return impl_->connection.error;
}
std::size_t KeepAliveClient::requests_sent() const {
  return impl_->sent;
}

HttpResponse KeepAliveClient::request(std::string_view method, std::string_view target,
                                      const HeaderList& headers, std::string_view body,
                                      const RequestOptions& options) {
  if (impl_->connection.open) ++impl_->sent;
  auto out = exchange(impl_->connection, method, target, headers, body, options, impl_->host);
  if (!out.error.empty()) impl_->connection.error = out.error;
  return out;
}

bool KeepAliveClient::wait_peer_closed(std::chrono::milliseconds timeout) {
  auto& c = impl_->connection;
  if (!c.open) return c.peer_closed;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto result = c.run(
        deadline,
        [&](auto handler) {
          c.socket.async_read_some(c.buffer.prepare(kPiece), std::move(handler));
        },
        /*close_on_timeout=*/false);
    c.buffer.commit(result.bytes);
    if (result.ec == net::error::timed_out) return false;
    if (result.ec) {
      c.peer_closed = is_peer_gone(result.ec);
      c.close();
      return c.peer_closed;
    }
  }
}

void KeepAliveClient::close() {
  if (impl_->connection.open) impl_->connection.close();
}

// ---------------------------------------------------------------------------------------------
// RawConnection

struct RawConnection::Impl {
  Connection connection;
};

RawConnection::RawConnection(std::uint16_t port, std::chrono::milliseconds connect_timeout,
                             int receive_buffer_bytes, std::string address)
    : impl_(std::make_unique<Impl>()) {
  impl_->connection.connect(address, port, Clock::now() + connect_timeout, receive_buffer_bytes);
}

RawConnection::~RawConnection() {
  close();
}

bool RawConnection::connected() const {
  return impl_->connection.open;
}
const std::string& RawConnection::error() const {
  return impl_->connection.error;
}
bool RawConnection::peer_closed() const {
  return impl_->connection.peer_closed;
}

bool RawConnection::send(std::string_view bytes, std::chrono::milliseconds timeout) {
  auto& c = impl_->connection;
  if (!c.open) {
    if (c.error.empty()) c.error = "send on a closed connection";
    return false;
  }
  const auto result = c.run(Clock::now() + timeout, [&](auto handler) {
    net::async_write(c.socket, net::buffer(bytes.data(), bytes.size()), std::move(handler));
  });
  if (result.ec) {
    if (is_peer_gone(result.ec)) c.peer_closed = true;
    c.error = describe("send", result.ec);
    return false;
  }
  return true;
}

bool RawConnection::send_slowly(std::string_view bytes, std::size_t piece,
                                std::chrono::milliseconds pause,
                                std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  piece = std::max<std::size_t>(piece, 1);
  for (std::size_t offset = 0; offset < bytes.size(); offset += piece) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !send(bytes.substr(offset, piece), left)) return false;
    // The pause is the point: this is a slow client, not a wait for readiness.
    if (offset + piece < bytes.size()) std::this_thread::sleep_for(pause);
  }
  return true;
}

std::string RawConnection::read_some(std::chrono::milliseconds timeout) {
  auto& c = impl_->connection;
  if (c.buffer.size() > 0) {
    std::string out = beast::buffers_to_string(c.buffer.data());
    c.buffer.consume(c.buffer.size());
    return out;
  }
  if (!c.open) return "";
  std::string out(kPiece, '\0');
  const auto result = c.run(
      Clock::now() + timeout,
      [&](auto handler) { c.socket.async_read_some(net::buffer(out), std::move(handler)); },
      /*close_on_timeout=*/false);
  out.resize(result.bytes);
  if (result.ec && result.ec != net::error::timed_out) {
    c.peer_closed = is_peer_gone(result.ec);
    c.error = describe("read", result.ec);
    c.close();
  }
  return out;
}

std::string RawConnection::read_until_close(std::chrono::milliseconds timeout) {
  auto& c = impl_->connection;
  const auto deadline = Clock::now() + timeout;
  std::string out;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (c.buffer.size() == 0 && (!c.open || left.count() <= 0)) return out;
    out += read_some(std::max(left, std::chrono::milliseconds(0)));
  }
}

bool RawConnection::wait_closed(std::chrono::milliseconds timeout) {
  auto& c = impl_->connection;
  const auto deadline = Clock::now() + timeout;
  c.buffer.consume(c.buffer.size());
  while (c.open) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    read_some(left);
  }
  return c.peer_closed;
}

HttpResponse RawConnection::read_response(std::chrono::milliseconds timeout, bool head_request,
                                          bool store_body) {
  HttpResponse out;
  auto& c = impl_->connection;
  if (!c.open && c.buffer.size() == 0) {
    out.error = "connection is closed";
    return out;
  }
  read_one_response(c, Clock::now() + timeout, head_request, store_body, false, out);
  return out;
}

void RawConnection::shutdown_send() {
  beast::error_code ignored;
  impl_->connection.socket.shutdown(tcp::socket::shutdown_send, ignored);
}

void RawConnection::close() {
  if (impl_->connection.open) impl_->connection.close();
}

void RawConnection::abort() {
  auto& c = impl_->connection;
  if (!c.open) return;
  beast::error_code ignored;
  c.socket.set_option(net::socket_base::linger(true, 0), ignored);
  c.socket.close(ignored);
  c.open = false;
}

// ---------------------------------------------------------------------------------------------
// WebSocketClient

struct WebSocketClient::Impl {
  net::io_context ioc{1};
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;
  std::chrono::milliseconds timeout;
  bool open = false;
  std::string error;
  int status = 0;
  Headers headers;
  std::string body;

  template <class Start>
  Outcome run(Start&& start) {
    return Connection::run_on(ioc, beast::get_lowest_layer(ws), Clock::now() + timeout,
                              std::forward<Start>(start), true);
  }

  bool fail(std::string_view what, beast::error_code ec) {
    error = describe(what, ec);
    beast::error_code ignored;
    beast::get_lowest_layer(ws).close(ignored);
    open = false;
    return false;
  }
};

WebSocketClient::WebSocketClient(std::uint16_t port, std::string_view target,
                                 const HeaderList& headers, std::chrono::milliseconds timeout,
                                 std::string address)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  auto& socket = beast::get_lowest_layer(impl_->ws);
  beast::error_code ec;
  const auto ip = net::ip::make_address(address, ec);
  if (ec) {
    impl_->fail("bad address " + address, ec);
    return;
  }
  const tcp::endpoint endpoint(ip, port);
  auto result =
      impl_->run([&](auto handler) { socket.async_connect(endpoint, std::move(handler)); });
  if (result.ec) {
    impl_->fail("connect", result.ec);
    return;
  }
  impl_->ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [name, value] : headers) req.set(name, value);
  }));
  websocket::response_type res;
  const std::string host = host_header(address, port);
  result = impl_->run(
      [&](auto handler) { impl_->ws.async_handshake(res, host, target, std::move(handler)); });
  impl_->status = static_cast<int>(res.result_int());
  for (const auto& field : res) {
    impl_->headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  impl_->body = res.body();
  if (result.ec) {
    impl_->fail("handshake", result.ec);
    return;
  }
  impl_->open = true;
}

WebSocketClient::~WebSocketClient() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).close(ignored);
}

bool WebSocketClient::connected() const {
  return impl_->open;
}
const std::string& WebSocketClient::error() const {
  return impl_->error;
}
int WebSocketClient::handshake_status() const {
  return impl_->status;
}
const Headers& WebSocketClient::handshake_headers() const {
  return impl_->headers;
}
const std::string& WebSocketClient::handshake_body() const {
  return impl_->body;
}

bool WebSocketClient::send_text(std::string_view message) {
  if (!impl_->open) return false;
  impl_->ws.text(true);
  const auto result = impl_->run([&](auto handler) {
    impl_->ws.async_write(net::buffer(message.data(), message.size()), std::move(handler));
  });
  return result.ec ? impl_->fail("send", result.ec) : true;
}

bool WebSocketClient::send_binary(std::string_view message) {
  if (!impl_->open) return false;
  impl_->ws.binary(true);
  const auto result = impl_->run([&](auto handler) {
    impl_->ws.async_write(net::buffer(message.data(), message.size()), std::move(handler));
  });
  return result.ec ? impl_->fail("send", result.ec) : true;
}

std::optional<std::string> WebSocketClient::read_message() {
  if (!impl_->open) return std::nullopt;
  impl_->buffer.consume(impl_->buffer.size());
  const auto result =
      impl_->run([&](auto handler) { impl_->ws.async_read(impl_->buffer, std::move(handler)); });
  if (result.ec) {
    impl_->fail("read", result.ec);
    return std::nullopt;
  }
  return beast::buffers_to_string(impl_->buffer.data());
}

bool WebSocketClient::close() {
  if (!impl_->open) return false;
  const auto result = impl_->run([&](auto handler) {
    impl_->ws.async_close(websocket::close_code::normal, std::move(handler));
  });
  impl_->open = false;
  return !result.ec;
}

// ---------------------------------------------------------------------------------------------

long measure_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) {
      try {
        return std::stol(line.substr(6));
      } catch (const std::exception&) {
        return -1;
      }
    }
  }
  return -1;
}

}  // namespace keygate::testing
