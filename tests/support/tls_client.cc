#include "tests/support/tls_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "tests/support/echo_upstream.h"

namespace keygate::testing {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ssl_errors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    text += (text.empty() ? "" : "; ") + std::string(buf);
  }
  return text;
}

}  // namespace

std::string TlsResponse::header(const std::string& name) const {
  const std::string needle = "\r\n" + lower(name) + ":";
  const std::string lowered = lower(head);
  auto at = lowered.find(needle);
  if (at == std::string::npos) return "";
  auto start = at + needle.size();
  auto end = head.find("\r\n", start);
  std::string value = head.substr(start, end - start);
  while (!value.empty() && value.front() == ' ') value.erase(0, 1);
  return value;
}

struct TlsConnection::Impl {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  std::string pending;  // bytes read past the last response
  ~Impl() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
  // Reads more into `pending`; false on EOF or error.
  bool fill() {
    char buf[65536];
    const int n = SSL_read(ssl, buf, sizeof buf);
    if (n <= 0) return false;
    pending.append(buf, n);
    return true;
  }
  bool write_all(const char* data, std::size_t size) {
    while (size > 0) {
      const int n = SSL_write(ssl, data, static_cast<int>(std::min<std::size_t>(size, 1 << 20)));
      if (n <= 0) return false;
      data += n;
      size -= n;
    }
    return true;
  }
};

TlsConnection::TlsConnection(std::uint16_t port, TlsClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  auto& d = *impl_;
  d.ctx = SSL_CTX_new(TLS_client_method());
  if (options.min_version) SSL_CTX_set_min_proto_version(d.ctx, options.min_version);
  if (options.max_version) SSL_CTX_set_max_proto_version(d.ctx, options.max_version);
  if (!options.ca_file.empty()) {
    SSL_CTX_load_verify_locations(d.ctx, options.ca_file.c_str(), nullptr);
    SSL_CTX_set_verify(d.ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!options.cert_file.empty()) {
    SSL_CTX_use_certificate_chain_file(d.ctx, options.cert_file.c_str());
    SSL_CTX_use_PrivateKey_file(d.ctx, options.key_file.c_str(), SSL_FILETYPE_PEM);
  }
  static const unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(d.ctx, kAlpn, sizeof kAlpn - 1);
  d.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{static_cast<time_t>(options.timeout.count() / 1000),
             static_cast<suseconds_t>(options.timeout.count() % 1000 * 1000)};
  ::setsockopt(d.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(d.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(d.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(d.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    error_ = std::string("connect: ") + std::strerror(errno);
    return;
  }
  d.ssl = SSL_new(d.ctx);
  SSL_set_fd(d.ssl, d.fd);
  if (!options.server_name.empty()) {
    SSL_set_tlsext_host_name(d.ssl, options.server_name.c_str());
    if (!options.ca_file.empty()) SSL_set1_host(d.ssl, options.server_name.c_str());
  } else if (!options.ca_file.empty()) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(d.ssl), "127.0.0.1");
  }
  if (SSL_connect(d.ssl) != 1) {
    error_ = "handshake: " + ssl_errors();
    const long v = SSL_get_verify_result(d.ssl);
    if (v != X509_V_OK) error_ += " (" + std::string(X509_verify_cert_error_string(v)) + ")";
    if (error_ == "handshake: ") error_ += std::strerror(errno);
  }
}

TlsConnection::~TlsConnection() = default;

std::string TlsConnection::protocol() const {
  return impl_->ssl ? SSL_get_version(impl_->ssl) : "";
}

std::string TlsConnection::peer_serial() const {
  if (!impl_->ssl) return "";
  X509* cert = SSL_get0_peer_certificate(impl_->ssl);
  if (!cert) return "";
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = BN_bn2hex(bn);
  std::string out = lower(hex);
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

std::string TlsConnection::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  if (impl_->ssl) SSL_get0_alpn_selected(impl_->ssl, &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

bool TlsConnection::resumed() const {
  return impl_->ssl && SSL_session_reused(impl_->ssl);
}

TlsResponse TlsConnection::request(const std::string& method, const std::string& target,
                                   const std::vector<std::pair<std::string, std::string>>& headers,
                                   const std::string& body, std::uint64_t upload_bytes,
                                   bool store_body) {
  TlsResponse out;
  if (!ok()) {
    out.error = error_;
    return out;
  }
  auto& d = *impl_;
  const std::uint64_t length = upload_bytes ? upload_bytes : body.size();
  std::string head = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& [n, v] : headers) head += n + ": " + v + "\r\n";
  if (length > 0 || method == "POST" || method == "PUT")
    head += "Content-Length: " + std::to_string(length) + "\r\n";
  head += "\r\n";
  bool sent = d.write_all(head.data(), head.size());
  if (sent && upload_bytes) {
    std::string piece(1 << 20, '\0');
    for (std::uint64_t offset = 0; sent && offset < upload_bytes; offset += piece.size()) {
      const std::size_t n = std::min<std::uint64_t>(piece.size(), upload_bytes - offset);
      fill_pattern(piece.data(), n, offset);
      sent = d.write_all(piece.data(), n);
    }
  } else if (sent) {
    sent = d.write_all(body.data(), body.size());
  }
  if (!sent) {
    out.error = "write failed: " + ssl_errors();
    return out;
  }
  std::size_t end;
  while ((end = d.pending.find("\r\n\r\n")) == std::string::npos) {
    if (!d.fill()) {
      out.error = "no response head";
      return out;
    }
  }
  out.head = d.pending.substr(0, end + 2);
  d.pending.erase(0, end + 4);
  out.status = std::atoi(out.head.c_str() + 9);
  auto take = [&](std::uint64_t n) {
    out.body_bytes += n;
    if (store_body) out.body.append(d.pending, 0, n);
    d.pending.erase(0, n);
  };
  if (lower(out.header("transfer-encoding")) == "chunked") {
    for (;;) {
      std::size_t eol;
      while ((eol = d.pending.find("\r\n")) == std::string::npos)
        if (!d.fill()) return out.error = "cut in chunk size", out;
      const std::uint64_t size = std::stoull(d.pending.substr(0, eol), nullptr, 16);
      d.pending.erase(0, eol + 2);
      while (d.pending.size() < size + 2)
        if (!d.fill()) return out.error = "cut in chunk", out;
      take(size);
      d.pending.erase(0, 2);
      if (size == 0) break;
    }
  } else {
    std::uint64_t remaining = std::stoull("0" + out.header("content-length"));
    while (remaining > 0) {
      if (d.pending.empty() && !d.fill()) return out.error = "cut in body", out;
      const std::uint64_t n = std::min<std::uint64_t>(remaining, d.pending.size());
      take(n);
      remaining -= n;
    }
  }
  return out;
}

}  // namespace keygate::testing
