// Slot computation and the key a command is routed by, checked against the spec's examples and
// against CLUSTER KEYSLOT of a real cluster node.
#include "redis/cluster_slot.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "redis/cluster_client.h"
#include "tests/support/free_port.h"
#include "tests/support/redis_server.h"

namespace keygate::redis {
namespace {

TEST(ClusterSlotTest, Crc16IsXmodem) {
  EXPECT_EQ(crc16("123456789"), 0x31C3);  // the spec's check value
  EXPECT_EQ(crc16(""), 0);
}

TEST(ClusterSlotTest, HashTagsFollowTheSpec) {
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("{user1000}.following"), key_slot("user1000"));
  EXPECT_EQ(key_slot("{user1000}.followers"), key_slot("{user1000}.following"));
  EXPECT_EQ(key_slot("foo{}{bar}"), crc16("foo{}{bar}") % kClusterSlots);  // empty tag: whole key
  EXPECT_EQ(key_slot("foo{{bar}}zap"), key_slot("{bar"));
  EXPECT_EQ(key_slot("foo{bar}{zap}"), key_slot("bar"));
  EXPECT_EQ(key_slot("no{close"), crc16("no{close") % kClusterSlots);
}

TEST(ClusterSlotTest, AgreesWithRedisKeyslot) {
  // The bus port is named: by default it is the port + 10000, which a free port above 55535
  // cannot have.
  keygate::testing::RedisServer server({"",
                                        {"--cluster-enabled", "yes", "--cluster-port",
                                         std::to_string(keygate::testing::pick_free_port())}});
  std::vector<std::string> keys = {
      "a",  "kg:key:{abc}", "kg:rl:{org:acme}:minute", "\xff\x00z", "{", "}",
      "{}", "x{y}z{w}",     std::string(300, 'k')};
  for (int i = 0; i < 200; ++i) keys.push_back("kg:key:" + std::to_string(i * 7919));
  for (const std::string& key : keys) {
    Reply expected = server.command({"CLUSTER", "KEYSLOT", key});
    ASSERT_EQ(expected.type, Reply::Type::integer) << expected.str;
    EXPECT_EQ(key_slot(key), expected.integer) << key;
  }
}

TEST(ClusterSlotTest, RoutingKeyOfCommands) {
  auto key_of = [](std::initializer_list<std::string_view> args) {
    return routing_key(std::span<const std::string_view>(args.begin(), args.size()));
  };
  EXPECT_EQ(key_of({"GET", "k"}), "k");
  EXPECT_EQ(key_of({"hset", "h", "f", "v"}), "h");
  EXPECT_EQ(key_of({"EVALSHA", "sha", "2", "k1", "k2", "arg"}), "k1");
  EXPECT_EQ(key_of({"EVALSHA", "sha", "0", "arg"}), std::nullopt);
  EXPECT_EQ(key_of({"PUBLISH", "channel", "message"}), std::nullopt);
  EXPECT_EQ(key_of({"SCRIPT", "LOAD", "return 1"}), std::nullopt);
  EXPECT_EQ(key_of({"PING"}), std::nullopt);
}

TEST(ClusterSlotTest, NodeAddresses) {
  auto plain = parse_node_address("127.0.0.1:7000");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 7000);
  auto bus = parse_node_address("10.0.0.1:7000@17000");
  ASSERT_TRUE(bus);
  EXPECT_EQ(bus->port, 7000);
  auto v6 = parse_node_address("[::1]:7001");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(parse_node_address("redis-0.redis:6379")->host, "redis-0.redis");
  EXPECT_FALSE(parse_node_address("nohost"));
  EXPECT_FALSE(parse_node_address(":7000"));
  EXPECT_FALSE(parse_node_address("h:0"));
  EXPECT_FALSE(parse_node_address("h:65536"));
  EXPECT_FALSE(parse_node_address("h:12x"));
  EXPECT_FALSE(parse_node_address("::1:7000"));
}

}  // namespace
}  // namespace keygate::redis
