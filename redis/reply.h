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
};

struct Result {
  Status status = Status::ok;
  Reply reply;
  bool ok() const { return status == Status::ok && !reply.is_error(); }
};

}  // namespace keygate::redis
