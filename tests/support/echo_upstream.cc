#include "tests/support/echo_upstream.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace keygate::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

// ---------------------------------------------------------------------------------------------
// Checksums and the body pattern

void BodyChecksum::update(const void* data, std::size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = state_;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  state_ = h;
}

void BodyChecksum::update(std::string_view bytes) {
  update(bytes.data(), bytes.size());
}

std::string BodyChecksum::hex() const {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(state_));
  return out;
}

std::string body_checksum(std::string_view bytes) {
  BodyChecksum c;
  c.update(bytes);
  return c.hex();
}

namespace {

constexpr std::size_t kPiece = 64 * 1024;

// kPiece bytes of pattern plus one period of slack, so any offset can be served from it
// without copying.
const char* pattern_source() {
  static const std::string source = [] {
    std::string s(kPiece + 26, '\0');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
  }();
  return source.data();
}

}  // namespace

void fill_pattern(char* out, std::size_t size, std::uint64_t offset) {
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (offset + i) % 26);
}

std::string pattern_bytes(std::size_t size) {
  std::string s(size, '\0');
  fill_pattern(s.data(), size, 0);
  return s;
}

std::string pattern_checksum(std::uint64_t size) {
  BodyChecksum c;
  std::uint64_t offset = 0;
  while (offset < size) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, size - offset));
    c.update(pattern_source() + offset % 26, n);
    offset += n;
  }
  return c.hex();
}

