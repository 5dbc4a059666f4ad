// The Beast-heavy translation unit: parsing, serializing and relaying HTTP/1.1.
#include "proxy/http_session.h"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>

#include "auth/stray_keys.h"
#include "proxy/draining_read.h"
#include "proxy/error_body.h"
#include "proxy/forward_auth.h"
#include "proxy/header_rewrite.h"
#include "proxy/host_header.h"
#include "proxy/http_head.h"
#include "proxy/path_normalize.h"
#include "proxy/request_context.h"
#include "proxy/request_guard.h"
#include "proxy/request_steps.h"
#include "proxy/simple_response.h"
#include "proxy/socket_write.h"
#include "proxy/stream.h"
#include "proxy/tls_server_context.h"
#include "proxy/worker.h"

namespace keygate::proxy {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

constexpr std::size_t kRelayBufferBytes = Worker::kRelayBufferBytes;
// The first read of a request head; the buffer grows past it only for large heads or bodies.
constexpr std::size_t kHeadReadBytes = 8192;
constexpr std::size_t kIdleReadBytes = 1024;
using RequestParser = http::request_parser<http::buffer_body, FieldAllocator<char>>;
using ResponseParser = http::response_parser<http::buffer_body, FieldAllocator<char>>;

// Feeds what is already buffered to the parser, sparing a trip through the event loop that
// Beast's async read would take even without I/O. False when the parser needs more bytes
// than are buffered: the caller then reads from the socket.
template <class Parser>
bool parse_buffered(Parser& parser, beast::flat_buffer& buffer, boost::system::error_code& ec) {
  if (buffer.size() == 0) return false;
  buffer.consume(parser.put(buffer.data(), ec));
  if (ec == http::error::need_more) {
    ec = {};
    return false;
  }
  return true;
}

// RFC 9110 §6.3: a response to HEAD, a 204 and a 304 have no body, whatever their framing says.
bool response_has_body(bool to_head, unsigned status) {
  return !to_head && status != 204 && status != 304;
}

// RFC 9110 §9.2.2: methods a client may repeat without changing the outcome.
bool idempotent(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::trace:
    case http::verb::put:
    case http::verb::delete_:
      return true;
    default:
      return false;
  }
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// How one request ended, for the access log and metrics.
struct Outcome {
  unsigned status = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  double upstream_ms = -1;
  bool keep_alive = false;
};

class Session final : public HttpSession, public std::enable_shared_from_this<Session> {
 public:
  Session(Worker& worker, Socket socket, std::size_t listener,
          std::shared_ptr<TlsServerContext> tls)
      : worker_(worker), client_(std::move(socket)), listener_(listener), tls_(std::move(tls)) {
    boost::system::error_code ec;
    const auto remote = client_.remote_endpoint(ec);
    if (!ec) {
      client_address_ = remote.address();
      client_ip_ = client_address_.to_string();
    }
    client_.set_option(tcp::no_delay(true), ec);
    client_.non_blocking(true, ec);  // for send_now
  }

  void run() {
    worker_.add_session(this);
    worker_.state().connections.fetch_add(1, std::memory_order_relaxed);
    worker_.state().metrics.connections_open.add(1);
    worker_.state().metrics.connections_total.inc();
    asio::co_spawn(client_.get_executor(), loop(shared_from_this()), asio::detached);
  }

  void close_if_idle() override {
    if (idle_) {
      boost::system::error_code ec;
      client_.shutdown(tcp::socket::shutdown_both, ec);
      client_.close(ec);
    }
  }

  // Called by the worker's sweep: a deadline that passed cancels whatever is in progress on
  // both sockets; the operation then completes with operation_aborted and timed_out_ set.
  void check_deadline(CoarseClock::time_point now) override {
    if (now < deadline_) return;
    deadline_ = CoarseClock::time_point::max();
    timed_out_ = true;
    boost::system::error_code ec;
    client_.cancel(ec);
    if (active_upstream_) active_upstream_->socket.cancel(ec);
  }

  ~Session() override {
    worker_.give_back_relay_buffer(std::move(relay_buffer_));
    worker_.remove_session(this);
    worker_.state().connections.fetch_sub(1, std::memory_order_relaxed);
    worker_.state().metrics.connections_open.add(-1);
  }

