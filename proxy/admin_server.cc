#include "proxy/admin_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "proxy/error_body.h"

namespace keygate::proxy {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxAdminBody = 1024 * 1024;
constexpr auto kAdminTimeout = std::chrono::seconds(10);

AdminResponse json(unsigned status, std::string body) {
  AdminResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

}  // namespace

AdminServer::AdminServer(AdminHooks hooks) : hooks_(std::move(hooks)) {}

AdminServer::~AdminServer() {
  stop();
}

bool AdminServer::listen(const std::string& address, std::uint16_t port, std::string* error) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) {
    *error = "admin address '" + address + "' is not an IP address";
    return false;
  }
  tcp::endpoint endpoint{ip, port};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message();
    return false;
  }
  port_ = acceptor_.local_endpoint().port();
  return true;
}

void AdminServer::start() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { io_.run(); });
}

void AdminServer::stop() {
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void AdminServer::set_api(std::function<std::optional<AdminResponse>(const AdminRequest&)> api) {
  asio::post(io_, [this, api = std::move(api)]() mutable { hooks_.api = std::move(api); });
}

awaitable<void> AdminServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(nothrow_awaitable);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    asio::co_spawn(io_, serve(std::move(socket)), asio::detached);
  }
}

awaitable<void> AdminServer::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer(64 * 1024);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(kMaxAdminBody);
    stream.expires_after(kAdminTimeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow_awaitable);
    if (ec) {
      if (ec == http::error::body_limit || ec == http::error::header_limit) {
        http::response<http::string_body> res{http::status::payload_too_large, 11};
        res.set(http::field::content_type, "application/json");
        res.body() =
            error_body({413, "invalid_request_error", "payload_too_large", "Request too large"});
        res.prepare_payload();
        co_await http::async_write(stream, res, nothrow_awaitable);
      }
      break;
    }
    auto& req = parser.get();
    AdminRequest request{std::string(req.method_string()), std::string(req.target()),
                         std::string(req[http::field::authorization]), std::move(req.body())};
    AdminResponse answer = dispatch(request);
    http::response<http::string_body> res{static_cast<http::status>(answer.status), req.version()};
    res.set(http::field::content_type, answer.content_type);
    res.set(http::field::cache_control, "no-store");
    for (const auto& [name, value] : answer.headers) res.set(name, value);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(answer.body);
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, nothrow_awaitable);
    if (wec || !res.keep_alive()) break;
  }
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

AdminResponse AdminServer::dispatch(const AdminRequest& request) {
  const std::string_view path =
      std::string_view(request.target).substr(0, std::string_view(request.target).find('?'));
  if (path == "/healthz") return json(200, R"({"status":"ok"})");
  if (path == "/readyz") {
    const Readiness readiness = hooks_.readiness ? hooks_.readiness() : Readiness{};
    std::string body = readiness.ready ? R"({"status":"ready")" : R"({"status":"not_ready")";
    if (!readiness.ready) {
      body += R"(,"reason":")";
      append_json_escaped(body, readiness.reason);
      body += '"';
    }
    if (!readiness.details.empty()) body += "," + readiness.details;
    body += '}';
    return json(readiness.ready ? 200 : 503, std::move(body));
  }
  if (path == "/metrics") {
    AdminResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = hooks_.metrics ? hooks_.metrics() : std::string();
    return r;
  }
  if (hooks_.api) {
    if (auto answer = hooks_.api(request)) return std::move(*answer);
  }
  return json(404,
              error_body({404, "invalid_request_error", "not_found", "No such admin endpoint"}));
}

}  // namespace keygate::proxy