// ---------------------------------------------------------------------------------------------
// RecordedRequest

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Endpoints are chosen by the path's last segment (or last two for status/<code>), so they
// work under whatever route prefix keygate forwards: /v1/slow, /api/x/status/503, /v1/ws.
std::string_view last_segment(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parent_segment(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : last_segment(path.substr(0, slash));
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return std::string(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::size_t RecordedRequest::header_count(std::string_view name) const {
  return static_cast<std::size_t>(std::count_if(
      headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); }));
}

std::string RecordedRequest::path() const {
  return std::string(path_of(target));
}

// ---------------------------------------------------------------------------------------------
// Server

namespace {

// What outlives the EchoUpstream object's threads: sessions hold it until they are destroyed.
struct State {
  EchoUpstreamOptions options;
  mutable std::mutex mutex;
  std::vector<RecordedRequest> requests;
  std::atomic<std::size_t> request_total{0};
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::size_t> open_connections{0};
  std::atomic<std::size_t> parse_errors{0};
  std::atomic<std::size_t> websocket_messages{0};

  void record(const RecordedRequest& r) {
    if (options.record) {
      std::lock_guard lock(mutex);
      requests.push_back(r);
    }
    request_total.fetch_add(1);
    if (options.on_request) options.on_request(r);
  }
};

// Counts a connection as open for exactly as long as some session owns its socket; it moves
// from the HTTP session to the WebSocket session on upgrade.
class OpenConnection {
 public:
  explicit OpenConnection(std::shared_ptr<State> state) : state_(std::move(state)) {
    state_->open_connections.fetch_add(1);
  }
  OpenConnection(OpenConnection&& other) noexcept : state_(std::move(other.state_)) {}
  OpenConnection& operator=(OpenConnection&&) = delete;
  ~OpenConnection() {
    if (state_) state_->open_connections.fetch_sub(1);
  }

 private:
  std::shared_ptr<State> state_;
};

class WebSocketSession : public std::enable_shared_from_this<WebSocketSession> {
 public:
  WebSocketSession(tcp::socket socket, std::shared_ptr<State> state, OpenConnection token)
      : ws_(std::move(socket)), state_(std::move(state)), token_(std::move(token)) {}

  template <class Request>
  void run(const Request& req) {
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "keygate-echo"); }));
    ws_.async_accept(req,
                     beast::bind_front_handler(&WebSocketSession::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec) {
    if (!ec) do_read();
  }

  void do_read() {
    ws_.async_read(buffer_,
                   beast::bind_front_handler(&WebSocketSession::on_read, shared_from_this()));
  }

  // On any error the session simply ends with its last handler.
  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return;
    state_->websocket_messages.fetch_add(1);
    ws_.text(ws_.got_text());
    ws_.async_write(buffer_.data(),
                    beast::bind_front_handler(&WebSocketSession::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t n) {
    if (ec) return;
    buffer_.consume(n);
    do_read();
  }

  websocket::stream<tcp::socket> ws_;
  beast::flat_buffer buffer_;
  std::shared_ptr<State> state_;
  OpenConnection token_;
};

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, std::shared_ptr<State> state, std::uint64_t connection_id)
      : socket_(std::move(socket)),
        state_(std::move(state)),
        token_(state_),
        connection_id_(connection_id),
        timer_(socket_.get_executor()),
        body_buffer_(new char[kPiece]) {
    // Beast reads at most the buffer's spare capacity (min 512 bytes): without room, an
    // upload would come in 512-byte reads.
    buffer_.reserve(kPiece);
  }

  void start() {
    net::dispatch(socket_.get_executor(),
                  beast::bind_front_handler(&HttpSession::read_header, shared_from_this()));
  }

 private:
  using Parser = http::request_parser<http::buffer_body>;

  // Every read and write completes into a member function through this one handler type, so
  // each Beast operation is instantiated once per message type (this file is slow to build).
  auto handler(void (HttpSession::*member)(beast::error_code, std::size_t)) {
    return beast::bind_front_handler(member, shared_from_this());
  }

  void read_header() {
    parser_.emplace();
    // Never the tighter limit: tests probe keygate's limits, not this server's.
    parser_->header_limit(1024 * 1024);
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(socket_, buffer_, *parser_, handler(&HttpSession::on_header));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) return on_read_error(ec);
    const auto& req = parser_->get();
    ++requests_on_connection_;
    current_ = RecordedRequest{};
    current_.method = std::string(req.method_string());
    current_.target = std::string(req.target());
    current_.version = req.version();
    for (const auto& field : req) {
      current_.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    current_.chunked = parser_->chunked();
    current_.connection_id = connection_id_;
    current_.request_on_connection = requests_on_connection_;
    checksum_ = BodyChecksum{};

    if (websocket::is_upgrade(req) && last_segment(path_of(req.target())) == "ws") {
      current_.body_checksum = checksum_.hex();
      state_->record(current_);
      auto ws = std::make_shared<WebSocketSession>(std::move(socket_), state_, std::move(token_));
      ws->run(req);
      return;
    }

    if (req.version() >= 11 && iequals(req[http::field::expect], "100-continue")) {
      current_.expect_continue = true;
      auto interim =
          std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      pending_ = interim;
      http::async_write(socket_, *interim, handler(&HttpSession::on_continue_sent));
      return;
    }
    read_body();
  }

  void on_continue_sent(beast::error_code ec, std::size_t) {
    pending_.reset();
    if (ec) return close();
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return on_request();
    parser_->get().body().data = body_buffer_.get();
    parser_->get().body().size = kPiece;
    http::async_read(socket_, buffer_, *parser_, handler(&HttpSession::on_body));
  }

  void on_body(beast::error_code ec, std::size_t) {
    // need_buffer only says the 64 KiB piece is full: take it and ask for more.
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return on_read_error(ec);
    const std::size_t got = kPiece - parser_->get().body().size;
    checksum_.update(body_buffer_.get(), got);
    if (current_.body.size() < RecordedRequest::kBodyKeepBytes) {
      const std::size_t keep =
          std::min(got, RecordedRequest::kBodyKeepBytes - current_.body.size());
      current_.body.append(body_buffer_.get(), keep);
      if (keep < got) current_.body_truncated = true;
    } else if (got > 0) {
      current_.body_truncated = true;
    }
    current_.body_bytes += got;
    read_body();
  }

  void on_read_error(beast::error_code ec) {
    // A clean close between requests or mid-message is the peer's business; anything else
    // from the parser is a malformed request that a test may want to count.
    const bool parse_error =
        ec.category() == http::make_error_code(http::error::bad_method).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message;
    if (!parse_error) return close();
    state_->parse_errors.fetch_add(1);
    auto res = std::make_shared<http::response<http::string_body>>(http::status::bad_request, 11);
    res->set(http::field::server, "keygate-echo");
    res->set(http::field::content_type, "application/json");
    res->keep_alive(false);
    res->body() = boost::json::serialize(boost::json::object{{"error", ec.message()}});
    res->prepare_payload();
    write(res);
  }

  void on_request() {
    current_.body_checksum = checksum_.hex();
    state_->record(current_);

    const std::string_view path = path_of(current_.target);
    const std::string_view endpoint = last_segment(path);
    if (parent_segment(path) == "status") {
      const auto code = to_u64(endpoint);
      if (!code || *code < 200 || *code > 599) {
        return send_json(http::status::bad_request, {{"error", "status must be 200..599"}});
      }
      return send_json(static_cast<unsigned>(*code),
                       {{"status", static_cast<std::uint64_t>(*code)}});
    }
    if (endpoint == "slow") {
      const auto ms = to_u64(query_param(current_.target, "ms").value_or("1000"));
      timer_.expires_after(std::chrono::milliseconds(ms.value_or(1000)));
      timer_.async_wait(beast::bind_front_handler(&HttpSession::on_slow_timer, shared_from_this()));
      return;
    }
    if (endpoint == "bytes") {
      const auto n = to_u64(query_param(current_.target, "n").value_or("0"));
      if (!n) return send_json(http::status::bad_request, {{"error", "n must be a number"}});
      return send_bytes(*n, query_param(current_.target, "chunked").value_or("0") == "1");
    }
    if (endpoint == "stream") {
      const auto ms = to_u64(query_param(current_.target, "ms").value_or("1000"));
      return send_stream(std::chrono::milliseconds(ms.value_or(1000)));
    }
    if (endpoint == "upload") {
      return send_json(http::status::ok, {{"body_bytes", current_.body_bytes},
                                          {"body_checksum", current_.body_checksum}});
    }
    if (endpoint == "hang") return hang();
    send_json(http::status::ok, echo_json(), /*close_after=*/endpoint == "close");
  }

  void on_slow_timer(beast::error_code ec) {
    if (ec) return close();
    send_json(http::status::ok, echo_json());
  }

  boost::json::object echo_json() const {
    boost::json::object headers;
    for (const auto& [name, value] : current_.headers) {
      const std::string key = lower(name);
      if (auto* existing = headers.if_contains(key)) {
        *existing = std::string(existing->as_string()) + ", " + value;
      } else {
        headers[key] = value;
      }
    }
    return {{"method", current_.method},
            {"target", current_.target},
            {"headers", std::move(headers)},
            {"body_bytes", current_.body_bytes},
            {"body_checksum", current_.body_checksum}};
  }

  // Headers every answer carries: which connection served it and any the test asked for.
  template <class Message>
  void decorate(Message& res, bool close_after) const {
    // Beast knows no reason phrase for codes like 418 and would send "<unknown-status>".
    if (http::int_to_status(res.result_int()) == http::status::unknown) res.reason("Unknown");
    res.set(http::field::server, "keygate-echo");
    res.set("X-Echo-Connection", std::to_string(connection_id_));
    for (const auto& [name, value] : current_.headers) {
      if (!iequals(name, "X-Echo-Set-Header")) continue;
      const auto colon = value.find(':');
      if (colon == std::string::npos) continue;
      res.insert(trim(std::string_view(value).substr(0, colon)),
                 trim(std::string_view(value).substr(colon + 1)));
    }
    res.keep_alive(!close_after && parser_->get().keep_alive());
  }

  void send_json(http::status status, const boost::json::object& body, bool close_after = false) {
    send_json(static_cast<unsigned>(status), body, close_after);
  }

  void send_json(unsigned status, const boost::json::object& body, bool close_after = false) {
    const unsigned version = parser_->get().version();
    std::string text = boost::json::serialize(body);
    const bool no_body = status == 204 || status == 304;
    if (no_body || parser_->get().method() == http::verb::head) {
      // HEAD and bodiless statuses still announce what a GET would have carried.
      auto res = std::make_shared<http::response<http::empty_body>>(
          static_cast<http::status>(status), version);
      decorate(*res, close_after);
      if (!no_body) {
        res->set(http::field::content_type, "application/json");
        res->content_length(text.size());
      }
      return write(res);
    }
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(status), version);
    decorate(*res, close_after);
    res->set(http::field::content_type, "application/json");
    res->body() = std::move(text);
    res->prepare_payload();
    write(res);
  }

  template <class Message>
  void write(std::shared_ptr<Message> res) {
    close_after_ = res->need_eof();
    pending_ = res;
    http::async_write(socket_, *res, handler(&HttpSession::on_written));
  }

  void on_written(beast::error_code ec, std::size_t) {
    pending_.reset();
    if (ec || close_after_) return close();
    read_header();
  }

  void send_bytes(std::uint64_t n, bool chunked) {
    if (parser_->get().method() == http::verb::head) {
      auto res = std::make_shared<http::response<http::empty_body>>(http::status::ok,
                                                                    parser_->get().version());
      decorate(*res, false);
      res->set(http::field::content_type, "application/octet-stream");
      // Announcing chunked here would make the serializer emit a last-chunk: HEAD gets the
      // length a plain GET would have.
      res->content_length(n);
      return write(res);
    }
    bytes_response_.emplace(http::status::ok, parser_->get().version());
    auto& res = *bytes_response_;
    decorate(res, false);
    res.set(http::field::content_type, "application/octet-stream");
    if (chunked) {
      res.chunked(true);
    } else {
      res.content_length(n);
    }
    bytes_left_ = n;
    bytes_offset_ = 0;
    serializer_.emplace(res);
    write_bytes_piece();
  }

  // Serves the pattern straight from its static source, one piece per write, so the memory
  // used is the same for 1 byte and 10 GiB.
  void write_bytes_piece() {
    auto& body = bytes_response_->body();
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kPiece, bytes_left_));
    body.data = n ? const_cast<char*>(pattern_source() + bytes_offset_ % 26) : nullptr;
    body.size = n;
    body.more = bytes_left_ > n;
    bytes_left_ -= n;
    bytes_offset_ += n;
    http::async_write(socket_, *serializer_, handler(&HttpSession::on_bytes_written));
  }

  void on_bytes_written(beast::error_code ec, std::size_t) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return close();
    if (!serializer_->is_done()) return write_bytes_piece();
    const bool close_after = bytes_response_->need_eof();
    serializer_.reset();
    bytes_response_.reset();
    if (close_after) return close();
    read_header();
  }

  // A chunked answer in two pieces: "first\n" at once, "last\n" after `pause`. A proxy that
  // waits for a full buffer instead of streaming holds the first piece back.
  void send_stream(std::chrono::milliseconds pause) {
    static constexpr std::string_view kFirst = "first\n";
    bytes_response_.emplace(http::status::ok, parser_->get().version());
    auto& res = *bytes_response_;
    decorate(res, false);
    res.set(http::field::content_type, "text/plain");
    res.chunked(true);
    res.body().data = const_cast<char*>(kFirst.data());
    res.body().size = kFirst.size();
    res.body().more = true;
    serializer_.emplace(res);
    stream_pause_ = pause;
    http::async_write(socket_, *serializer_, handler(&HttpSession::on_stream_first_written));
  }

  void on_stream_first_written(beast::error_code ec, std::size_t) {
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return close();
    timer_.expires_after(stream_pause_);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->close();
      static constexpr std::string_view kLast = "last\n";
      auto& body = self->bytes_response_->body();
      body.data = const_cast<char*>(kLast.data());
      body.size = kLast.size();
      body.more = false;
      http::async_write(self->socket_, *self->serializer_,
                        self->handler(&HttpSession::on_bytes_written));
    });
  }

  // Never answers, but keeps reading so the session (and the open-connection count) ends
  // when the peer gives up.
  void hang() {
    socket_.async_read_some(net::buffer(body_buffer_.get(), kPiece),
                            handler(&HttpSession::on_hang_read));
  }

  void on_hang_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    hang();
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    socket_.close(ignored);
  }

  tcp::socket socket_;
  std::shared_ptr<State> state_;
  OpenConnection token_;
  const std::uint64_t connection_id_;
  net::steady_timer timer_;
  std::unique_ptr<char[]> body_buffer_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::shared_ptr<void> pending_;  // the message being written
  bool close_after_ = false;
  RecordedRequest current_;
  BodyChecksum checksum_;
  std::uint64_t requests_on_connection_ = 0;
  std::optional<http::response<http::buffer_body>> bytes_response_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
  std::chrono::milliseconds stream_pause_{0};
  std::uint64_t bytes_left_ = 0;
  std::uint64_t bytes_offset_ = 0;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, std::shared_ptr<State> state)
      : ioc_(ioc), acceptor_(std::move(acceptor)), state_(std::move(state)) {}

  void accept() {
    // Each connection gets its own strand, so several threads never run one session at once.
    acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](beast::error_code ec,
                                                                               tcp::socket socket) {
      if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (!ec) {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        const std::uint64_t id = self->state_->connections.fetch_add(1) + 1;
        std::make_shared<HttpSession>(std::move(socket), self->state_, id)->start();
      }
      self->accept();
    });
  }

 private:
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  std::shared_ptr<State> state_;
};