 private:
  // The connection's one long-lived coroutine, which also reads each request head: its frame
  // is allocated once per connection. (Asio recycles coroutine frames only up to about 1 KiB,
  // and one that size created per request would cost a malloc and a free every time.)
  awaitable<void> loop(std::shared_ptr<Session> self) {
    const bool secured = !tls_ || co_await handshake();
    while (secured) {
      const SnapshotPtr snapshot = worker_.snapshot();  // this request's configuration
      const auto& limits = snapshot->config->limits;
      // Bounds what one connection can make us hold: a header plus one read ahead.
      buffer_.max_size(limits.max_header_bytes + kRelayBufferBytes);

      if (buffer_.size() == 0) {
        if (worker_.state().draining.load(std::memory_order_relaxed)) break;
        // An idle connection holds no buffer but idle_read_, where its next bytes land (what
        // 10,000 idle keep-alive connections cost is mostly their buffers).
        buffer_.shrink_to_fit();
        arm(limits.idle_timeout);
        idle_ = true;
        boost::system::error_code ec;
        std::size_t n = 0;
        TlsStream* tls = client_.tls();
        for (;;) {
          // TLS may hold bytes already (decrypted, or read here before): those need no read.
          if (!client_.has_buffered_input()) {
            // A read, not a wait: Asio's reactor re-arms epoll (EPOLL_CTL_MOD) for every wait,
            // while a read is queued without one.
            auto [read_ec, got] = co_await client_.tcp().async_read_some(
                DrainingBuffer{asio::buffer(idle_read_)}, nothrow_awaitable);
            ec = read_ec;
            if (ec) break;
            if (tls == nullptr) {
              n = asio::buffer_copy(buffer_.prepare(got), asio::buffer(idle_read_, got));
              break;
            }
            tls->prefetched(asio::buffer(idle_read_, got));
          }
          n = client_.read_some_now(buffer_.prepare(kHeadReadBytes), ec);
          // Not a whole record yet (or none with data): read again.
          if (ec != asio::error::would_block) break;
        }
        idle_ = false;
        if (ec) break;
        buffer_.commit(n);
      }

      const auto started = Clock::now();
      arm(limits.client_header_timeout);
      // The parsers live in the session, not in coroutine frames, which they would push over
      // the recycling limit.
      auto& parser = request_parser_.emplace();
      parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
      parser.body_limit(boost::none);  // enforced per route once the route is known
      boost::system::error_code ec;
      if (!parse_buffered(parser, buffer_, ec) && !ec) {
        auto [read_ec, n] =
            co_await http::async_read_header(client_, buffer_, parser, nothrow_awaitable);
        ec = read_ec;
      }
      if (ec) {
        head_request_ = false;
        co_await reject_unparsed(ec);
        break;
      }

      worker_.state().in_flight.fetch_add(1, std::memory_order_relaxed);
      scratch_ = worker_.take_request_scratch();
      const bool keep = co_await handle(*snapshot, parser, started);
      worker_.state().in_flight.fetch_sub(1, std::memory_order_relaxed);
      // They refer to this request's messages, which the next request replaces; the parsers'
      // fields and the relay buffer are not kept while the connection waits for another.
      context_.reset();
      worker_.give_back_request_scratch(std::move(scratch_));
      request_serializer_.reset();
      response_serializer_.reset();
      request_parser_.reset();
      response_parser_.reset();
      worker_.give_back_relay_buffer(std::move(relay_buffer_));
      if (!keep) break;
    }
    if (secured && client_.is_tls()) {
      // close_notify, so the client can tell our close from a cut; briefly, as the peer
      // may never answer it.
      arm(std::chrono::seconds(1));
      co_await client_.tls()->async_shutdown(nothrow_awaitable);
    }
    boost::system::error_code ec;
    client_.shutdown(tcp::socket::shutdown_send, ec);
    client_.close(ec);
  }

  // The server side of a TLS handshake, bounded in time and in how many run at once.
  awaitable<bool> handshake() {
    if (!tls_->begin_handshake()) {
      worker_.state().metrics.rejected.with({"tls_handshake_limit"}).inc();
      co_return false;
    }
    certificates_ = tls_->current();
    auto& stream = client_.start_tls(certificates_->default_context());
    arm(tls_->config().handshake_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, nothrow_awaitable);
    tls_->end_handshake();
    if (ec) {
      worker_.state()
          .metrics.rejected.with({timed_out(ec) ? "tls_handshake_timeout" : "tls_handshake_failed"})
          .inc();
      co_return false;
    }
    if (tls_->asks_for_client_certs())
      client_subject_ = verified_peer_subject(stream.native_handle());
    co_return true;
  }

  awaitable<void> reject_unparsed(const boost::system::error_code& ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      co_return;
    const ErrorSpec* spec = &errors::bad_request;
    std::string_view reason = "bad_request";
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      spec = &errors::headers_too_large;
      reason = "headers_too_large";
    } else if (timed_out(ec)) {
      spec = &errors::request_timeout;
      reason = "request_timeout";
    }
    worker_.state().metrics.rejected.with({std::string(reason)}).inc();
    prepare_local(11, spec->status, error_body(*spec), {}, false);
    co_await send_prepared();
  }

