// Redis replies as keygate receives them: bytes through hiredis's redisReader (the reader its
// connections use), each reply copied by redis::to_reply, then read by what turns replies
// into keygate values: the key lookup script's reply (auth::lookup_result_from_reply) and the
// rate-limit script's (ratelimit::is_script_reply, decision_from_reply, lease_granted).
// Redis is keygate's own store, but a reply must still never crash it or be misread.
#include <hiredis/hiredis.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/redis_key_lookup.h"
#include "ratelimit/limiter_script.h"
#include "redis/reply_convert.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace keygate;

// hiredis 0.14 allocates a multi-bulk's element array as soon as it reads "*<count>", before
// any element arrives; a count of billions is an allocation failure there, not a question
// for keygate's code. Such inputs are skipped.
bool has_huge_count(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '*') continue;
    std::size_t digits = 0;
    std::uint64_t value = 0;
    for (std::size_t j = i + 1; j < bytes.size() && bytes[j] >= '0' && bytes[j] <= '9'; ++j) {
      value = value * 10 + static_cast<unsigned>(bytes[j] - '0');
      if (++digits > 6) return true;
    }
    if (value > 100000) return true;
  }
  return false;
}

void check_copy(const redisReply& from, const redis::Reply& to) {
  switch (from.type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      FUZZ_CHECK(to.str == std::string_view(from.str, from.len));
      FUZZ_CHECK(to.type == (from.type == REDIS_REPLY_STRING   ? redis::Reply::Type::string
                             : from.type == REDIS_REPLY_STATUS ? redis::Reply::Type::status
                                                               : redis::Reply::Type::error));
      break;
    case REDIS_REPLY_INTEGER:
      FUZZ_CHECK(to.type == redis::Reply::Type::integer && to.integer == from.integer);
      break;
    case REDIS_REPLY_ARRAY:
      FUZZ_CHECK(to.type == redis::Reply::Type::array && to.elements.size() == from.elements);
      for (std::size_t i = 0; i < from.elements; ++i) check_copy(*from.element[i], to.elements[i]);
      break;
    default:
      FUZZ_CHECK(to.type == redis::Reply::Type::nil);
  }
}

void check_lookup(const redis::Reply& reply) {
  static const std::string hash(64, 'a');
  const auth::LookupResult result = auth::lookup_result_from_reply(reply, hash);
  switch (result.status) {
    case auth::LookupStatus::found:
      FUZZ_CHECK(result.key && result.key->hash == hash);
      break;
    case auth::LookupStatus::not_found:
      FUZZ_CHECK(reply.type == redis::Reply::Type::nil && !result.key);
      break;
    default:
      FUZZ_CHECK(!result.key);
  }
}

void check_limiter(const redis::Reply& reply) {
  if (reply.type != redis::Reply::Type::array || reply.elements.empty()) return;
  const std::size_t count = (reply.elements.size() - 1) / 4;
  if (!ratelimit::is_script_reply(reply, count)) return;
  std::vector<ratelimit::EffectivePolicy> policies(count);
  for (std::size_t i = 0; i < count; ++i) {
    policies[i].name = "p" + std::to_string(i);
    policies[i].limit = 1 + i;
    policies[i].algorithm = i % 3 == 0 ? ratelimit::Algorithm::fixed_window
                                       : (i % 3 == 1 ? ratelimit::Algorithm::sliding_window
                                                     : ratelimit::Algorithm::token_bucket);
    policies[i].monthly_quota = i % 4 == 3;
  }
  for (std::size_t i = 0; i < count; ++i) (void)ratelimit::lease_granted(reply, i);
  // The batch as two requests: the first policy alone, then the rest.
  const std::size_t first = count / 2;
  for (auto [start, n] : {std::pair{std::size_t{0}, first}, std::pair{first, count - first}}) {
    const ratelimit::Decision d = ratelimit::decision_from_reply(
        reply, start, std::span<const ratelimit::EffectivePolicy>(policies).subspan(start, n));
    FUZZ_CHECK(d.policies.size() == n);
    FUZZ_CHECK(d.retry_after_s >= 0);
    if (d.refused) FUZZ_CHECK(*d.refused < n && !d.policies[*d.refused].allowed);
    if (d.closest) FUZZ_CHECK(*d.closest < n);
    FUZZ_CHECK(d.allowed() == (d.refused == std::nullopt));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (has_huge_count(bytes)) return 0;
  redisReader* reader = redisReaderCreate();
  FUZZ_CHECK(reader != nullptr);
  redisReaderFeed(reader, bytes.data(), bytes.size());
  for (int replies = 0; replies < 64; ++replies) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader, &raw) != REDIS_OK || raw == nullptr) break;
    const auto& reply = *static_cast<const redisReply*>(raw);
    const redis::Reply copy = redis::to_reply(reply);
    check_copy(reply, copy);
    check_lookup(copy);
    check_limiter(copy);
    freeReplyObject(raw);
  }
  redisReaderFree(reader);
  return 0;
}
