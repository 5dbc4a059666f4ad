#include "auth/cidr.h"

#include <charconv>
#include <cstring>

namespace keygate::auth {
namespace ip = boost::asio::ip;
namespace {

// Longest IPv6 text (with an embedded IPv4 tail) is 45 characters; zone ids are refused.
constexpr std::size_t kMaxAddressText = 46;

bool fail(std::string* error, std::string_view text, std::string_view why) {
  if (error != nullptr) {
    *error = "invalid CIDR \"";
    error->append(text.substr(0, 64));
    *error += "\": ";
    *error += why;
  }
  return false;
}

// Clears the bits of `bytes` past `prefix`.
void mask(std::array<unsigned char, 16>& bytes, std::size_t size, unsigned prefix) {
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned first_bit = static_cast<unsigned>(i) * 8;
    if (first_bit >= prefix)
      bytes[i] = 0;
    else if (prefix - first_bit < 8)
      bytes[i] &= static_cast<unsigned char>(0xFF << (8 - (prefix - first_bit)));
  }
}

// Client address as bytes, with IPv4-mapped IPv6 folded to IPv4.
void client_bytes(const ip::address& client, std::array<unsigned char, 16>& out, bool& v4) {
  if (client.is_v4()) {
    const auto b = client.to_v4().to_bytes();
    std::memcpy(out.data(), b.data(), 4);
    v4 = true;
    return;
  }
  const ip::address_v6 a6 = client.to_v6();
  if (a6.is_v4_mapped()) {
    const auto b = a6.to_bytes();
    std::memcpy(out.data(), b.data() + 12, 4);
    v4 = true;
    return;
  }
  out = a6.to_bytes();
  v4 = false;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* error) {
  const std::size_t slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  if (address_text.empty() || address_text.size() >= kMaxAddressText) {
    fail(error, text, "not an IP address");
    return std::nullopt;
  }
  char buffer[kMaxAddressText];
  std::memcpy(buffer, address_text.data(), address_text.size());
  buffer[address_text.size()] = '\0';
  boost::system::error_code ec;
  const ip::address address = ip::make_address(buffer, ec);
  if (ec || (address.is_v6() && address.to_v6().scope_id() != 0)) {
    fail(error, text, "not an IP address");
    return std::nullopt;
  }

  Cidr cidr;
  cidr.v4_ = address.is_v4();
  const unsigned max_prefix = cidr.v4_ ? 32 : 128;
  cidr.prefix_length_ = max_prefix;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    unsigned value = 0;
    const auto [end, parse_ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || digits.size() > 3 || parse_ec != std::errc() ||
        end != digits.data() + digits.size() || value > max_prefix) {
      fail(error, text, cidr.v4_ ? "prefix length must be 0..32" : "prefix length must be 0..128");
      return std::nullopt;
    }
    cidr.prefix_length_ = value;
  }
  if (cidr.v4_) {
    const auto b = address.to_v4().to_bytes();
    std::memcpy(cidr.network_.data(), b.data(), 4);
  } else {
    cidr.network_ = address.to_v6().to_bytes();
  }
  mask(cidr.network_, cidr.v4_ ? 4 : 16, cidr.prefix_length_);
  return cidr;
}

bool Cidr::contains(const ip::address& client) const {
  std::array<unsigned char, 16> bytes{};
  bool client_v4 = false;
  client_bytes(client, bytes, client_v4);
  if (client_v4 != v4_) return false;
  mask(bytes, v4_ ? 4 : 16, prefix_length_);
  return std::memcmp(bytes.data(), network_.data(), v4_ ? 4 : 16) == 0;
}

std::string Cidr::to_string() const {
  std::string address;
  if (v4_) {
    ip::address_v4::bytes_type b{};
    std::memcpy(b.data(), network_.data(), 4);
    address = ip::address_v4(b).to_string();
  } else {
    address = ip::address_v6(network_).to_string();
  }
  return address + "/" + std::to_string(prefix_length_);
}

std::vector<std::string> validate_cidrs(const std::vector<std::string>& cidrs) {
  std::vector<std::string> errors;
  for (const auto& text : cidrs) {
    std::string error;
    if (!Cidr::parse(text, &error)) errors.push_back(std::move(error));
  }
  return errors;
}

bool cidrs_allow(const std::vector<std::string>& cidrs, const ip::address& client) {
  if (cidrs.empty()) return true;
  bool allowed = false;
  for (const auto& text : cidrs) {
    const auto cidr = Cidr::parse(text);
    if (!cidr) return false;  // a corrupt restriction must not widen access
    allowed = allowed || cidr->contains(client);
  }
  return allowed;
}

}  // namespace keygate::auth