  awaitable<bool> handle(const Snapshot& snapshot, RequestParser& parser,
                         Clock::time_point started) {
    auto& req = parser.get();
    const auto version = req.version();
    const bool client_keep_alive = req.keep_alive();
    std::string_view target = req.target();
    path_.assign(target.substr(0, target.find('?')));  // for the access log until routed
    std::string_view path = path_;
    std::string method(req.method_string());
    // A listener in authorize mode answers a front proxy about the request it describes.
    const auto& listeners = snapshot.config->listeners;
    const conf::AuthorizeConfig* authorize =
        listener_ < listeners.size() &&
                listeners[listener_].mode == conf::ListenerConfig::Mode::authorize
            ? &listeners[listener_].authorize
            : nullptr;
    ensure_request_id(req.base(), request_id_, /*forwards=*/!authorize);
    const std::string_view request_id = request_id_;
    head_request_ = req.method() == http::verb::head;

    Outcome outcome;
    const RouteRuntime* route = nullptr;
    // In the session: a RequestContext would take a quarter of this frame.
    std::optional<RequestContext>& ctx = context_;  // reset by loop() after each request

    auto finish = [&](std::string_view decision) {
      const auto status_class = outcome.status / 100;
      const double total_ms = ms_since(started);
      if (route) {
        const auto index = status_class < 6 ? status_class : 0;
        route->requests_by_class[index]->inc();
        route->duration_by_class[index]->observe(total_ms / 1000.0);
      }
      AccessLogEntry entry;
      entry.method = method;
      entry.path = path;
      entry.route = route ? std::string_view(route->config->name) : std::string_view("-");
      entry.status = outcome.status;
      entry.bytes_in = outcome.bytes_in;
      entry.bytes_out = outcome.bytes_out;
      entry.upstream_ms = outcome.upstream_ms;
      entry.total_ms = total_ms;
      entry.request_id = request_id;
      entry.client_ip = origin_.ip.empty() ? std::string_view(client_ip_) : origin_.ip;
      if (ctx && ctx->key) {
        entry.key_id = ctx->key->id();
        entry.key_prefix = ctx->key->prefix();
        entry.org = ctx->key->org();
      }
      entry.decision = decision;
      worker_.access_log().append(entry);
      if (ctx) finish_request(worker_, *ctx, outcome.status);
    };

    // Framing first: nothing ambiguous travels further. Then the head is made into what
    // keygate routes on and forwards: clean headers, a valid Host, a normal path.
    origin_ = {};
    upgrade_ = req.count(http::field::upgrade) > 0 && connection_has_token(req.base(), "upgrade");
    std::optional<ErrorSpec> bad = check_request_framing(req);
    std::string_view host = req[http::field::host];
    if (!bad && authorize) {
      bad = read_original_request(req, *authorize, method, original_target_, host);
      target = original_target_;
    }
    // A check request is answered, never forwarded: of the hygiene only the refusal of
    // underscored names applies to it (the identity in the answer comes from the key).
    if (!bad)
      bad = authorize ? refuse_underscored_names(req.base(), snapshot.config->http)
                      : clean_request_headers(req.base(), *snapshot.config, upgrade_);
    if (!bad) bad = route_target(req, target, host, /*forwards=*/!authorize, snapshot.config->http);
    if (bad) {
      worker_.state().metrics.rejected.with({std::string(bad->code)}).inc();
      outcome.status = bad->status;
      prepare_local(version, bad->status, error_body(*bad), {}, false, request_id);
      co_await send_prepared();
      finish("rejected");
      co_return false;
    }
    path = path_;
    origin_ = resolve_client_origin(req.base(), client_address_, client_ip_,
                                    listener_ < snapshot.trusted_proxies.size()
                                        ? std::span(snapshot.trusted_proxies[listener_])
                                        : std::span<const auth::Cidr>());

    const conf::RouteConfig* route_config = snapshot.router.match(host_name_, method, path);
    if (!route_config) {
      LocalAnswer answer{404, error_body(errors::route_not_found), {}};
      if (authorize) adapt_denied_answer(answer, *authorize);
      outcome.status = answer.status;
      const bool keep = client_keep_alive && parser.is_done();
      prepare_local(version, answer.status, std::move(answer.body), answer.headers, keep,
                    request_id);
      co_await send_prepared();
      finish("no_route");
      co_return keep;
    }
    route = &snapshot.runtime(route_config);

    if (route_config->auth.mtls_required && client_subject_.empty()) {
      outcome.status = errors::client_certificate_required.status;
      const bool keep = client_keep_alive && parser.is_done();
      prepare_local(version, outcome.status, error_body(errors::client_certificate_required), {},
                    keep, request_id);
      co_await send_prepared();
      finish("no_client_certificate");
      co_return keep;
    }

    // Body size: refuse a declared length over the limit before reading any of it (a check
    // request's body is never read).
    const auto max_body =
        route_config->max_body_bytes.value_or(snapshot.config->limits.max_body_bytes);
    if (max_body != 0 && !authorize) {
      if (parser.content_length() && *parser.content_length() > max_body) {
        outcome.status = 413;
        prepare_local(version, 413, error_body(errors::body_too_large), {}, false, request_id);
        co_await send_prepared();
        finish("body_too_large");
        co_return false;
      }
      parser.body_limit(max_body);
    }

    ctx.emplace(RequestContext{req.base(), snapshot, *route, origin_.address, origin_.ip, target_,
                               scratch_->rate_limit_fields,
                               /*forwards=*/!authorize});
    if (request_steps_apply(worker_, *ctx)) co_await run_request_steps(worker_, *ctx);
    if (authorize) {
      // The decision is the answer; an allowed one stays out of ctx->answer, so that usage
      // counts it as a call that went through.
      const bool keep = client_keep_alive && parser.is_done();
      if (ctx->answer) {
        LocalAnswer answer = std::move(*ctx->answer);
        adapt_denied_answer(answer, *authorize);
        outcome.status = answer.status;
        prepare_local(version, answer.status, std::move(answer.body), answer.headers, keep,
                      request_id);
      } else {
        // No body: nginx reuses a connection to keygate only after empty answers.
        outcome.status = 200;
        prepare_local(version, 200, {}, {}, keep, request_id,
                      [&](std::string& head) { append_allowed_fields(head, *ctx, *authorize); });
      }
      co_await send_prepared();
      finish(ctx->decision);
      co_return keep;
    }
    if (ctx->answer) {
      outcome.status = ctx->answer->status;
      const bool keep = client_keep_alive && parser.is_done() && ctx->answer->status != 503;
      prepare_local(version, ctx->answer->status, std::move(ctx->answer->body),
                    ctx->answer->headers, keep, request_id);
      co_await send_prepared();
      finish(ctx->decision);
      co_return keep;
    }

    const bool keep = co_await forward(snapshot, parser, *ctx, client_keep_alive, outcome);
    finish(ctx->decision);
    co_return keep;
  }

  // The request's Host and path as keygate routes on them, and as the upstream gets them:
  // sets host_name_, path_ and target_ (normalised path and the query as sent) from `host`
  // (what the request names as its host) and `target`, and with `forwards` the Host header to
  // the host it was routed by. An absolute-form target ("GET http://host/path") names the host
  // itself, which then replaces Host (RFC 9112 §3.2.2).
  std::optional<ErrorSpec> route_target(RequestHeader& req, std::string_view target,
                                        std::string_view host, bool forwards,
                                        const conf::HttpConfig& http_config) {
    auto invalid = [](const char* message) {
      return ErrorSpec{400, "invalid_request_error", "bad_request", message};
    };
    bool host_from_target = false;
    for (std::string_view scheme : {"http://", "https://"}) {
      if (target.size() < scheme.size() || !beast::iequals(target.substr(0, scheme.size()), scheme))
        continue;
      const auto rest = target.substr(scheme.size());
      const auto end = rest.find_first_of("/?");
      host = rest.substr(0, end);
      host_from_target = true;
      target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
      break;
    }
    std::string_view port;
    if (!parse_host_header(host, host_name_, port)) return invalid("Invalid Host header");
    // The upstream gets the Host the route was chosen by.
    if (forwards && (host_from_target ||
                     host.size() != host_name_.size() + (port.empty() ? 0 : port.size() + 1) ||
                     !host.starts_with(host_name_))) {
      std::string normal = host_name_;
      if (!port.empty()) normal.append(":").append(port);
      req.set(http::field::host, normal);
    }

    const auto query_at = target.find('?');
    path_.assign(target.substr(0, query_at));
    if (path_.empty()) path_ = "/";  // "http://host" or "http://host?q"
    if (path_.front() != '/' && path_ != "*")
      return invalid("The request target must be a path (origin-form) or an absolute URL");
    bool changed = false;
    switch (normalize_path(path_, http_config, normalized_, changed)) {
      case PathVerdict::ok:
        break;
      case PathVerdict::bad_escape:
        return invalid("Malformed percent-encoding in the request path");
      case PathVerdict::escaped_slash:
        return invalid("An encoded '/' or '\\' in the request path is not accepted");
      case PathVerdict::bad_character:
        return invalid("Invalid character in the request path");
    }
    if (changed) path_.swap(normalized_);
    target_.assign(path_);
    if (query_at != std::string_view::npos) target_.append(target.substr(query_at));
    return std::nullopt;
  }