template <class Predicate>
bool poll_until(std::chrono::milliseconds timeout, Predicate done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace

struct EchoUpstream::Impl {
  std::shared_ptr<State> state = std::make_shared<State>();
  std::unique_ptr<net::io_context> ioc;
  std::vector<std::thread> threads;
  std::string address;
  std::uint16_t port = 0;
  bool stopped = false;
};

EchoUpstream::EchoUpstream(EchoUpstreamOptions options) : impl_(std::make_unique<Impl>()) {
  const int threads = std::max(1, options.threads);
  impl_->address = options.address;
  impl_->state->options = std::move(options);
  impl_->ioc = std::make_unique<net::io_context>(threads);

  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->address, ec);
  if (ec) throw std::runtime_error("echo upstream: bad address " + impl_->address);
  tcp::acceptor acceptor(net::make_strand(*impl_->ioc));
  const tcp::endpoint endpoint(address, impl_->state->options.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("echo upstream: cannot listen on " + impl_->address + ":" +
                             std::to_string(impl_->state->options.port) + ": " + ec.message());
  }
  impl_->port = acceptor.local_endpoint().port();
  std::make_shared<Listener>(*impl_->ioc, std::move(acceptor), impl_->state)->accept();
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([ioc = impl_->ioc.get()] { ioc->run(); });
  }
}

