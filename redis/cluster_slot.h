// Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its hash tag, modulo 16384.
//
// The hash tag is the part between the first '{' and the next '}' when that part is not empty;
// keys sharing a tag share a slot, which is how one script or one MULTI may touch several keys
// on a cluster (https://redis.io/docs/reference/cluster-spec/#hash-tags).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace keygate::redis {

inline constexpr std::uint16_t kClusterSlots = 16384;

std::uint16_t crc16(std::string_view bytes);
std::uint16_t key_slot(std::string_view key);

// The key a command is routed by on a cluster, or nullopt when the command names no key (PING,
// SCRIPT LOAD, PUBLISH, an EVALSHA with no keys): such a command may go to any node.
std::optional<std::string_view> routing_key(std::span<const std::string_view> args);

}  // namespace keygate::redis
