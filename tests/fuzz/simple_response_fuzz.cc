// Upstream responses as exchange() reads them: parse_simple_response first, Beast's parser for
// whatever it leaves. Whenever the in-place reader accepts a response, Beast's parser (same
// head limit, fed as the session feeds it) must read the same status line, fields, length,
// keep-alive and body from it, and the forwarded heads written from the two readings must be
// the same bytes (tests/support/simple_response_oracle.h). Bytes cut off the end of a simple
// or incomplete response never make it unsupported, and an incomplete one stays incomplete.
//
// Input: the bytes of a response, read with a head limit of 4 KiB and a body limit of 1 KiB,
// so that both limits are within reach of the fuzzer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "proxy/simple_response.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/support/simple_response_oracle.h"

namespace {

constexpr std::size_t kHeadLimit = 4096;
constexpr std::size_t kBodyLimit = 1024;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keygate;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  proxy::SimpleResponse res;
  const auto verdict = proxy::parse_simple_response(bytes, kHeadLimit, kBodyLimit, res);
  if (verdict == proxy::SimpleParse::complete) {
    const std::string disagreement = testing::simple_response_disagreement(
        bytes.substr(0, res.head_bytes + res.body.size()), kHeadLimit, res);
    if (!disagreement.empty()) std::fprintf(stderr, "%s\n", disagreement.c_str());
    FUZZ_CHECK(disagreement.empty());
    FUZZ_CHECK(res.fields.size() <= proxy::SimpleResponse::kMaxFields);
    FUZZ_CHECK(res.body.size() == res.content_length && res.content_length <= kBodyLimit);
  }
  // What arrives later can only complete a response, not change the reading of its start.
  if (verdict != proxy::SimpleParse::unsupported && size > 0) {
    proxy::SimpleResponse shorter;
    const auto cut =
        proxy::parse_simple_response(bytes.substr(0, size - 1), kHeadLimit, kBodyLimit, shorter);
    FUZZ_CHECK(cut != proxy::SimpleParse::unsupported);
    if (verdict == proxy::SimpleParse::incomplete)
      FUZZ_CHECK(cut == proxy::SimpleParse::incomplete);
  }
  return 0;
}
