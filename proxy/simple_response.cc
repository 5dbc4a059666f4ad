#include "proxy/simple_response.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "proxy/ascii.h"

namespace keygate::proxy {
namespace {

// RFC 9110 tchar: what a field name (and a Connection token) is made of.
constexpr std::array<bool, 256> kToken = [] {
  std::array<bool, 256> token{};
  for (int c = 0; c < 256; ++c)
    token[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) token[static_cast<unsigned char>(c)] = true;
  return token;
}();

// Printable ASCII and HTAB: obs-text and control characters leave the form to Beast.
constexpr std::array<bool, 256> kPlainText = [] {
  std::array<bool, 256> plain{};
  for (int c = 0x20; c < 0x7f; ++c) plain[c] = true;
  plain['\t'] = true;
  return plain;
}();

bool is_token(char c) {
  return kToken[static_cast<unsigned char>(c)];
}

bool is_plain_text(char c) {
  return kPlainText[static_cast<unsigned char>(c)];
}

// The first byte from `p` on that is not printable ASCII or HTAB. Values are most of a head's
// bytes: eight go at a time while none is below 0x20 or above 0x7e (a byte that is sets its
// high bit in `below` or `above`, without carries between bytes); the bytes from the first
// word that has one (which may be a tab) go one at a time.
const char* skip_plain_text(const char* p, const char* end) {
  constexpr std::uint64_t kEach = 0x0101010101010101;
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof word);
    const std::uint64_t below = (word - 0x20 * kEach) & ~word;
    const std::uint64_t above = ((word & (0x7f * kEach)) + kEach) | word;
    if (((below | above) & (0x80 * kEach)) != 0) break;
    p += 8;
  }
  while (p < end && is_plain_text(*p)) ++p;
  return p;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// A comma-separated list of tokens, with optional whitespace around each; `close` and
// `keep_alive` say which of those two it names, in any case. False for any other form.
bool read_connection(std::string_view value, bool& close, bool& keep_alive) {
  close = keep_alive = false;
  std::size_t at = 0;
  while (at < value.size()) {
    while (at < value.size() && (is_space(value[at]) || value[at] == ',')) ++at;
    const std::size_t start = at;
    while (at < value.size() && is_token(value[at])) ++at;
    const std::string_view token = value.substr(start, at - start);
    while (at < value.size() && is_space(value[at])) ++at;
    if (at < value.size() && value[at] != ',') return false;
    if (token.size() == 5 && iequals(token, "close")) close = true;
    if (token.size() == 10 && iequals(token, "keep-alive")) keep_alive = true;
  }
  return true;
}

// Field lines from `p` to the blank line, in one pass over the bytes. `end` is where the head
// limit or the data ends, whichever is first; running into it is `short_of_data` (the head may
// still come) or, at the limit, unsupported.
class FieldReader {
 public:
  FieldReader(const char* p, const char* end, SimpleParse short_of_data)
      : p_(p), end_(end), short_(short_of_data) {}

  // Reads the status line's reason, up to and with its CRLF.
  SimpleParse reason(std::string_view& out) {
    const char* first = p_;
    p_ = skip_plain_text(p_, end_);
    out = std::string_view(first, static_cast<std::size_t>(p_ - first));
    return line_end();
  }

  // The next field, or `done` at the blank line that ends the head.
  SimpleParse field(SimpleResponse::Field& out, bool& done) {
    if (end_ - p_ < 2) return short_;
    if (p_[0] == '\r' && p_[1] == '\n') {
      p_ += 2;
      done = true;
      return SimpleParse::complete;
    }
    const char* name = p_;
    while (p_ < end_ && is_token(*p_)) ++p_;
    if (p_ == end_) return short_;
    // An empty name, a character outside tchar, obs-fold (a line starting with whitespace)
    // and a bare LF all end here.
    if (p_ == name || *p_ != ':') return SimpleParse::unsupported;
    out.name = std::string_view(name, static_cast<std::size_t>(p_ - name));
    const char* colon = p_++;
    while (p_ < end_ && is_space(*p_)) ++p_;
    const char* first = p_;
    p_ = skip_plain_text(p_, end_);
    const char* last = p_;
    while (last > first && is_space(last[-1])) --last;
    out.value = std::string_view(first, static_cast<std::size_t>(last - first));
    out.canonical = first == colon + 2 && colon[1] == ' ' && last == p_;
    return line_end();
  }

