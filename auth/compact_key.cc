#include "auth/compact_key.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace keygate::auth {
namespace {

// boost::hash_combine's mixing step, 64-bit.
void combine(std::size_t& seed, std::size_t value) {
  seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 12) + (seed >> 4);
}

void combine_text(std::size_t& seed, std::string_view text) {
  combine(seed, std::hash<std::string_view>{}(text));
}

void combine_texts(std::size_t& seed, const std::vector<std::string>& texts) {
  combine(seed, texts.size());
  for (const auto& text : texts) combine_text(seed, text);
}

// Through the stores a record is at most kMaxRecordJsonBytes (64 KiB), so this never cuts.
std::uint16_t clamped_size(std::size_t size) {
  return static_cast<std::uint16_t>(std::min<std::size_t>(size, UINT16_MAX));
}

}  // namespace

KeyTraits KeyTraits::of(const KeyRecord& key, const OrgRecord* org) {
  KeyTraits traits{key.org,           key.environment,     key.type,    key.scopes,
                   key.allowed_cidrs, key.limit_overrides, std::nullopt};
  if (org) traits.org_record = *org;
  return traits;
}

bool KeyTraits::operator==(const KeyTraits& other) const {
  return org == other.org && environment == other.environment && type == other.type &&
         scopes == other.scopes && allowed_cidrs == other.allowed_cidrs &&
         limit_overrides == other.limit_overrides && org_record == other.org_record;
}

std::size_t hash_value(const KeyTraits& traits) {
  std::size_t seed = 0;
  combine_text(seed, traits.org);
  combine_text(seed, traits.environment);
  combine_text(seed, traits.type);
  combine_texts(seed, traits.scopes);
  combine_texts(seed, traits.allowed_cidrs);
  combine(seed, traits.limit_overrides.size());
  for (const auto& o : traits.limit_overrides) {
    combine_text(seed, o.policy);
    combine(seed, o.limit ? std::size_t(*o.limit) : ~std::size_t{0});
    combine(seed, o.window_ms ? std::size_t(*o.window_ms) : ~std::size_t{0});
  }
  if (traits.org_record) {
    combine_text(seed, traits.org_record->id);
    combine_text(seed, traits.org_record->plan);
    combine(seed, std::size_t(traits.org_record->created_at));
  }
  return seed;
}

CompactKey::CompactKey(const KeyRecord& key, std::shared_ptr<const KeyTraits> traits)
    : traits_(std::move(traits)),
      expires_at_(key.expires_at.value_or(kNone)),
      grace_until_(key.grace_until.value_or(kNone)),
      id_size_(clamped_size(key.id.size())),
      prefix_size_(clamped_size(key.prefix.size())),
      status_(static_cast<std::uint8_t>(key.status)) {
  char* out = inline_text_;
  if (spilled()) out = heap_text_ = new char[std::size_t(id_size_) + prefix_size_];
  std::memcpy(out, key.id.data(), id_size_);
  std::memcpy(out + id_size_, key.prefix.data(), prefix_size_);
}

CompactKey::~CompactKey() {
  if (spilled()) delete[] heap_text_;
}

std::shared_ptr<const CompactKey> CompactKey::make(const KeyRecord& key, const OrgRecord* org) {
  return std::make_shared<const CompactKey>(
      key, std::make_shared<const KeyTraits>(KeyTraits::of(key, org)));
}

}  // namespace keygate::auth
