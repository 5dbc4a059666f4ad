#include "tests/support/test_certs.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace keygate::testing {
namespace {

EVP_PKEY* new_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

std::string serial_hex(const X509* cert) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr), BN_free);
  char* hex = BN_bn2hex(bn.get());
  std::string out = hex;
  OPENSSL_free(hex);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string subject_text(const X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n > 0 ? n : 0);
  BIO_free(bio);
  return out;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw std::runtime_error("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509* make_cert(EVP_PKEY* key, const std::string& common_name, X509* issuer, EVP_PKEY* issuer_key,
                bool ca, const CertOptions& options) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  std::uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial);
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), (serial >> 1) | 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), options.valid_from_days * 86400L);
  X509_gmtime_adj(X509_getm_notAfter(cert), options.valid_to_days * 86400L);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("keygate tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert;
  add_extension(cert, signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_extension(cert, signer, NID_key_usage,
                ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyAgreement");
  add_extension(cert, signer, NID_subject_key_identifier, "hash");
  if (!ca) {
    add_extension(cert, signer, NID_authority_key_identifier, "keyid");
    add_extension(cert, signer, NID_ext_key_usage, options.client ? "clientAuth" : "serverAuth");
    std::string san;
    for (const auto& n : options.names) {
      boost::system::error_code ec;
      boost::asio::ip::make_address(n, ec);
      san += (san.empty() ? "" : ",") + std::string(ec ? "DNS:" : "IP:") + n;
    }
    if (!san.empty()) add_extension(cert, signer, NID_subject_alt_name, san);
  }
  X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256());
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw std::runtime_error("cannot write " + path);
  if (cert) PEM_write_X509(f, cert);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace

TestCa::TestCa(std::string dir, std::string stem, std::string common_name) : dir_(std::move(dir)) {
  EVP_PKEY* key = new_key();
  CertOptions options;
  options.valid_to_days = 365;
  X509* cert = make_cert(key, common_name, nullptr, nullptr, true, options);
  files_.cert = dir_ + "/" + stem + ".pem";
  files_.key = dir_ + "/" + stem + "-key.pem";
  files_.serial = serial_hex(cert);
  files_.subject = subject_text(cert);
  write_pem(files_.cert, cert, nullptr);
  write_pem(files_.key, nullptr, key);
  key_ = key;
  cert_ = cert;
}

TestCa::~TestCa() {
  X509_free(static_cast<X509*>(cert_));
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

CertFiles TestCa::issue(const std::string& stem, const std::string& common_name,
                        const CertOptions& options) const {
  EVP_PKEY* key = new_key();
  X509* cert = make_cert(key, common_name, static_cast<X509*>(cert_), static_cast<EVP_PKEY*>(key_),
                         false, options);
  CertFiles files;
  files.cert = dir_ + "/" + stem + ".pem";
  files.key = dir_ + "/" + stem + "-key.pem";
  files.serial = serial_hex(cert);
  files.subject = subject_text(cert);
  // Key first, then the certificate: a watcher that sees the certificate change finds a key
  // that matches it (tests that rotate write both beside and rename).
  write_pem(files.key + ".tmp", nullptr, key);
  write_pem(files.cert + ".tmp", cert, nullptr);
  std::rename((files.key + ".tmp").c_str(), files.key.c_str());
  std::rename((files.cert + ".tmp").c_str(), files.cert.c_str());
  X509_free(cert);
  EVP_PKEY_free(key);
  return files;
}

}  // namespace keygate::testing
