// Message bodies as the proxy relays them: Beast's request or response parser with a
// buffer_body, filled piece by piece from a fixed buffer (relay_body in http_session.cc), with
// or without a body limit. The same bytes are parsed twice, all at once and in small pieces
// as they could arrive from a socket; both must read the same body and end the same way.
//
// Input: one flags byte, then the bytes. flags bit 0: a response instead of a request; bit 1:
// the bytes are a chunked body after a fixed head (so the fuzzer works on the chunk syntax
// only) instead of a whole message; bits 2-4: the piece size of the second parse (1..8 bytes
// at a time, times 7 when bit 5 is set); bits 6-7: no body limit, or 0, 16 or 4096 bytes
// (requests only, as in the proxy).
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/http_fields.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace http = boost::beast::http;
using keygate::proxy::FieldAllocator;

// The proxy's relay buffer is 64 KiB; a small one here makes the buffer_body's "buffer full"
// path (need_buffer) common.
constexpr std::size_t kRelayBytes = 7;

struct Outcome {
  std::string body;
  bool header_done = false;
  bool done = false;
  bool body_limit_hit = false;
  bool failed = false;  // any other parse error
};

template <bool isRequest>
Outcome parse(std::string_view bytes, std::size_t piece, std::optional<std::uint64_t> limit) {
  http::parser<isRequest, http::buffer_body, FieldAllocator<char>> p;
  p.header_limit(16 * 1024);
  if (limit)
    p.body_limit(*limit);
  else
    p.body_limit(boost::none);
  Outcome out;
  char buf[kRelayBytes];
  std::size_t consumed = 0;
  std::size_t available = std::min(piece, bytes.size());  // what "has arrived" so far
  bool eof_sent = false;
  while (!p.is_done()) {
    auto& body = p.get().body();
    body.data = buf;
    body.size = sizeof buf;
    boost::system::error_code ec;
    const std::size_t n =
        p.put(boost::asio::buffer(bytes.data() + consumed, available - consumed), ec);
    FUZZ_CHECK(n <= available - consumed);
    consumed += n;
    const std::size_t produced = sizeof buf - body.size;
    out.body.append(buf, produced);
    if (ec == http::error::need_buffer) continue;
    if (ec == http::error::need_more || (!ec && n == 0 && produced == 0)) {
      if (available == bytes.size()) {
        // The peer closed: a response without a length ends here, anything else is cut.
        if (eof_sent) break;
        eof_sent = true;
        boost::system::error_code eof_ec;
        p.put_eof(eof_ec);
        if (eof_ec && eof_ec != http::error::partial_message) out.failed = true;
        break;
      }
      available = std::min(bytes.size(), available + piece);
      continue;
    }
    if (ec == http::error::body_limit) {
      out.body_limit_hit = true;
      break;
    }
    if (ec) {
      out.failed = true;
      break;
    }
  }
  out.header_done = p.is_header_done();
  out.done = p.is_done();
  if (out.done && !out.body_limit_hit && !out.failed) {
    // A complete message's body is what the framing announced, and within the limit.
    if (limit) FUZZ_CHECK(out.body.size() <= *limit);
    // (1xx, 204 and 304 responses have no body whatever Content-Length says.)
    bool bodyless = false;
    if constexpr (!isRequest) {
      const unsigned status = p.get().result_int();
      bodyless = status / 100 == 1 || status == 204 || status == 304;
    }
    if (p.content_length() && !bodyless) FUZZ_CHECK(out.body.size() == *p.content_length());
    if (bodyless) FUZZ_CHECK(out.body.empty());
    if (!isRequest && p.chunked()) FUZZ_CHECK(out.body.size() <= bytes.size());
  }
  FUZZ_CHECK(out.body.size() <= bytes.size());
  return out;
}

template <bool isRequest>
void check(std::string_view bytes, std::size_t piece, std::optional<std::uint64_t> limit) {
  const Outcome whole = parse<isRequest>(bytes, bytes.size() == 0 ? 1 : bytes.size(), limit);
  const Outcome pieces = parse<isRequest>(bytes, piece, limit);
  // A malformed head can be diagnosed as soon as enough of it is there or only at the end of
  // the input (as a partial message): Beast may tell either. What must agree is whether the
  // message was read completely and within the limit, and what its body was.
  const auto complete = [](const Outcome& o) { return o.done && !o.failed && !o.body_limit_hit; };
  FUZZ_CHECK(complete(whole) == complete(pieces));
  if (complete(whole)) FUZZ_CHECK(whole.body == pieces.body);
  // Which error a broken message gets may differ too: Beast charges a chunk's size to the body
  // limit each time it rereads an incomplete chunk header (a quoted chunk-ext running past the
  // line end), so such a message can end as body_limit when read in pieces, bad_chunk at once.
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  std::string bytes;
  const bool response = flags & 1;
  if (flags & 2)
    bytes = response ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     : "POST /v1/things HTTP/1.1\r\nHost: api.example.com\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n";
  bytes.append(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t piece = 1 + ((flags >> 2) & 7);
  if (flags & 32) piece *= 7;
  constexpr std::uint64_t limits[] = {0, 0, 16, 4096};
  std::optional<std::uint64_t> limit;
  if ((flags >> 6) != 0) limit = limits[flags >> 6];
  // The proxy reads responses without a body limit. (Beast charges a read-until-close body's
  // limit for every byte offered rather than taken, so a small buffer_body trips it early.)
  if (response)
    check<false>(bytes, piece, std::nullopt);
  else
    check<true>(bytes, piece, limit);
  return 0;
}
