#include "redis/cluster_slot.h"

#include <array>
#include <cctype>
#include <charconv>

namespace keygate::redis {
namespace {

constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    std::uint16_t crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    table[byte] = crc;
  }
  return table;
}

constexpr auto kTable = make_table();

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (char c : bytes)
    crc = static_cast<std::uint16_t>((crc << 8) ^
                                     kTable[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
  return crc;
}

std::uint16_t key_slot(std::string_view key) {
  if (auto open = key.find('{'); open != std::string_view::npos) {
    auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % kClusterSlots;
}

std::optional<std::string_view> routing_key(std::span<const std::string_view> args) {
  if (args.size() < 2) return std::nullopt;
  const std::string_view name = args[0];
  if (iequals(name, "EVALSHA") || iequals(name, "EVAL") || iequals(name, "EVALSHA_RO") ||
      iequals(name, "EVAL_RO") || iequals(name, "FCALL")) {
    if (args.size() < 4) return std::nullopt;
    std::size_t count = 0;
    auto [end, ec] = std::from_chars(args[2].data(), args[2].data() + args[2].size(), count);
    if (ec != std::errc() || count == 0) return std::nullopt;
    return args[3];
  }
  if (iequals(name, "PING") || iequals(name, "SCRIPT") || iequals(name, "PUBLISH") ||
      iequals(name, "CLUSTER") || iequals(name, "INFO") || iequals(name, "ASKING") ||
      iequals(name, "FLUSHALL") || iequals(name, "FLUSHDB") || iequals(name, "DBSIZE") ||
      iequals(name, "TIME") || iequals(name, "AUTH") || iequals(name, "SELECT"))
    return std::nullopt;
  return args[1];  // GET, SET, HSET, INCRBY, DEL, MGET ... : the first argument is a key
}

}  // namespace keygate::redis
