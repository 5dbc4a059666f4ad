// Certificates for TLS tests, made with OpenSSL's C API in a test's directory: a CA, server
// certificates for given names, expired and wrong-name ones, client certificates. EC P-256
// keys, so making them takes microseconds.
#pragma once

#include <string>
#include <vector>

namespace keygate::testing {

struct CertFiles {
  std::string cert;     // PEM path
  std::string key;      // PEM path
  std::string serial;   // lower-case hex, as keygate logs it
  std::string subject;  // RFC 2253, e.g. "CN=client-a,O=keygate tests"
};

struct CertOptions {
  std::vector<std::string> names;  // subjectAltName: host names, or IP addresses
  bool client = false;             // extendedKeyUsage clientAuth instead of serverAuth
  long valid_from_days = -1;       // relative to now
  long valid_to_days = 30;         // negative with valid_from_days more negative: expired
};

class TestCa {
 public:
  // Writes <dir>/<stem>-ca.pem and its key.
  TestCa(std::string dir, std::string stem = "ca", std::string common_name = "keygate test CA");
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& cert_file() const { return files_.cert; }
  // A certificate signed by this CA, written to <dir>/<stem>.pem and <dir>/<stem>-key.pem.
  CertFiles issue(const std::string& stem, const std::string& common_name,
                  const CertOptions& options) const;
  CertFiles server(const std::string& stem, std::vector<std::string> names) const {
    return issue(stem, names.empty() ? "server" : names.front(), {std::move(names)});
  }
  CertFiles expired_server(const std::string& stem, std::vector<std::string> names) const {
    CertOptions options{std::move(names)};
    options.valid_from_days = -10;
    options.valid_to_days = -1;
    return issue(stem, "expired", options);
  }
  CertFiles client(const std::string& stem, const std::string& common_name) const {
    CertOptions options;
    options.client = true;
    return issue(stem, common_name, options);
  }

 private:
  std::string dir_;
  CertFiles files_;
  void* key_ = nullptr;   // EVP_PKEY*
  void* cert_ = nullptr;  // X509*
};

}  // namespace keygate::testing
