// Shared pieces of the store, manager and CLI tests: a temporary directory, a manual clock, a
// KeysConfig with plans, and a "store backend" (file or real redis-server) that can also dump
// every byte it holds, so tests can prove a raw key never reached the store.
#pragma once

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <sys/time.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "auth/file_key_store.h"
#include "auth/key_repository.h"
#include "auth/redis_key_repository.h"
#include "conf/config.h"
#include "conf/config_defaults.h"
#include "redis/sync_client.h"
#include "tests/support/redis_server.h"
#include "tests/unit/auth/auth_test_config.h"

namespace keygate::auth::testing {

inline constexpr UnixSeconds kStartTime = 1'714'557'600;  // 2024-05-01T10:00:00Z

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "keygate-store-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// The test KeysConfig with the product's plans (free 1, starter 2, growth 5, scale 10,
// enterprise unlimited) and every (environment, type) prefix used below.
inline conf::KeysConfig keys_config_with_plans() {
  conf::KeysConfig keys = test_keys_config();
  // The example plans of docs/configuration.md, configured explicitly: keygate has no default.
  keys.plans = {{"free", 1, {}, 30000},
                {"starter", 2, {}, std::nullopt},
                {"growth", 5, {}, std::nullopt},
                {"scale", 10, {}, std::nullopt},
                {"enterprise", std::nullopt, {}, std::nullopt}};
  keys.default_plan = "free";
  return keys;
}

inline conf::RedisConfig redis_config(std::uint16_t port) {
  conf::RedisConfig config;
  config.host = "127.0.0.1";
  config.port = port;
  config.command_timeout = std::chrono::milliseconds(2000);
  config.connect_timeout = std::chrono::milliseconds(2000);
  return config;
}

// A store to run the same tests against.
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  virtual std::shared_ptr<KeyRepository> open() = 0;
  // Every byte the store holds (file contents, or every Redis key name and value).
  virtual std::string dump() = 0;
  virtual bool publishes() const = 0;
};

class FileBackend final : public StoreBackend {
 public:
  std::shared_ptr<KeyRepository> open() override { return std::make_shared<FileKeyStore>(path()); }
  std::string dump() override {
    std::string all;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path()))
      all += entry.path().filename().string() + "\n" + read_text(entry.path().string());
    return all;
  }
  bool publishes() const override { return false; }
  std::string path() const { return dir_.file("keys.json"); }

 private:
  TempDir dir_;
};

class RedisBackend final : public StoreBackend {
 public:
  explicit RedisBackend(keygate::testing::RedisServer& server) : server_(server) {
    server_.command({"FLUSHALL"});
  }
  std::shared_ptr<KeyRepository> open() override {
    std::string error;
    auto client = redis::connect_sync(config(), &error);
    if (!client) throw std::runtime_error("connect_sync: " + error);
    return std::make_shared<RedisKeyRepository>(std::move(client), config());
  }
  std::string dump() override {
    std::string all;
    redis::Reply keys = server_.command({"KEYS", "*"});
    for (const redis::Reply& key : keys.elements) {
      all += key.str + "\n";
      const std::string type = server_.command({"TYPE", key.str}).str;
      if (type == "string") {
        all += server_.command({"GET", key.str}).str + "\n";
      } else if (type == "set") {
        for (const redis::Reply& member : server_.command({"SMEMBERS", key.str}).elements)
          all += member.str + "\n";
      } else {
        all += "<" + type + ">\n";
      }
    }
    return all;
  }
  bool publishes() const override { return true; }
  conf::RedisConfig config() const { return redis_config(server_.port()); }

 private:
  keygate::testing::RedisServer& server_;
};

// A raw hiredis connection in SUBSCRIBE mode, to see what the store publishes.
class Subscription {
 public:
  Subscription(std::uint16_t port, const std::string& channel) {
    context_ = redisConnect("127.0.0.1", port);
    if (context_ == nullptr || context_->err) throw std::runtime_error("redisConnect failed");
    timeval timeout{2, 0};
    redisSetTimeout(context_, timeout);
    auto* reply = static_cast<redisReply*>(redisCommand(context_, "SUBSCRIBE %s", channel.c_str()));
    if (reply == nullptr) throw std::runtime_error("SUBSCRIBE failed");
    freeReplyObject(reply);
  }
  ~Subscription() { redisFree(context_); }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The payload of the next message, or "" after the 2 s timeout.
  std::string next() {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) return {};
    auto* reply = static_cast<redisReply*>(raw);
    std::string payload;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3)
      payload.assign(reply->element[2]->str, reply->element[2]->len);
    freeReplyObject(reply);
    return payload;
  }

 private:
  redisContext* context_ = nullptr;
};

}  // namespace keygate::auth::testing
