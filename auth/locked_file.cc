#include "auth/locked_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace keygate::auth::locked_file {
namespace {

StoreStatus io_error(const std::string& path, const std::string& what, int error) {
  return StoreStatus::error(StoreErrc::unavailable,
                            path + ": " + what + ": " + std::strerror(error));
}

class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // close() reports deferred write errors (NFS), so the writer checks it.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

class FileLock final : public Lock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd() const { return fd_.get(); }

 private:
  Descriptor fd_;  // closing it releases the lock
};

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

StoreResult<std::unique_ptr<Lock>> lock(const std::string& path,
                                        std::chrono::milliseconds timeout) {
  const std::string lock_path = path + ".lock";
  auto held =
      std::make_unique<FileLock>(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (held->fd() < 0) return {io_error(lock_path, "cannot open lock file", errno), {}};
  // Poll rather than block, so a wedged writer turns into an error instead of a hang.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(held->fd(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      return {io_error(lock_path, "cannot lock", errno), {}};
    if (std::chrono::steady_clock::now() >= deadline)
      return {StoreStatus::error(StoreErrc::busy, lock_path + ": still locked after " +
                                                      std::to_string(timeout.count()) + " ms"),
              {}};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {StoreStatus::success(), std::move(held)};
}

StoreResult<std::optional<std::string>> read(const std::string& path, std::size_t max_bytes) {
  Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return {StoreStatus::success(), std::nullopt};
    return {io_error(path, "cannot open", errno), {}};
  }
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return {io_error(path, "cannot read", errno), {}};
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > max_bytes)
      return {StoreStatus::error(StoreErrc::corrupt,
                                 path + ": larger than " + std::to_string(max_bytes) + " bytes"),
              {}};
  }
  return {StoreStatus::success(), std::move(text)};
}

StoreStatus replace(const std::string& path, std::string_view text) {
  // A fixed temp name is safe: only the holder of the lock writes it.
  const std::string temp_path = path + ".tmp";
  mode_t mode = 0644;
  struct stat existing {};
  if (::stat(path.c_str(), &existing) == 0) mode = existing.st_mode & 07777;
  Descriptor fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) return io_error(temp_path, "cannot create", errno);
  if (!write_all(fd.get(), text)) return io_error(temp_path, "cannot write", errno);
  if (::fsync(fd.get()) != 0) return io_error(temp_path, "cannot fsync", errno);
  if (fd.close() != 0) return io_error(temp_path, "cannot close", errno);
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp_path.c_str());
    return io_error(path, "cannot replace", error);
  }
  // The rename is durable only once the directory entry is.
  const std::string directory = directory_of(path);
  Descriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0)
    return io_error(directory, "cannot fsync directory", errno);
  return StoreStatus::success();
}

}  // namespace keygate::auth::locked_file
