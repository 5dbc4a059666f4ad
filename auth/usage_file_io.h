// File primitives of the usage document: an exclusive lock beside the file, whole-file reads
// and crash-safe replacement (temp file, fsync, rename, fsync of the directory), the same
// discipline as the key file (docs/file-store.md), so a reader never sees half a document.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/key_repository.h"

namespace keygate::auth::usage_file_io {

// A usage document larger than this is refused (a few hundred thousand keys fit).
inline constexpr std::size_t kMaxUsageFileBytes = 128 * 1024 * 1024;

// Held for the lifetime of the object; released by its destructor.
class Lock {
 public:
  virtual ~Lock() = default;
};

// flock(LOCK_EX) on "<path>.lock", polling until `timeout` (then StoreErrc::busy).
StoreResult<std::unique_ptr<Lock>> lock(const std::string& path, std::chrono::milliseconds timeout);

// The whole file; nullopt when it does not exist.
StoreResult<std::optional<std::string>> read(const std::string& path);

// Replaces the file atomically with `text`.
StoreStatus replace(const std::string& path, std::string_view text);

}  // namespace keygate::auth::usage_file_io
