// One client connection: reads requests, runs the policy steps, relays them upstream and
// streams the responses back, keep-alive, until the client leaves, a deadline passes or the
// process drains. Lives on its worker's thread only.
#pragma once

#include "proxy/asio_aliases.h"

namespace keygate::proxy {

class Worker;

class HttpSession {
 public:
  // Takes ownership of an accepted socket whose executor is `worker`'s io_context.
  static void start(Worker& worker, tcp::socket socket);

  // Closes the connection when it is waiting for the next keep-alive request (drain).
  virtual void close_if_idle() = 0;

 protected:
  virtual ~HttpSession() = default;
};

}  // namespace keygate::proxy
