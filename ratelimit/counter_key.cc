#include "ratelimit/counter_key.h"

#include <algorithm>
#include <array>

namespace keygate::ratelimit {
namespace {

constexpr std::array<bool, 256> kSafe = [] {
  std::array<bool, 256> safe{};
  for (int c = 0; c < 256; ++c)
    safe[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '@';
  return safe;
}();

bool is_safe(char c) {
  return kSafe[static_cast<unsigned char>(c)];
}

struct Scope {
  std::string_view kind;
  std::string_view id;
};

Scope scope_of(Counter per, const Subject& subject) {
  const Scope ip{"ip", subject.client_ip};
  switch (per) {
    case Counter::key:
      return subject.key_id.empty() ? ip : Scope{"key", subject.key_id};
    case Counter::org:
      if (!subject.org_id.empty()) return {"org", subject.org_id};
      return subject.key_id.empty() ? ip : Scope{"key", subject.key_id};
    case Counter::route:
      return {"route", subject.route};
    case Counter::client_ip:
      return ip;
  }
  return ip;
}

}  // namespace

void append_escaped(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  // Ids are almost always safe as they are: runs of safe characters go in one append.
  while (!value.empty()) {
    const auto run = static_cast<std::size_t>(
        std::find_if_not(value.begin(), value.end(), is_safe) - value.begin());
    out.append(value.substr(0, run));
    if (run == value.size()) return;
    const auto byte = static_cast<unsigned char>(value[run]);
    const char escaped[3] = {'%', kHex[byte >> 4], kHex[byte & 0xF]};
    out.append(escaped, sizeof escaped);
    value.remove_prefix(run + 1);
  }
}

namespace {

// What the hash tag is made of: the org when there is one, else the key id, else the client
// address (marked, so that no id can pass for an address).
struct Tag {
  bool by_address;
  std::string_view id;
};

Tag tag_of(const Subject& subject) {
  if (!subject.org_id.empty()) return {false, subject.org_id};
  if (!subject.key_id.empty()) return {false, subject.key_id};
  return {true, subject.client_ip};
}

void append_hash_tag(std::string& out, const Subject& subject) {
  const Tag tag = tag_of(subject);
  if (tag.by_address) out.append("ip:");
  append_escaped(out, tag.id);
}

// Length first, so that no value can run into the next.
void append_part(std::string& out, std::string_view value) {
  const auto size = static_cast<std::uint32_t>(value.size());
  out.append(reinterpret_cast<const char*>(&size), sizeof size);
  out.append(value);
}

}  // namespace

std::string hash_tag(const Subject& subject) {
  std::string tag;
  append_hash_tag(tag, subject);
  return tag;
}

void append_counter_key(std::string& out, std::string_view prefix, const EffectivePolicy& policy,
                        const Subject& subject) {
  const Scope scope = scope_of(policy.per, subject);
  out.append(prefix);
  out.append("rl:{");
  append_hash_tag(out, subject);
  out.append("}:");
  append_escaped(out, policy.name);
  out.push_back(':');
  out.append(scope.kind);
  out.push_back(':');
  append_escaped(out, scope.id);
}

void append_counter_identity(std::string& out, const EffectivePolicy& policy,
                             const Subject& subject) {
  const Scope scope = scope_of(policy.per, subject);
  const Tag tag = tag_of(subject);
  append_part(out, tag.by_address ? "ip" : "");
  append_part(out, tag.id);
  append_part(out, policy.name);
  append_part(out, scope.kind);
  append_part(out, scope.id);
}

std::string counter_key(std::string_view prefix, const EffectivePolicy& policy,
                        const Subject& subject) {
  std::string key;
  key.reserve(prefix.size() + 16 + subject.org_id.size() + policy.name.size() +
              subject.key_id.size() + subject.client_ip.size());
  append_counter_key(key, prefix, policy, subject);
  return key;
}

}  // namespace keygate::ratelimit
