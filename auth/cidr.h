// Client-address restrictions of a key (KeyRecord::allowed_cidrs): IPv4 and IPv6 networks in
// CIDR notation ("10.0.0.0/8", "2001:db8::/32"); a bare address means that one host.
//
// Host bits below the prefix are ignored ("10.1.2.3/8" is 10.0.0.0/8). IPv4-mapped IPv6 client
// addresses (::ffff:10.1.2.3, what a dual-stack socket reports) match IPv4 networks.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keygate::auth {

class Cidr {
 public:
  // nullopt (and `error`, if given) for anything that is not an address with an optional
  // "/prefix" within 0..32 (IPv4) or 0..128 (IPv6). No surrounding whitespace allowed.
  static std::optional<Cidr> parse(std::string_view text, std::string* error = nullptr);

  bool contains(const boost::asio::ip::address& client) const;
  bool is_v4() const { return v4_; }
  unsigned prefix_length() const { return prefix_length_; }
  std::string to_string() const;  // canonical, e.g. "10.0.0.0/8"

 private:
  std::array<unsigned char, 16> network_{};  // v4 uses the first 4 bytes
  unsigned prefix_length_ = 0;
  bool v4_ = true;
};

// Every entry must parse. Returns one message per bad entry (empty: all good). Used when a key
// is created or imported, so a typo is refused instead of silently locking the key out.
std::vector<std::string> validate_cidrs(const std::vector<std::string>& cidrs);

// The request-path check: true when `cidrs` is empty or one of them contains `client`.
// Fails closed: if any entry is unparsable, no address is allowed. Does not allocate.
bool cidrs_allow(const std::vector<std::string>& cidrs, const boost::asio::ip::address& client);

}  // namespace keygate::auth
