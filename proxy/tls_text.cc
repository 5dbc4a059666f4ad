#include "proxy/tls_text.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>

#include <memory>

namespace keygate::proxy {

std::string openssl_error() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    if (!text.empty()) text += "; ";
    text += buffer;
  }
  return text.empty() ? "unknown error" : text;
}

std::string certificate_serial(const X509* certificate) {
  if (certificate == nullptr) return "";
  const ASN1_INTEGER* serial = X509_get0_serialNumber(certificate);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> number(ASN1_INTEGER_to_BN(serial, nullptr), BN_free);
  if (!number) return "";
  std::unique_ptr<char, void (*)(char*)> hex(BN_bn2hex(number.get()),
                                             [](char* p) { OPENSSL_free(p); });
  std::string text = hex ? hex.get() : "";
  for (char& c : text)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return text;
}

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return "";
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size > 0 ? static_cast<std::size_t>(size) : 0);
}

}  // namespace keygate::proxy
