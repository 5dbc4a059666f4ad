// File primitives of the key file and the usage document: an exclusive lock beside the file,
// bounded whole-file reads and crash-safe replacement (temp file, fsync, rename, fsync of the
// directory; docs/file-store.md), so a reader never sees half a document.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/key_repository.h"

namespace keygate::auth::locked_file {

// Held for the lifetime of the object; released by its destructor.
class Lock {
 public:
  virtual ~Lock() = default;
};

// flock(LOCK_EX) on "<path>.lock", polling until `timeout` (then StoreErrc::busy). A separate
// lock file, because the data file itself is replaced by rename.
StoreResult<std::unique_ptr<Lock>> lock(const std::string& path, std::chrono::milliseconds timeout);

// The whole file; nullopt when it does not exist; StoreErrc::corrupt past `max_bytes`.
StoreResult<std::optional<std::string>> read(const std::string& path, std::size_t max_bytes);

// Replaces the file atomically with `text`, keeping its permissions. Call with the lock held.
StoreStatus replace(const std::string& path, std::string_view text);

}  // namespace keygate::auth::locked_file
