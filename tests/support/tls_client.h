// A small blocking HTTPS client for tests: OpenSSL over a socket with send and receive
// timeouts (plain blocking sockets honour SO_RCVTIMEO, so every read has a deadline). It
// reports what a test asserts about TLS: protocol, the server certificate's serial, whether
// the session was resumed; bodies can be generated and counted without being held.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace keygate::testing {

struct TlsClientOptions {
  std::string ca_file;      // empty: verification off (tests of keygate's own refusals)
  std::string server_name;  // SNI and verified name; empty: none sent, "127.0.0.1" verified
  std::string cert_file;    // client certificate (mTLS)
  std::string key_file;
  int min_version = 0;  // TLS1_2_VERSION, TLS1_3_VERSION; 0: library default
  int max_version = 0;
  std::chrono::milliseconds timeout{10000};  // each read and write
};

struct TlsResponse {
  int status = 0;  // 0: no response (see error)
  std::string head;
  std::string body;
  std::uint64_t body_bytes = 0;
  std::string error;
  std::string header(const std::string& name) const;  // case-insensitive, "" when absent
};

class TlsConnection {
 public:
  TlsConnection(std::uint16_t port, TlsClientOptions options);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }  // handshake failure reason
  std::string protocol() const;                        // "TLSv1.3"
  std::string peer_serial() const;                     // lower-case hex
  std::string alpn() const;
  bool resumed() const;

  // One request on the connection (keep-alive). `upload_bytes`: a generated pattern body of
  // that size instead of `body`; `store_body` false counts the response body only.
  TlsResponse request(const std::string& method, const std::string& target,
                      const std::vector<std::pair<std::string, std::string>>& headers = {},
                      const std::string& body = "", std::uint64_t upload_bytes = 0,
                      bool store_body = true);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string error_;
};

}  // namespace keygate::testing