EchoUpstream::~EchoUpstream() {
  stop();
}

void EchoUpstream::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // Destroying the io_context destroys every pending handler, and with them the sessions
  // they keep alive: that closes the listener and every connection, /hang ones included.
  impl_->ioc.reset();
}

std::uint16_t EchoUpstream::port() const {
  return impl_->port;
}
const std::string& EchoUpstream::address() const {
  return impl_->address;
}
std::string EchoUpstream::url() const {
  return "http://" + impl_->address + ":" + std::to_string(impl_->port);
}

std::vector<RecordedRequest> EchoUpstream::requests() const {
  std::lock_guard lock(impl_->state->mutex);
  return impl_->state->requests;
}

std::size_t EchoUpstream::request_count() const {
  std::lock_guard lock(impl_->state->mutex);
  return impl_->state->requests.size();
}

std::optional<RecordedRequest> EchoUpstream::last_request() const {
  std::lock_guard lock(impl_->state->mutex);
  if (impl_->state->requests.empty()) return std::nullopt;
  return impl_->state->requests.back();
}

bool EchoUpstream::wait_for_requests(std::size_t count, std::chrono::milliseconds timeout) const {
  return poll_until(timeout, [&] { return request_count() >= count; });
}

void EchoUpstream::clear() {
  std::lock_guard lock(impl_->state->mutex);
  impl_->state->requests.clear();
}

std::size_t EchoUpstream::connection_count() const {
  return impl_->state->connections.load();
}
std::size_t EchoUpstream::open_connection_count() const {
  return impl_->state->open_connections.load();
}
bool EchoUpstream::wait_for_open_connections(std::size_t count,
                                             std::chrono::milliseconds timeout) const {
  return poll_until(timeout, [&] { return open_connection_count() == count; });
}
std::size_t EchoUpstream::parse_error_count() const {
  return impl_->state->parse_errors.load();
}
std::size_t EchoUpstream::websocket_message_count() const {
  return impl_->state->websocket_messages.load();
}

}  // namespace keygate::testing