  // The request as it goes upstream: made by prepare_upstream_request, sent by exchange().
  struct UpstreamRequest {
    UpstreamPool& pool;
    unsigned client_version;  // the client's HTTP version (the upstream gets 1.1)
    bool is_head;
    bool bodyless;          // the head is the whole request
    bool expects_continue;  // keygate answers the client's 100-continue itself
    // A reused connection the upstream closed as our request reached it fails without a
    // byte of response: an idempotent request without a body then goes once more, on a fresh
    // connection (as nginx retries its cached connections).
    bool resendable;
    std::string target;  // path and query as the upstream gets them
  };

  // How exchange() ended: a connection whose response is in scratch_ (simple_) or
  // whose response head is in response_parser_, or none;
  // then `keep` says whether the client connection may be kept, and `answer` whether a local
  // answer was prepared (prepare_local) for the client.
  struct Exchanged {
    std::unique_ptr<UpstreamConnection> conn;
    bool keep = false;
    bool answer = false;
  };

  // Makes the client's request into the one the upstream gets: forwarding headers from what
  // keygate saw, stray keys and unverified identities removed, the path mapped, the framing
  // made unambiguous. A plain function: its locals stay out of the coroutine frames.
  UpstreamRequest prepare_upstream_request(const Snapshot& snapshot, RequestParser& parser,
                                           RequestContext& ctx, UpstreamPool& pool) {
    auto& req = parser.get();
    const auto& route = *ctx.route.config;
    const auto& upstream = pool.config();
    const auto version = req.version();

    // Upgrade (WebSocket): the only hop-by-hop header that crossed, with Connection.
    const bool upgrade = upgrade_;
    const bool expects_continue =
        beast::iequals(req[http::field::expect], "100-continue") && !parser.is_done();
    const bool request_chunked = parser.chunked();

    if (expects_continue) req.erase(http::field::expect);  // keygate answers 100 itself
    set_forwarded_headers(req.base(), origin_, client_ip_, client_.is_tls() ? "https" : "http",
                          req[http::field::host]);
    // A key in a query parameter the route does not read it from is still a raw key.
    if (auto without = auth::remove_key_like_params(ctx.target, snapshot.config->keys))
      ctx.target = std::move(*without);
    // Only keygate says which client certificate it verified.
    const auto& subject_header = snapshot.config->identity_headers.client_cert_subject;
    if (tls_ && tls_->asks_for_client_certs()) {
      req.erase(subject_header);
      if (!client_subject_.empty()) req.set(subject_header, client_subject_);
    } else if (req.count(subject_header) > 0) {
      req.erase(subject_header);
    }
    std::string upstream_target;
    {
      std::string_view t = ctx.target;
      const auto q = t.find('?');
      upstream_target = upstream_path(route, upstream, t.substr(0, q));
      if (q != std::string_view::npos) upstream_target.append(t.substr(q));
    }
    // Without a body the head is the whole request and leaves as one string; with one,
    // Beast's serializer frames the body and needs the target in the message.
    const bool bodyless = parser.is_done();
    if (!bodyless) req.target(upstream_target);
    req.version(11);
    if (upgrade) {
      req.set(http::field::connection, "upgrade");
    } else {
      req.keep_alive(true);
    }
    set_framing(req.base(), parser.content_length(), request_chunked);
    return UpstreamRequest{pool,
                           version,
                           req.method() == http::verb::head,
                           bodyless,
                           expects_continue,
                           bodyless && !upgrade && idempotent(req.method()),
                           std::move(upstream_target)};
  }

