// A loopback TCP port that was free a moment ago, for servers a test starts.
#pragma once

#include <cstdint>

namespace keygate::testing {

// Binds 127.0.0.1:0, reads the port the kernel chose and closes the socket. Another process may
// take the port before the caller binds it: callers that start a server retry on a bind failure.
// Throws std::runtime_error if no socket can be bound at all.
std::uint16_t pick_free_port();

}  // namespace keygate::testing
