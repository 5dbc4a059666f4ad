#include "proxy/dir_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace keygate::proxy {

DirWatcher::DirWatcher(asio::io_context& io, std::string directory,
                       std::vector<std::string> file_names, std::function<void()> on_change)
    : directory_(std::move(directory)),
      file_names_(std::move(file_names)),
      on_change_(std::move(on_change)),
      descriptor_(io),
      debounce_(io) {}

bool DirWatcher::interesting(std::string_view name) const {
  if (name.starts_with("..")) return true;  // a ConfigMap swapping its ..data symlink
  for (const auto& file : file_names_)
    if (name == file) return true;
  return false;
}

DirWatcher::~DirWatcher() {
  boost::system::error_code ec;
  descriptor_.close(ec);
}

bool DirWatcher::start(std::string* error) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    *error = std::string("inotify_init1: ") + std::strerror(errno);
    return false;
  }
  const auto mask =
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB;
  if (inotify_add_watch(fd, directory_.c_str(), mask) < 0) {
    *error = "cannot watch " + directory_ + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  descriptor_.assign(fd);
  read_events();
  return true;
}

void DirWatcher::read_events() {
  descriptor_.async_wait(
      asio::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
        if (ec) return;
        bool changed = false;
        ssize_t n;
        while ((n = ::read(descriptor_.native_handle(), events_, sizeof events_)) > 0) {
          for (ssize_t at = 0; at < n;) {
            const auto* event = reinterpret_cast<const inotify_event*>(events_ + at);
            if (event->len > 0 && interesting(event->name)) changed = true;
            at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
          }
        }
        if (changed) {
          // Editors and ConfigMaps change several entries in a burst:
          // wait for it to settle.
          debounce_.expires_after(std::chrono::milliseconds(100));
          debounce_.async_wait([this](boost::system::error_code tec) {
            if (!tec) on_change_();
          });
        }
        read_events();
      });
}

}  // namespace keygate::proxy
