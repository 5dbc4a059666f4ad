#include "proxy/tls_server_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "proxy/tls_text.h"

namespace keygate::proxy {
namespace {

namespace ssl = asio::ssl;

// Mozilla's "intermediate" TLS 1.2 list: forward secrecy and AEAD only.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// ALPN: the first protocol of ours the client also offers; none in common is not an error
// (the client then speaks HTTP/1.1 without ALPN, as before ALPN existed).
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void* arg) {
  const auto& ours = *static_cast<const std::string*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, out_len, reinterpret_cast<const unsigned char*>(ours.data()),
                            static_cast<unsigned>(ours.size()), in,
                            in_len) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

// Out of the anonymous namespace: it is a friend's helper.
struct CertificateLoader {
  static std::unique_ptr<TlsCertificateSet::Entry> load(const conf::ListenerTlsConfig& config,
                                                        const std::string& cert_file,
                                                        const std::string& key_file,
                                                        const std::string& alpn_wire,
                                                        std::string* error) {
    auto entry = std::make_unique<TlsCertificateSet::Entry>();
    entry->context = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* ctx = entry->context->native_handle();
    ERR_clear_error();
    SSL_CTX_set_options(
        ctx, SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_min_proto_version(
        ctx, config.min_version == conf::TlsVersion::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION);
    const std::string ciphers = config.ciphers.empty() ? kDefaultCiphers : config.ciphers;
    if (SSL_CTX_set_cipher_list(ctx, ciphers.c_str()) != 1) {
      *error = "listener tls ciphers '" + ciphers + "' selects no cipher: " + openssl_error();
      return nullptr;
    }
    if (!config.ciphersuites.empty() &&
        SSL_CTX_set_ciphersuites(ctx, config.ciphersuites.c_str()) != 1) {
      *error = "listener tls ciphersuites '" + config.ciphersuites +
               "' selects no suite: " + openssl_error();
      return nullptr;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
      *error = "cannot load certificate " + cert_file + ": " + openssl_error();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      *error = "cannot load private key " + key_file + ": " + openssl_error();
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      *error = "private key " + key_file + " does not match certificate " + cert_file;
      return nullptr;
    }
    // Sessions resumed with a ticket must not skip the client-certificate check of another
    // listener: name this listener's sessions.
    static constexpr unsigned char kSessionContext[] = "keygate";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof kSessionContext - 1);
    if (!config.client_ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(ctx, config.client_ca_file.c_str(), nullptr) != 1) {
        *error = "cannot load client_ca_file " + config.client_ca_file + ": " + openssl_error();
        return nullptr;
      }
      // Tells clients which CAs we accept, so they pick the right certificate.
      SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(config.client_ca_file.c_str()));
      SSL_CTX_set_verify(
          ctx, SSL_VERIFY_PEER | (config.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
          nullptr);
    }
    entry->alpn = alpn_wire;
    if (!entry->alpn.empty()) SSL_CTX_set_alpn_select_cb(ctx, select_alpn, &entry->alpn);
    const X509* leaf = SSL_CTX_get0_certificate(ctx);
    entry->serial = certificate_serial(leaf);
    entry->subject = name_text(X509_get_subject_name(leaf));
    return entry;
  }
};

std::string TlsCertificateSet::describe() const {
  std::string text = "serial " + default_->serial + " (" + default_->subject + ")";
  for (const auto& entry : by_name_) {
    text += ", " + entry->server_names.front() + ": serial " + entry->serial;
  }
  return text;
}

SSL_CTX* TlsCertificateSet::select(std::string_view server_name) const {
  std::string name(server_name);
  for (char& c : name)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  for (const auto& entry : by_name_)
    for (const auto& candidate : entry->server_names)
      if (candidate == name) return entry->context->native_handle();
  const auto dot = name.find('.');
  if (dot != std::string::npos) {
    const std::string wildcard = "*" + name.substr(dot);
    for (const auto& entry : by_name_)
      for (const auto& candidate : entry->server_names)
        if (candidate == wildcard) return entry->context->native_handle();
  }
  return default_->context->native_handle();
}

namespace {

int select_certificate(SSL* ssl, int*, void* arg) {
  const auto* set = static_cast<const TlsCertificateSet*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  SSL_CTX* chosen = set->select(name);
  if (chosen != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;
}

std::string alpn_wire_format(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

}  // namespace

std::shared_ptr<TlsServerContext> TlsServerContext::create(const conf::ListenerTlsConfig& config,
                                                           std::string* error) {
  std::shared_ptr<TlsServerContext> context(new TlsServerContext(config));
  auto set = context->load(error);
  if (!set) return nullptr;
  context->current_ = std::move(set);
  return context;
}

std::shared_ptr<const TlsCertificateSet> TlsServerContext::load(std::string* error) const {
  auto set = std::make_shared<TlsCertificateSet>();
  const std::string alpn = alpn_wire_format(config_.alpn);
  set->default_ =
      CertificateLoader::load(config_, config_.cert_file, config_.key_file, alpn, error);
  if (!set->default_) return nullptr;
  for (const auto& certificate : config_.certificates) {
    auto entry =
        CertificateLoader::load(config_, certificate.cert_file, certificate.key_file, alpn, error);
    if (!entry) return nullptr;
    entry->server_names = certificate.server_names;
    set->by_name_.push_back(std::move(entry));
  }
  if (!set->by_name_.empty()) {
    SSL_CTX* ctx = set->default_context().native_handle();
    SSL_CTX_set_tlsext_servername_callback(ctx, select_certificate);
    SSL_CTX_set_tlsext_servername_arg(ctx, set.get());
  }
  return set;
}

std::shared_ptr<const TlsCertificateSet> TlsServerContext::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

bool TlsServerContext::reload(std::string* error) {
  auto set = load(error);
  if (!set) return false;
  std::lock_guard lock(mutex_);
  current_ = std::move(set);
  return true;
}

std::vector<std::string> TlsServerContext::files() const {
  std::vector<std::string> files{config_.cert_file, config_.key_file};
  if (!config_.client_ca_file.empty()) files.push_back(config_.client_ca_file);
  for (const auto& certificate : config_.certificates) {
    files.push_back(certificate.cert_file);
    files.push_back(certificate.key_file);
  }
  return files;
}

bool TlsServerContext::begin_handshake() {
  if (handshakes_.fetch_add(1, std::memory_order_relaxed) >=
      static_cast<std::int64_t>(config_.max_handshakes)) {
    handshakes_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

std::string verified_peer_subject(const SSL* ssl) {
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  return name_text(X509_get_subject_name(peer));
}

}  // namespace keygate::proxy