  // Sends the request upstream (its body too) and reads the response head. Upstream
  // connection: a stale pooled one may fail before anything reached the server; a request
  // whose body has not been touched can then go again on a fresh connection.
  awaitable<Exchanged> exchange(RequestParser& parser, RequestContext& ctx,
                                const UpstreamRequest& request, bool client_keep_alive,
                                Outcome& outcome) {
    auto& req = parser.get();
    auto& pool = request.pool;
    const auto& upstream = pool.config();
    const auto& limits = ctx.snapshot.config->limits;
    const auto version = request.client_version;
    const bool bodyless = request.bodyless;
    const auto& upstream_target = request.target;
    std::unique_ptr<UpstreamConnection> conn;
    const auto upstream_started = Clock::now();
    auto& sr = request_serializer_;
    auto& rp = response_parser_;
    for (bool resend = false;; resend = true) {
      bool header_sent = false;
      for (int attempt = 0; attempt < 2 && !header_sent; ++attempt) {
        const bool fresh = attempt > 0 || resend;
        Acquired acquired{fresh ? nullptr : pool.take_idle()};
        if (!acquired.connection) acquired = co_await pool.acquire(fresh);
        if (!acquired.connection) {
          const auto& spec = acquired.error == AcquireError::timeout     ? errors::upstream_timeout
                             : acquired.error == AcquireError::pool_full ? errors::upstream_busy
                             : acquired.error == AcquireError::tls       ? errors::upstream_tls
                                                                   : errors::upstream_unavailable;
          count_upstream_error(upstream, acquired.error == AcquireError::timeout ? "connect_timeout"
                                         : acquired.error == AcquireError::pool_full ? "pool_full"
                                         : acquired.error == AcquireError::tls
                                             ? "tls_handshake_failed"
                                             : "connect_failed");
          outcome.status = spec.status;
          const bool keep = client_keep_alive && parser.is_done();
          prepare_local(version, spec.status, error_body(spec), {}, keep, request_id_);
          co_return Exchanged{nullptr, keep, true};
        }
        conn = std::move(acquired.connection);
        active_upstream_ = conn.get();
        arm(upstream.response_timeout);
        boost::system::error_code ec;
        if (bodyless) {
          head_.clear();
          append_request_head(head_, req.method_string(), upstream_target, req.base());
          const auto head = asio::buffer(head_);
          const auto sent = send_now(conn->socket, head, ec);
          if (!ec && sent < head.size()) ec = co_await write_rest(conn->socket, head, sent);
        } else {
          sr.emplace(req);
          auto [write_ec, n] =
              co_await http::async_write_header(conn->socket, *sr, nothrow_awaitable);
          ec = write_ec;
        }
        if (!ec) {
          header_sent = true;
          break;
        }
        const bool stale = conn->reused;
        release_upstream(pool, std::move(conn), false);
        if (!stale) break;
      }
      if (!header_sent) {
        count_upstream_error(upstream, "write_failed");
        outcome.status = 502;
        prepare_local(version, 502, error_body(errors::upstream_unavailable), {}, false,
                      request_id_);
        co_return Exchanged{nullptr, false, true};
      }

      // Request body.
      if (request.expects_continue) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        arm(limits.body_timeout);
        auto [ec, n] =
            co_await asio::async_write(client_, asio::buffer(kContinue), nothrow_awaitable);
        if (ec) {
          release_upstream(pool, std::move(conn), false);
          co_return Exchanged{};
        }
      }
      auto body_error = RelayError::none;
      if (!bodyless) {
        body_error = co_await relay_body(
            client_, buffer_, parser, conn->socket, *sr, limits.body_timeout, outcome.bytes_in,
            ctx.route.config->min_body_rate.value_or(limits.min_body_rate));
      }
      if (body_error != RelayError::none) {
        release_upstream(pool, std::move(conn), false);
        // A malformed or stalled request body is answered too, then the connection dropped.
        const ErrorSpec* spec = &errors::bad_request;
        if (body_error == RelayError::too_large) {
          spec = &errors::body_too_large;
        } else if (body_error == RelayError::too_slow) {
          worker_.state().metrics.rejected.with({"body_too_slow"}).inc();
          spec = &errors::request_timeout;
        } else if (body_error == RelayError::output) {
          count_upstream_error(upstream, "write_failed");
          spec = &errors::upstream_unavailable;
        }
        outcome.status = spec->status;
        prepare_local(version, spec->status, error_body(*spec), {}, false, request_id_);
        co_return Exchanged{nullptr, false, true};  // the client's input is in an unknown state
      }

      // Response header; informational (1xx) responses other than 101 are dropped. A whole
      // simple response (simple_response.h) is read in place instead, unless it is a HEAD's.
      bool closed_unanswered = false;
      bool may_be_simple = !request.is_head;
      simple_ = false;
      for (;;) {
        rp.emplace();
        rp->header_limit(static_cast<std::uint32_t>(limits.max_header_bytes * 4));
        rp->body_limit(boost::none);
        if (request.is_head) rp->skip(true);
        arm(upstream.response_timeout);
        // The head (and usually the whole response) arrives in one read: read into the
        // connection's buffer and parse it here rather than through Beast's composed read.
        boost::system::error_code ec;
        bool received = false;
        while (!ec && !rp->is_header_done()) {
          if (may_be_simple && conn->buffer.size() > 0) {
            const auto* data = static_cast<const char*>(conn->buffer.data().data());
            const auto verdict = parse_simple_response(
                std::string_view(data, conn->buffer.size()), limits.max_header_bytes * 4,
                kRelayBufferBytes, scratch_->simple_response);
            if (verdict == SimpleParse::complete) {
              simple_ = true;
              break;
            }
            may_be_simple = verdict == SimpleParse::incomplete;
          }
          if (parse_buffered(*rp, conn->buffer, ec) || ec) continue;
          const auto room = conn->buffer.prepare(beast::read_size(conn->buffer, kRelayBufferBytes));
          if (conn->socket.is_tls() && !conn->socket.has_buffered_input()) {
            const bool prefetched = co_await prefetch_tls_records(*conn, ec);
            if (!prefetched) continue;
            // Usually a whole record is here now: decrypted at once, without another turn of
            // the event loop. Otherwise (part of a record, or OpenSSL wants to write) the
            // asynchronous read below waits for what OpenSSL asks for.
            const std::size_t n = conn->socket.read_some_now(room, ec);
            if (ec != asio::error::would_block) {
              conn->buffer.commit(n);
              received = received || n > 0;  // of the response: a close_notify is not one
              continue;
            }
            ec = {};
          }
          auto [read_ec, n] =
              co_await conn->socket.async_read_some(DrainingBuffer{room}, nothrow_awaitable);
          ec = read_ec;
          conn->buffer.commit(n);
          received = received || n > 0;
        }
        if (ec && request.resendable && !resend && conn->reused && !received && !timed_out(ec) &&
            (ec == asio::error::eof || ec == asio::error::connection_reset)) {
          release_upstream(pool, std::move(conn), false);
          closed_unanswered = true;
          break;
        }
        if (ec) {
          const bool timeout = timed_out(ec);
          release_upstream(pool, std::move(conn), false);
          const auto& spec = timeout ? errors::upstream_timeout : errors::upstream_bad_response;
          count_upstream_error(upstream, timeout ? "response_timeout" : "bad_response");
          outcome.status = spec.status;
          prepare_local(version, spec.status, error_body(spec), {}, false, request_id_);
          co_return Exchanged{nullptr, false, true};
        }
        if (simple_) break;
        const auto status = rp->get().result_int();
        if (status < 100 || status >= 200 || status == 101) break;
      }
      if (!closed_unanswered) break;
    }
    outcome.upstream_ms = ms_since(upstream_started);
    ctx.route.upstream_latency->observe(outcome.upstream_ms / 1000.0);

