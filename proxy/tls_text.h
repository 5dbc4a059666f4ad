// OpenSSL facts as text for logs and headers: errors, serials, distinguished names.
#pragma once

#include <openssl/x509.h>

#include <string>

namespace keygate::proxy {

// The queued OpenSSL errors, most recent last, "; "-separated; clears the queue.
std::string openssl_error();
// A certificate's serial number in lower-case hex, "" for none.
std::string certificate_serial(const X509* certificate);
// A distinguished name in RFC 2253 form: "CN=client,O=Example".
std::string name_text(const X509_NAME* name);

}  // namespace keygate::proxy
