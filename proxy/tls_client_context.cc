#include "proxy/tls_client_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "proxy/tls_text.h"

namespace keygate::proxy {
namespace {

int owner_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

TlsClientContext::TlsClientContext() : context_(asio::ssl::context::tls_client) {}

TlsClientContext::~TlsClientContext() {
  if (session_) SSL_SESSION_free(session_);
}

std::unique_ptr<TlsClientContext> TlsClientContext::create(const conf::UpstreamConfig& upstream,
                                                           std::string* error) {
  const auto& tls = upstream.tls;
  std::unique_ptr<TlsClientContext> out(new TlsClientContext());
  SSL_CTX* ctx = out->context_.native_handle();
  ERR_clear_error();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(
      ctx, tls.min_version == conf::TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
  out->verify_ = !tls.insecure_skip_verify;
  if (out->verify_) {
    const int loaded = tls.ca_file.empty()
                           ? SSL_CTX_set_default_verify_paths(ctx)
                           : SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr);
    if (loaded != 1) {
      *error = "upstream '" + upstream.name + "': cannot load " +
               (tls.ca_file.empty() ? std::string("the system CA store") : tls.ca_file) + ": " +
               openssl_error();
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      *error = "upstream '" + upstream.name + "': cannot use client certificate " + tls.cert_file +
               " with key " + tls.key_file + ": " + openssl_error();
      return nullptr;
    }
  }
  // Resumption: OpenSSL keeps no client-side cache of its own; the new-session callback
  // hands us each session (TLS 1.3 tickets arrive after the handshake) and prepare() offers
  // the latest one on the next connection.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_set_ex_data(ctx, owner_index(), out.get());
  SSL_CTX_sess_set_new_cb(ctx, &TlsClientContext::remember_session);

  out->server_name_ = tls.server_name.empty() ? upstream.host : tls.server_name;
  boost::system::error_code ec;
  boost::asio::ip::make_address(out->server_name_, ec);
  out->name_is_address_ = !ec;
  return out;
}

// The pool's session is a copy that no connection holds: OpenSSL marks a connection's own
// session not resumable when the connection ends without close_notify (SSL_free ->
// ssl_clear_bad_session), which is how upstreams' idle connections usually end. Kept as the
// connection's object, one such close would make every later reconnect a full handshake.
int TlsClientContext::remember_session(SSL* ssl, SSL_SESSION* session) {
  auto* self =
      static_cast<TlsClientContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), owner_index()));
  if (!self) return 0;
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (!copy) return 0;
  if (self->session_) SSL_SESSION_free(self->session_);
  self->session_ = copy;
  return 0;  // OpenSSL keeps (and frees) its own reference
}

void TlsClientContext::prepare(SSL* ssl) {
  if (name_is_address_) {
    // No SNI for an address (RFC 6066); verify the certificate's IP SAN instead.
    if (verify_) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name_.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, server_name_.c_str());
    if (verify_) SSL_set1_host(ssl, server_name_.c_str());
  }
  if (session_) {
    // A copy again, for the same reason: this connection's end must not spoil the next one's.
    SSL_SESSION* copy = SSL_SESSION_dup(session_);
    if (copy) {
      SSL_set_session(ssl, copy);
      SSL_SESSION_free(copy);  // the connection holds its own reference now
    }
  }
}

TlsFailure describe_tls_failure(const SSL* ssl, const boost::system::error_code& ec) {
  const long result = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (result != X509_V_OK) {
    std::string reason = "certificate_invalid";
    switch (result) {
      case X509_V_ERR_CERT_HAS_EXPIRED:
        reason = "certificate_expired";
        break;
      case X509_V_ERR_CERT_NOT_YET_VALID:
        reason = "certificate_not_yet_valid";
        break;
      case X509_V_ERR_HOSTNAME_MISMATCH:
      case X509_V_ERR_IP_ADDRESS_MISMATCH:
        reason = "name_mismatch";
        break;
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        reason = "unknown_ca";
        break;
      default:
        break;
    }
    return {reason, X509_verify_cert_error_string(result)};
  }
  return {"handshake_failed", ec.message()};
}

}  // namespace keygate::proxy
