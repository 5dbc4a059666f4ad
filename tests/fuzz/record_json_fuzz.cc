// The record codec of the file store, the Redis values and the admin API: decoding any text
// never throws or crashes, and a record that decodes encodes to text that decodes to the same
// record (encode(decode(x)) is a fixed point of decode-then-encode).
//
// Input: one flags byte (bit 0: an org record instead of a key record), then the JSON text.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/key_record_json.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace keygate::auth;

void check_key(std::string_view text) {
  std::string error;
  const auto record = parse_key_record(text, error);
  if (!record) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  const std::string encoded = key_record_to_json_string(*record);
  std::string error_again;
  const auto again = parse_key_record(encoded, error_again);
  FUZZ_CHECK(again);
  FUZZ_CHECK(key_record_to_json_string(*again) == encoded);
  // The object form (the admin API's) says the same as the text form.
  FUZZ_CHECK(boost::json::serialize(to_json(*record)) == encoded);
  const auto from_value = key_record_from_json(boost::json::value(to_json(*record)), error_again);
  FUZZ_CHECK(from_value && key_record_to_json_string(*from_value) == encoded);
  (void)effective_status(*record, 0);
  (void)effective_status(*record, record->created_at);
}

void check_org(std::string_view text) {
  std::string error;
  const auto record = parse_org_record(text, error);
  if (!record) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  const std::string encoded = org_record_to_json_string(*record);
  std::string error_again;
  const auto again = parse_org_record(encoded, error_again);
  FUZZ_CHECK(again);
  FUZZ_CHECK(org_record_to_json_string(*again) == encoded);
  FUZZ_CHECK(again->id == record->id && again->plan == record->plan &&
             again->created_at == record->created_at);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1)
    check_org(text);
  else
    check_key(text);
  return 0;
}
