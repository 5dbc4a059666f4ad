// One client connection: reads requests, runs the policy steps, relays them upstream and
// streams the responses back, keep-alive, until the client leaves, a deadline passes or the
// process drains. Lives on its worker's thread only.
#pragma once

#include <chrono>
#include <memory>

#include "proxy/asio_aliases.h"
#include "proxy/coarse_clock.h"

namespace keygate::proxy {

class Worker;
class TlsServerContext;

class HttpSession {
 public:
  // Takes ownership of an accepted socket whose executor is `worker`'s io_context;
  // `listener` indexes the configuration's listeners; with `tls`, the connection starts with
  // a TLS handshake.
  static void start(Worker& worker, Socket socket, std::size_t listener,
                    std::shared_ptr<TlsServerContext> tls = nullptr);

  // Closes the connection when it is waiting for the next keep-alive request (drain).
  virtual void close_if_idle() = 0;
  // Cancels the operation in progress when its deadline has passed. Deadlines are checked by
  // one sweep per worker instead of a timer per socket operation, which would cost two
  // handler runs and a locked timer-queue update for every read and write.
  virtual void check_deadline(CoarseClock::time_point now) = 0;

 protected:
  virtual ~HttpSession() = default;
};

}  // namespace keygate::proxy