    co_return Exchanged{std::move(conn)};
  }

  // Over TLS, an upstream's response records are read raw first, into the connection's own
  // buffer, and handed to OpenSSL (TlsStream::prefetched): the wait for them is then a read
  // that knows when it drained the socket (DrainingBuffer), not OpenSSL's failed read followed
  // by an epoll re-arm for the wait. For a TLS connection whose OpenSSL holds no input yet;
  // false when the read failed (`ec` set).
  static awaitable<bool> prefetch_tls_records(UpstreamConnection& conn,
                                              boost::system::error_code& ec) {
    TlsStream* tls = conn.socket.tls();
    if (!conn.tls_input) conn.tls_input = std::make_unique<char[]>(kUpstreamTlsInputBytes);
    auto [read_ec, got] = co_await conn.socket.tcp().async_read_some(
        DrainingBuffer{asio::buffer(conn.tls_input.get(), kUpstreamTlsInputBytes)},
        nothrow_awaitable);
    ec = read_ec;
    if (ec) co_return false;
    tls->prefetched(asio::buffer(conn.tls_input.get(), got));
    co_return true;
  }

  // Relays the request upstream and the response back. Returns whether the client
  // connection may be kept.
  awaitable<bool> forward(const Snapshot& snapshot, RequestParser& parser, RequestContext& ctx,
                          bool client_keep_alive, Outcome& outcome) {
    const auto pool = worker_.pool(ctx.route.upstream_index);
    const UpstreamRequest request = prepare_upstream_request(snapshot, parser, ctx, *pool);
    ActiveUpstream guard{active_upstream_, nullptr};  // cleared on every way out
    Exchanged exchanged = co_await exchange(parser, ctx, request, client_keep_alive, outcome);
    if (!exchanged.conn) {
      if (exchanged.answer) co_await send_prepared();
      co_return exchanged.keep;
    }
    std::unique_ptr<UpstreamConnection> conn = std::move(exchanged.conn);
    const auto& limits = snapshot.config->limits;
    const auto version = request.client_version;
    const bool keep_client =
        client_keep_alive && !worker_.state().draining.load(std::memory_order_relaxed);

    // The common case: a body of known length that is already here (or none). It leaves with
    // the head in one write; the upstream connection goes back to the pool before that write.
    // The head is written from the upstream's in one pass.
    std::size_t body_bytes = 0;
    if (simple_) {
      const SimpleResponse& res = scratch_->simple_response;
      const auto& limit_fields = scratch_->rate_limit_fields;
      outcome.status = res.status;
      body_bytes = res.body.size();
      if (body_bytes > 0) {
        if (!relay_buffer_) relay_buffer_ = worker_.take_relay_buffer();
        std::memcpy(relay_buffer_.get(), res.body.data(), body_bytes);
      }
      head_.clear();
      append_forwarded_simple_head(head_, res, version, limit_fields.names(), limit_fields.text(),
                                   request_id_, keep_client);
      conn->buffer.consume(res.head_bytes + body_bytes);
      release_upstream(*pool, std::move(conn), res.keep_alive);
    } else {
      auto& rp = response_parser_;
      auto& res = rp->get();
      outcome.status = res.result_int();
      const bool has_length = rp->content_length().has_value();
      const auto remaining = rp->content_length_remaining();
      const bool whole_here = rp->is_done() || (remaining && *remaining <= kRelayBufferBytes &&
                                                conn->buffer.size() >= *remaining);
      // A close-delimited body is re-framed (relay_response).
      const bool has_body = response_has_body(request.is_head, outcome.status);
      if ((outcome.status == 101 && upgrade_) || (has_body && !has_length) || !whole_here)
        co_return co_await relay_response(std::move(conn), *pool, snapshot, request, keep_client,
                                          outcome);
      if (!rp->is_done()) {
        if (!relay_buffer_) relay_buffer_ = worker_.take_relay_buffer();
        auto& body = res.body();
        body.data = relay_buffer_.get();
        body.size = kRelayBufferBytes;
        boost::system::error_code ec;
        parse_buffered(*rp, conn->buffer, ec);
        body_bytes = kRelayBufferBytes - body.size;
        if (ec || !rp->is_done()) {
          release_upstream(*pool, std::move(conn), false);
          count_upstream_error(pool->config(), "bad_response");
          outcome.status = errors::upstream_bad_response.status;
          prepare_local(version, outcome.status, error_body(errors::upstream_bad_response), {},
                        false, request_id_);
          co_await send_prepared();
          co_return false;
        }
      }
      release_upstream(*pool, std::move(conn), res.keep_alive());
      head_.clear();
      const auto& limit_fields = scratch_->rate_limit_fields;
      append_forwarded_response_head(head_, res, version, limit_fields.names(), limit_fields.text(),
                                     request_id_, rp->content_length(), keep_client);
    }
    arm(limits.body_timeout);
    const std::array<asio::const_buffer, 2> pieces{asio::buffer(head_),
                                                   asio::buffer(relay_buffer_.get(), body_bytes)};
    boost::system::error_code ec;
    const auto sent = send_now(client_, pieces, ec);
    if (!ec && sent < head_.size() + body_bytes) ec = co_await write_rest(client_, pieces, sent);
    outcome.bytes_out += body_bytes;
    co_return !ec && keep_client;
  }

  // The rest of forward(): a response whose body streams through (not all here yet, or
  // close-delimited) or a protocol switch, through Beast's serializer.
  awaitable<bool> relay_response(std::unique_ptr<UpstreamConnection> conn, UpstreamPool& pool,
                                 const Snapshot& snapshot, const UpstreamRequest& request,
                                 bool keep_client, Outcome& outcome) {
    const auto& limits = snapshot.config->limits;
    const auto& upstream = pool.config();
    const auto version = request.client_version;
    auto& rp = response_parser_;
    auto& res = rp->get();
    const bool switching = outcome.status == 101 && upgrade_;
    const bool upstream_keep_alive = res.keep_alive() && !switching;
    const bool response_has_length = rp->content_length().has_value();
    // A close-delimited upstream body must not end a keep-alive client connection: re-frame
    // it as chunked (HTTP/1.1) or close after it (HTTP/1.0).
    const bool has_body = response_has_body(request.is_head, outcome.status);
    const bool rechunk = has_body && !response_has_length && version >= 11;
    if (has_body && !response_has_length && version < 11) keep_client = false;

    strip_hop_by_hop(res.base(), switching);
    scratch_->rate_limit_fields.for_each(
        [&](std::string_view name, std::string_view value) { res.set(name, value); });
    res.set("X-Request-Id", request_id_);
    res.version(version);
    if (switching) {
      res.set(http::field::connection, "upgrade");
      co_return co_await tunnel(std::move(conn), res, limits.idle_timeout, outcome);
    }
    set_framing(res.base(), rp->content_length(), rechunk);
    res.keep_alive(keep_client);

    auto& rsr = response_serializer_.emplace(res);
    // When body bytes are already here (or there are none), the header leaves with the first
    // piece of the body in one write: one segment and one wake-up for the client instead of
    // two. Otherwise it goes now, so a slow or streaming body does not hold it back.
    if (!rp->is_done() && conn->buffer.size() == 0) {
      arm(limits.body_timeout);
      auto [ec, n] = co_await http::async_write_header(client_, rsr, nothrow_awaitable);
      if (ec) {
        release_upstream(pool, std::move(conn), false);
        co_return false;
      }
    }
    auto relay_error = co_await relay_body(conn->socket, conn->buffer, *rp, client_, rsr,
                                           limits.body_timeout, outcome.bytes_out);
    release_upstream(pool, std::move(conn),
                     relay_error == RelayError::none && upstream_keep_alive && rp->is_done());
    if (relay_error != RelayError::none) {
      if (relay_error == RelayError::input) count_upstream_error(upstream, "body_read_failed");
      co_return false;  // the response is cut short: closing tells the client so
    }
    co_return keep_client;
  }

  enum class RelayError { none = 0, input, output, too_large, too_slow };

  // Streams a message body from `input` (through its parser) to `output` (through its
  // serializer) in pieces of kRelayBufferBytes, the Beast relay() pattern. Each read and
  // write gets `timeout`: a peer that stops making progress is dropped.
  //
  // With `min_rate` (bytes per second), reading also has to keep that average once `timeout`
  // has passed: a body that trickles in just fast enough to beat the idle deadline is cut too.
  template <class Input, class Parser, class Output, class Serializer>
  awaitable<RelayError> relay_body(Input& input, beast::flat_buffer& input_buffer, Parser& p,
                                   Output& output, Serializer& sr,
                                   std::chrono::milliseconds timeout, std::uint64_t& bytes,
                                   std::uint64_t min_rate = 0) {
    const auto started = CoarseClock::now();
    std::uint64_t read = 0;
    if (!relay_buffer_) relay_buffer_ = worker_.take_relay_buffer();
    // Beast reads at most the buffer's spare capacity at a time: without room, a large
    // body would move in header-sized sips.
    if (!p.is_done() && input_buffer.capacity() < kRelayBufferBytes)
      input_buffer.reserve(kRelayBufferBytes);
    char* buf = relay_buffer_.get();
    auto& body = p.get().body();
    if (p.is_done()) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    }
    do {
      if (!p.is_done()) {
        body.data = buf;
        body.size = kRelayBufferBytes;
        arm(timeout);
        if (min_rate != 0) {
          const auto due = started + timeout + std::chrono::milliseconds(read * 1000 / min_rate);
          if (due < deadline_) deadline_ = due;
        }
        // read_some, not read: whatever has arrived is passed on at once instead of waiting
        // for a full buffer, so streamed bodies (server-sent events, long polls) flow.
        boost::system::error_code ec;
        if (!parse_buffered(p, input_buffer, ec) && !ec) {
          auto [read_ec, n] =
              co_await http::async_read_some(input, input_buffer, p, nothrow_awaitable);
          ec = read_ec;
        }
        if (ec == http::error::need_buffer) ec = {};
        if (ec == http::error::body_limit) co_return RelayError::too_large;
        if (min_rate != 0 && timed_out(ec)) co_return RelayError::too_slow;
        if (ec) co_return RelayError::input;
        body.size = kRelayBufferBytes - body.size;
        read += body.size;
        // An empty piece must not reach the serializer, which would frame it as a zero-length
        // chunk, that is a last-chunk: with nothing for the body yet (say, only a chunk-size
        // line arrived) read again; at the end (only the last-chunk arrived) let it finish.
        if (body.size == 0 && !p.is_done()) continue;
        body.data = body.size == 0 ? nullptr : buf;
        body.more = !p.is_done();
        bytes += body.size;
      } else {
        body.data = nullptr;
        body.size = 0;
        body.more = false;
      }
      arm(timeout);
      auto [ec, n] = co_await http::async_write(output, sr, nothrow_awaitable);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return RelayError::output;
    } while (!p.is_done() && !sr.is_done());
    co_return RelayError::none;
  }

  // After 101 Switching Protocols: bytes both ways until either side closes or goes quiet.
  awaitable<bool> tunnel(std::unique_ptr<UpstreamConnection> conn, ResponseHeader& res,
                         std::chrono::milliseconds idle_timeout, Outcome& outcome) {
    ActiveUpstream guard{active_upstream_, conn.get()};
    http::response<http::empty_body, Fields> head{std::move(res)};
    arm(idle_timeout);
    auto [ec, n] = co_await http::async_write(client_, head, nothrow_awaitable);
    if (ec) co_return false;
    // Bytes already read past the headers on either side belong to the tunnel.
    if (conn->buffer.size() > 0) {
      auto [wec, wn] = co_await asio::async_write(client_, conn->buffer.data(), nothrow_awaitable);
      if (wec) co_return false;
      conn->buffer.consume(wn);
    }
    if (buffer_.size() > 0) {
      auto [wec, wn] = co_await asio::async_write(conn->socket, buffer_.data(), nothrow_awaitable);
      if (wec) co_return false;
      buffer_.consume(wn);
    }
    co_await (pump(client_, conn->socket, idle_timeout, outcome.bytes_in) ||
              pump(conn->socket, client_, idle_timeout, outcome.bytes_out));
    co_return false;
  }

  // Each direction re-arms the one deadline: the tunnel closes after idle_timeout of silence
  // both ways.
  awaitable<void> pump(Stream& from, Stream& to, std::chrono::milliseconds idle_timeout,
                       std::uint64_t& bytes) {
    std::array<char, 16 * 1024> buf;
    for (;;) {
      arm(idle_timeout);
      auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), nothrow_awaitable);
      if (ec) co_return;
      arm(idle_timeout);
      auto [wec, wn] =
          co_await asio::async_write(to, asio::buffer(buf.data(), n), nothrow_awaitable);
      if (wec) co_return;
      bytes += n;
    }
  }

  // A locally made answer is built by prepare_local() and sent by send_prepared(), in two
  // statements: the body and header temporaries of a call then end before the suspension, so
  // they take no room in the calling coroutine's frame (one slot per call site otherwise, and
  // a frame over 1 KiB misses Asio's recycling and costs a malloc and a free per request).
  // `more_fields(head_)` appends fields of its own after `headers`.
  template <class MoreFields = void (*)(std::string&)>
  void prepare_local(
      unsigned version, unsigned status, std::string body, const HeaderList& headers,
      bool keep_alive, std::string_view request_id = {},
      MoreFields&& more_fields = [](std::string&) {}) {
    version = version >= 10 ? version : 11u;
    keep_alive = keep_alive && !worker_.state().draining.load(std::memory_order_relaxed);
    head_.clear();
    append_status_line(head_, version, status,
                       http::obsolete_reason(static_cast<http::status>(status)));
    append_field(head_, "Content-Type", "application/json");
    append_field(head_, "Cache-Control", "no-store");
    if (!request_id.empty()) append_field(head_, "X-Request-Id", request_id);
    for (const auto& [name, value] : headers) append_field(head_, name, value);
    // Empty until the request's limits were checked: then every answer to it carries them.
    if (scratch_) head_ += scratch_->rate_limit_fields.text();
    more_fields(head_);
    // HTTP/1.1 keeps the connection unless told; HTTP/1.0 closes it unless told.
    if (version >= 11 && !keep_alive) append_field(head_, "Connection", "close");
    if (version < 11 && keep_alive) append_field(head_, "Connection", "keep-alive");
    char length[24];
    const auto end = std::to_chars(length, length + sizeof length, body.size()).ptr;
    append_field(head_, "Content-Length", std::string_view(length, end - length));
    head_ += "\r\n";
    // RFC 9110 §9.3.2: a HEAD gets the same header fields as a GET, but no content.
    if (head_request_) body.clear();
    local_body_ = std::move(body);
  }

  awaitable<void> send_prepared() {
    arm(worker_.snapshot()->config->limits.body_timeout);
    const std::array<asio::const_buffer, 2> pieces{asio::buffer(head_), asio::buffer(local_body_)};
    boost::system::error_code ec;
    const auto sent = send_now(client_, pieces, ec);
    if (!ec && sent < asio::buffer_size(pieces)) co_await write_rest(client_, pieces, sent);
  }

  void count_upstream_error(const conf::UpstreamConfig& upstream, std::string_view reason) {
    worker_.state().metrics.upstream_errors.with({upstream.name, std::string(reason)}).inc();
  }

  // Points the deadline sweep at an upstream connection for as long as it is in use here.
  struct ActiveUpstream {
    ActiveUpstream(UpstreamConnection*& slot, UpstreamConnection* conn) : slot(slot) {
      slot = conn;
    }
    ~ActiveUpstream() { slot = nullptr; }
    UpstreamConnection*& slot;
  };

  void arm(std::chrono::milliseconds timeout) {
    deadline_ = CoarseClock::now() + timeout;
    timed_out_ = false;
  }

  bool timed_out(const boost::system::error_code& ec) const {
    return timed_out_ && ec == asio::error::operation_aborted;
  }

  void release_upstream(UpstreamPool& pool, std::unique_ptr<UpstreamConnection> conn,
                        bool reusable) {
    if (active_upstream_ == conn.get()) active_upstream_ = nullptr;
    pool.release(std::move(conn), reusable);
  }

  Worker& worker_;
  Stream client_;
  std::size_t listener_;                   // index into the configuration's listeners
  std::shared_ptr<TlsServerContext> tls_;  // a TLS listener's
  std::shared_ptr<const TlsCertificateSet> certificates_;  // what this handshake used
  std::string client_subject_;  // of a verified client certificate, else empty
  CoarseClock::time_point deadline_ = CoarseClock::time_point::max();
  bool timed_out_ = false;
  bool head_request_ = false;  // the request being answered is a HEAD: answers carry no body
  UpstreamConnection* active_upstream_ = nullptr;  // the one the deadline must also cancel
  beast::flat_buffer buffer_;
  asio::ip::address client_address_;
  std::string client_ip_;
  std::unique_ptr<char[]> relay_buffer_;
  std::optional<RequestParser> request_parser_;    // the request being served
  std::optional<ResponseParser> response_parser_;  // its upstream response
  std::optional<http::request_serializer<http::buffer_body, Fields>> request_serializer_;
  std::optional<http::response_serializer<http::buffer_body, Fields>> response_serializer_;
  std::optional<RequestContext> context_;    // what the request steps decided about it
  std::unique_ptr<RequestScratch> scratch_;  // the worker's, lent for the request's time
  bool simple_ = false;
  // Per request, kept as members so their capacity carries
  // over to the next request.
  std::string head_;             // a message head being written
  std::string local_body_;       // the body of an answer keygate makes itself
  std::string path_;             // the request's path, for routing and the access log
  std::string request_id_;       // the X-Request-Id that goes upstream and back
  std::string host_name_;        // the Host the request is routed by (parse_host_header)
  std::string target_;           // normalised path and query, as routed
  std::string original_target_;  // authorize mode: the target the front proxy asks about
  std::string normalized_;       // scratch for normalize_path
  ClientOrigin origin_;          // who sent the request (trusted proxies considered)
  bool upgrade_ = false;         // the client asked for a protocol upgrade
  bool idle_ = false;
  // Where an idle plain connection's next request lands (most heads fit; the rest is read
  // into buffer_): 1 KiB per connection instead of a buffer held while idle.
  std::array<char, kIdleReadBytes> idle_read_;
};

}  // namespace

void HttpSession::start(Worker& worker, Socket socket, std::size_t listener,
                        std::shared_ptr<TlsServerContext> tls) {
  std::make_shared<Session>(worker, std::move(socket), listener, std::move(tls))->run();
}

}  // namespace keygate::proxy
