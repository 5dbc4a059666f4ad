// An owned copy of a hiredis reply: safe to keep after the hiredis callback returns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace keygate::redis {

struct Reply {
  enum class Type { nil, status, error, integer, string, array };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string str;  // status, error and string replies
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::error; }
};

// Why a command produced no reply.
enum class Status {
  ok,            // `reply` is valid (it may still be a Redis error reply)
  timeout,       // the deadline passed before the reply came
  disconnected,  // not connected, or the connection dropped while waiting
  cancelled,     // the client was stopped
  overloaded,    // refused at once: too many commands already waiting on this connection
};

// For logs and metrics labels.
constexpr const char* to_string(Status status) {
  switch (status) {
    case Status::ok:
      return "ok";
    case Status::timeout:
      return "timeout";
    case Status::disconnected:
      return "disconnected";
    case Status::cancelled:
      return "cancelled";
    case Status::overloaded:
      return "overloaded";
  }
  return "unknown";
}

struct Result {
  Status status = Status::ok;
  Reply reply;
  bool ok() const { return status == Status::ok && !reply.is_error(); }
};

}  // namespace keygate::redis
