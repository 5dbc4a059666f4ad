// Parsing what sentinels and ROLE answer; one place, shared by the async and blocking clients.
#include <charconv>
#include <vector>

#include "redis/sentinel.h"

namespace keygate::redis {
namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> words;
  while (!text.empty()) {
    auto start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    auto end = text.find(' ');
    words.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end);
  }
  return words;
}

}  // namespace

std::optional<NodeAddress> parse_master_address(const Reply& reply) {
  if (reply.type != Reply::Type::array || reply.elements.size() != 2) return std::nullopt;
  const Reply& host = reply.elements[0];
  const Reply& port = reply.elements[1];
  if (host.type != Reply::Type::string || host.str.empty() || port.type != Reply::Type::string)
    return std::nullopt;
  auto number = parse_port(port.str);
  if (!number) return std::nullopt;
  return NodeAddress{host.str, *number};
}

bool is_master_role(const Reply& reply) {
  return role_name(reply) == "master";
}

std::string role_name(const Reply& reply) {
  if (reply.type != Reply::Type::array || reply.elements.empty()) return "unknown";
  const Reply& role = reply.elements[0];
  if (role.type != Reply::Type::string && role.type != Reply::Type::status) return "unknown";
  return role.str;
}

std::optional<NodeAddress> parse_switch_master(std::string_view payload,
                                               std::string_view master_name) {
  auto words = split_spaces(payload);
  if (words.size() != 5 || words[0] != master_name || words[3].empty()) return std::nullopt;
  auto port = parse_port(words[4]);
  if (!port) return std::nullopt;
  return NodeAddress{std::string(words[3]), *port};
}

conf::RedisConfig sentinel_connection_config(const conf::RedisConfig& config) {
  conf::RedisConfig sentinel = config;
  sentinel.password_env.clear();
  sentinel.database = 0;
  sentinel.cluster_seeds = config.sentinels;
  sentinel.sentinels.clear();
  sentinel.sentinel_master.clear();
  if (auto first =
          config.sentinels.empty() ? std::nullopt : parse_node_address(config.sentinels.front())) {
    sentinel.host = first->host;
    sentinel.port = first->port;
  }
  return sentinel;
}

}  // namespace keygate::redis
