// The data path's copy of a key: what authenticating, rate limiting, the access log and usage
// recording read, and nothing more, in about a hundred bytes.
//
// Why not the KeyRecord itself: a KeyRecord is ~440 bytes of fixed fields plus heap strings
// (hash, id, name, ...), and each store answer brings its own OrgRecord. The key cache holds
// up to cache.max_entries keys, so that was most of keygate's memory with many keys (issue 14:
// 100k cached keys within 64 MiB RSS). Here the fields keys have in common (org, environment,
// type, scopes, networks, limit overrides and the org's record) live in one KeyTraits shared
// by every key with the same values (KeyTraitsPool); the key itself keeps only its id, its
// display prefix, its status and its two deadlines. The hash is the cache's key, so it is not
// repeated here; name, created_by and the other management fields stay in the store.
//
// Immutable once built and shared as std::shared_ptr<const CompactKey>; every reference it
// hands out lives as long as the CompactKey.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/key_record.h"

namespace keygate::auth {

struct KeyTraits {
  std::string org;
  std::string environment;
  std::string type;
  std::vector<std::string> scopes;
  std::vector<std::string> allowed_cidrs;
  std::vector<LimitOverride> limit_overrides;
  std::optional<OrgRecord> org_record;  // none: the store has no record of the org

  // The traits of `key` (owned by `org`, which may be null).
  static KeyTraits of(const KeyRecord& key, const OrgRecord* org);
  bool operator==(const KeyTraits& other) const;
};

// Over every field, for KeyTraitsPool.
std::size_t hash_value(const KeyTraits& traits);

class CompactKey {
 public:
  // `traits` must not be null (KeyTraitsPool::intern, or std::make_shared for a one-off).
  CompactKey(const KeyRecord& key, std::shared_ptr<const KeyTraits> traits);
  ~CompactKey();
  CompactKey(const CompactKey&) = delete;
  CompactKey& operator=(const CompactKey&) = delete;

  // With traits of its own, shared with nothing: for tests and one-off checks.
  static std::shared_ptr<const CompactKey> make(const KeyRecord& key,
                                                const OrgRecord* org = nullptr);

  std::string_view id() const { return {text(), id_size_}; }
  std::string_view prefix() const { return {text() + id_size_, prefix_size_}; }
  KeyStatus status() const { return static_cast<KeyStatus>(status_); }
  std::optional<UnixSeconds> expires_at() const { return unless_none(expires_at_); }
  std::optional<UnixSeconds> grace_until() const { return unless_none(grace_until_); }

  const std::string& org() const { return traits_->org; }
  const std::string& environment() const { return traits_->environment; }
  const std::string& type() const { return traits_->type; }
  const std::vector<std::string>& scopes() const { return traits_->scopes; }
  const std::vector<std::string>& allowed_cidrs() const { return traits_->allowed_cidrs; }
  const std::vector<LimitOverride>& limit_overrides() const { return traits_->limit_overrides; }
  // The org's record; null when the store has none.
  const OrgRecord* org_record() const {
    return traits_->org_record ? &*traits_->org_record : nullptr;
  }
  const std::shared_ptr<const KeyTraits>& traits() const { return traits_; }

 private:
  // keygate's own keys have a 28-character id and a 14-character prefix: both fit inline, so a
  // key is one allocation. Longer ones (imported records) spill to the heap.
  static constexpr std::size_t kInlineText = 48;
  static constexpr UnixSeconds kNone = INT64_MIN;

  static std::optional<UnixSeconds> unless_none(UnixSeconds value) {
    return value == kNone ? std::nullopt : std::optional<UnixSeconds>(value);
  }
  bool spilled() const { return std::size_t(id_size_) + prefix_size_ > kInlineText; }
  const char* text() const { return spilled() ? heap_text_ : inline_text_; }

  std::shared_ptr<const KeyTraits> traits_;
  UnixSeconds expires_at_ = kNone;
  UnixSeconds grace_until_ = kNone;
  union {
    char inline_text_[kInlineText];
    char* heap_text_;
  };
  std::uint16_t id_size_ = 0;
  std::uint16_t prefix_size_ = 0;
  std::uint8_t status_ = 0;
};

}  // namespace keygate::auth
