// Calls back when anything in a directory changes (inotify), debounced. Watching the
// directory rather than the file is what survives a Kubernetes ConfigMap update, which
// swaps a `..data` symlink instead of writing the file in place.
#pragma once

#include <sys/inotify.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/asio_aliases.h"

namespace keygate::proxy {

class DirWatcher {
 public:
  // Only changes to `file_names` (entries of `directory`) or to Kubernetes' "..data"-style
  // entries trigger `on_change`: a log file written in the same directory must not.
  DirWatcher(asio::io_context& io, std::string directory, std::vector<std::string> file_names,
             std::function<void()> on_change);
  ~DirWatcher();
  // False (with a reason) when inotify is unavailable; the caller then relies on SIGHUP.
  bool start(std::string* error);

 private:
  void read_events();

  bool interesting(std::string_view name) const;

  std::string directory_;
  std::vector<std::string> file_names_;
  std::function<void()> on_change_;
  asio::posix::stream_descriptor descriptor_;
  asio::steady_timer debounce_;
  alignas(struct inotify_event) char events_[4096];
};

}  // namespace keygate::proxy
