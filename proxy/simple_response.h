// The upstream response keygate sees most: a whole, small response of known length, already in
// the connection's buffer. It is read in place, its fields kept as views into the buffer,
// instead of through Beast's parser, which allocates every field and files it in a tree only
// for the head to be written out again in one pass (append_forwarded_simple_head).
//
// The accepted form is a strict subset of what Beast's parser accepts, with the same meaning:
// anything else (1xx, 204, 304, chunked or close-delimited bodies, repeated Content-Length or
// Connection fields, namesakes apart, obs-fold, bytes outside printable ASCII and HTAB, a head
// over the limit, more than kMaxFields fields) is left to Beast's parser, which decides as
// before. The replay
// of tests/fuzz/simple_response/ checks that both read every accepted response alike.
#pragma once

#include <boost/container/small_vector.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace keygate::proxy {

struct SimpleResponse {
  static constexpr std::size_t kMaxFields = 32;
  struct Field {
    std::string_view name;
    std::string_view value;  // trimmed
    // The line is exactly "name: value\r\n", the way keygate writes a field: it can be
    // copied as it stands (with its neighbours, when they are too).
    bool canonical = false;
  };

  unsigned version = 11;  // 10 or 11
  unsigned status = 0;    // 200-599, not 204 or 304
  std::string_view reason;
  boost::container::small_vector<Field, 12> fields;  // in order, Content-Length included
  std::string_view connection;                       // the Connection value; empty if none
  std::uint64_t content_length = 0;
  bool keep_alive = false;     // as Beast's header::keep_alive() reads the head
  std::size_t head_bytes = 0;  // start line and fields, with the blank line
  std::string_view body;       // content_length bytes straight after the head
};

enum class SimpleParse {
  complete,     // `out` holds the response
  incomplete,   // the form so far is simple, but the head or body is not all here yet
  unsupported,  // not the simple form: Beast's parser reads it
};

// Reads a whole response from the start of `data`. The views point into `data`; bytes after
// the body stay unread. A head over `max_head_bytes` or a body over `max_body_bytes` is
// unsupported.
SimpleParse parse_simple_response(std::string_view data, std::size_t max_head_bytes,
                                  std::size_t max_body_bytes, SimpleResponse& out);

}  // namespace keygate::proxy
