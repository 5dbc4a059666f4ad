// How keygate speaks TLS to one https:// upstream: the CAs it trusts, the name it checks and
// sends as SNI, its own certificate when the upstream wants one, and the last session the
// upstream gave it, so that pooled reconnects resume instead of doing a full handshake.
//
// One per upstream pool, that is per worker thread: the session cache needs no lock.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "conf/config.h"
#include "proxy/asio_aliases.h"

namespace keygate::proxy {

class TlsClientContext {
 public:
  // Null (with a reason) when a configured file cannot be used.
  static std::unique_ptr<TlsClientContext> create(const conf::UpstreamConfig& upstream,
                                                  std::string* error);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  asio::ssl::context& context() { return context_; }
  // Before the handshake of a new connection: SNI, the name to verify, a session to resume.
  void prepare(SSL* ssl);
  const std::string& server_name() const { return server_name_; }

 private:
  TlsClientContext();
  static int remember_session(SSL* ssl, SSL_SESSION* session);

  asio::ssl::context context_;
  std::string server_name_;
  bool name_is_address_ = false;
  bool verify_ = true;
  SSL_SESSION* session_ = nullptr;  // owned; the most recent one the upstream issued
};

// Why a handshake with an upstream failed, as a word for logs and metrics
// ("certificate_expired", "unknown_ca", "name_mismatch", "handshake_failed", ...), and the
// detail OpenSSL gives.
struct TlsFailure {
  std::string reason;
  std::string detail;
};
TlsFailure describe_tls_failure(const SSL* ssl, const boost::system::error_code& ec);

}  // namespace keygate::proxy
