// What a TLS listener hands each new connection: its certificates (the default pair and the
// ones selected by SNI), protocol settings and client-certificate checks, reloadable while the
// process runs. A reload builds a whole new set; a bad new pair keeps the old set and says why.
// New handshakes use the set current when they start; open connections keep theirs.
#pragma once

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "conf/config.h"
#include "proxy/asio_aliases.h"

namespace keygate::proxy {

// One loaded generation of a listener's certificates. Immutable once built; a session keeps
// the one its handshake used alive (the SNI callback reads it during the handshake).
class TlsCertificateSet {
 public:
  asio::ssl::context& default_context() const { return *default_->context; }
  std::string describe() const;  // "serial 1a2b (CN=...), api.example.com: serial ..."
  // The context whose certificate answers `server_name` (SNI): exact, then *.domain, then
  // the default.
  SSL_CTX* select(std::string_view server_name) const;

 private:
  friend class TlsServerContext;
  friend struct CertificateLoader;
  struct Entry {
    std::vector<std::string> server_names;
    std::unique_ptr<asio::ssl::context> context;
    std::string alpn;    // our protocols in ALPN wire format, read by the selection callback
    std::string serial;  // hex, of the leaf certificate
    std::string subject;
  };
  std::unique_ptr<Entry> default_;
  std::vector<std::unique_ptr<Entry>> by_name_;
};

class TlsServerContext {
 public:
  // Loads every pair now; null (with a reason) when one cannot be used.
  static std::shared_ptr<TlsServerContext> create(const conf::ListenerTlsConfig& config,
                                                  std::string* error);

  // Any thread: the set new handshakes use.
  std::shared_ptr<const TlsCertificateSet> current() const;
  // Rereads the files. False (with the reason) when the new files do not make a usable set;
  // the current one then stays.
  bool reload(std::string* error);

  // The files a reload reads: the caller watches their directories.
  std::vector<std::string> files() const;
  const conf::ListenerTlsConfig& config() const { return config_; }
  bool asks_for_client_certs() const { return !config_.client_ca_file.empty(); }

  // The bound on concurrent handshakes: false when it is reached (refuse the connection).
  bool begin_handshake();
  void end_handshake() { handshakes_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  explicit TlsServerContext(conf::ListenerTlsConfig config) : config_(std::move(config)) {}
  std::shared_ptr<const TlsCertificateSet> load(std::string* error) const;

  conf::ListenerTlsConfig config_;
  mutable std::mutex mutex_;  // guards current_ (read once per handshake, swapped on reload)
  std::shared_ptr<const TlsCertificateSet> current_;
  std::atomic<std::int64_t> handshakes_{0};
};

// The verified client certificate's subject (RFC 2253, e.g. "CN=client,O=Example"), or "" when
// the client presented none or it was not verified.
std::string verified_peer_subject(const SSL* ssl);

}  // namespace keygate::proxy