  const char* position() const { return p_; }

 private:
  SimpleParse line_end() {
    if (end_ - p_ < 2) return short_;
    if (p_[0] != '\r' || p_[1] != '\n') return SimpleParse::unsupported;
    p_ += 2;
    return SimpleParse::complete;
  }

  const char* p_;
  const char* end_;
  SimpleParse short_;
};

// Beast files a field under its name's last earlier field (so a name's fields stay together),
// which reorders fields whose namesakes are not adjacent: such a response is left to Beast,
// so that both ways forward the same bytes.
bool follows_its_namesakes(std::span<const SimpleResponse::Field> earlier, std::string_view name) {
  if (earlier.empty()) return true;
  const std::string_view previous = earlier.back().name;
  if (previous.size() == name.size() && iequals(previous, name)) return true;
  for (const SimpleResponse::Field& field : earlier.first(earlier.size() - 1))
    if (field.name.size() == name.size() && iequals(field.name, name)) return false;
  return true;
}

}  // namespace

SimpleParse parse_simple_response(std::string_view data, std::size_t max_head_bytes,
                                  std::size_t max_body_bytes, SimpleResponse& out) {
  // Near the limit, where Beast's own count of the head could differ by a line ending, Beast
  // decides: the head must end 8 bytes short of it. Short of the limit, a partial head is
  // incomplete, as for Beast.
  const std::size_t room = max_head_bytes > 8 ? max_head_bytes - 8 : 0;
  const SimpleParse short_of_data =
      data.size() < room ? SimpleParse::incomplete : SimpleParse::unsupported;
  const std::string_view head = data.substr(0, room);

  // "HTTP/1.x DDD "
  if (head.size() < 13) return short_of_data;
  if (std::memcmp(head.data(), "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') ||
      head[8] != ' ' || !is_digit(head[9]) || !is_digit(head[10]) || !is_digit(head[11]) ||
      head[12] != ' ')
    return SimpleParse::unsupported;
  out.version = head[7] == '1' ? 11 : 10;
  out.status =
      static_cast<unsigned>((head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0'));
  if (out.status < 200 || out.status > 599 || out.status == 204 || out.status == 304)
    return SimpleParse::unsupported;

  FieldReader reader(head.data() + 13, head.data() + head.size(), short_of_data);
  if (const auto r = reader.reason(out.reason); r != SimpleParse::complete) return r;
  out.fields.clear();
  out.connection = {};
  bool have_length = false;
  bool have_connection = false;
  for (bool done = false;;) {
    SimpleResponse::Field field;
    if (const auto r = reader.field(field, done); r != SimpleParse::complete) return r;
    if (done) break;
    if (out.fields.size() == SimpleResponse::kMaxFields) return SimpleParse::unsupported;
    if (!follows_its_namesakes(out.fields, field.name)) return SimpleParse::unsupported;
    out.fields.push_back(field);
    const std::string_view name = field.name;
    const std::string_view value = field.value;
    if (name.size() == 14 && iequals(name, "content-length")) {
      if (have_length || value.empty() || value.size() > 19) return SimpleParse::unsupported;
      std::uint64_t length = 0;
      for (char c : value) {
        if (!is_digit(c)) return SimpleParse::unsupported;
        length = length * 10 + static_cast<std::uint64_t>(c - '0');
      }
      have_length = true;
      out.content_length = length;
    } else if (name.size() == 17 && iequals(name, "transfer-encoding")) {
      return SimpleParse::unsupported;
    } else if (name.size() == 10 && iequals(name, "connection")) {
      // Beast reads only the first Connection field for keep-alive: a second one would let
      // the two readings differ.
      if (have_connection) return SimpleParse::unsupported;
      have_connection = true;
      out.connection = value;
    }
  }
  out.head_bytes = static_cast<std::size_t>(reader.position() - data.data());
  if (!have_length || out.content_length > max_body_bytes) return SimpleParse::unsupported;

  bool close = false;
  bool keep_alive = false;
  if (!read_connection(out.connection, close, keep_alive)) return SimpleParse::unsupported;
  out.keep_alive = out.version >= 11 ? !close : keep_alive;

  if (data.size() - out.head_bytes < out.content_length) return SimpleParse::incomplete;
  out.body = data.substr(out.head_bytes, out.content_length);
  return SimpleParse::complete;
}

}  // namespace keygate::proxy
