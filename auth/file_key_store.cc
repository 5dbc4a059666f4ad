#include "auth/file_key_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>
#include <unordered_map>

namespace keygate::auth {
namespace {

std::string errno_text(int error) {
  return std::strerror(error);
}

StoreStatus io_error(const std::string& path, const std::string& what, int error) {
  return StoreStatus::error(StoreErrc::unavailable, path + ": " + what + ": " + errno_text(error));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd = -1) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
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

// An exclusive flock on "<path>.lock", released by the destructor. A separate lock file,
// because the data file itself is replaced by rename and a lock on it would not survive.
class ExclusiveLock {
 public:
  static StoreResult<std::unique_ptr<ExclusiveLock>> acquire(const std::string& path,
                                                             std::chrono::milliseconds timeout) {
    const std::string lock_path = path + ".lock";
    auto lock = std::unique_ptr<ExclusiveLock>(
        new ExclusiveLock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644)));
    if (lock->fd_.get() < 0) return {io_error(lock_path, "cannot open lock file", errno), {}};
    // Poll rather than block, so a wedged writer turns into an error instead of a hang.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (::flock(lock->fd_.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR)
        return {io_error(lock_path, "cannot lock", errno), {}};
      if (std::chrono::steady_clock::now() >= deadline)
        return {StoreStatus::error(StoreErrc::busy, lock_path +
                                                        ": still locked by another writer after " +
                                                        std::to_string(timeout.count()) + " ms"),
                {}};
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return {StoreStatus::success(), std::move(lock)};
  }

 private:
  explicit ExclusiveLock(int fd) : fd_(fd) {}
  FileDescriptor fd_;  // closing it releases the lock
};

// The whole file, or nullopt when it does not exist.
StoreResult<std::optional<std::string>> read_whole_file(const std::string& path) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
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
    if (text.size() > kMaxStoreFileBytes)
      return {
          StoreStatus::error(StoreErrc::corrupt, path + ": larger than " +
                                                     std::to_string(kMaxStoreFileBytes) + " bytes"),
          {}};
  }
  return {StoreStatus::success(), std::move(text)};
}

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

const KeyRecord* find_key(const std::vector<KeyRecord>& keys, const std::string& id) {
  for (const KeyRecord& key : keys)
    if (key.id == id) return &key;
  return nullptr;
}

OrgKeys org_view(const StoreDocument& document, const std::string& org) {
  OrgKeys view;
  for (const OrgRecord& record : document.orgs)
    if (record.id == org) view.org = record;
  for (const KeyRecord& key : document.keys)
    if (key.org == org) view.keys.push_back(key);
  return view;
}

// The part of check_changes() that needs the whole file: ids and hashes of other orgs.
StoreStatus check_other_orgs(const StoreDocument& document, const std::string& org,
                             const OrgChanges& changes) {
  for (const KeyRecord& written : changes.put_keys) {
    for (const KeyRecord& key : document.keys) {
      if (key.org == org) continue;
      if (key.id == written.id)
        return StoreStatus::error(StoreErrc::conflict,
                                  "key " + written.id + " already exists in org " + key.org);
      if (key.hash == written.hash)
        return StoreStatus::error(StoreErrc::conflict,
                                  "key " + written.id + " has the same hash as key " + key.id);
    }
  }
  return StoreStatus::success();
}

void apply(StoreDocument& document, const OrgChanges& changes) {
  if (changes.put_org) {
    auto it = std::find_if(document.orgs.begin(), document.orgs.end(),
                           [&](const OrgRecord& org) { return org.id == changes.put_org->id; });
    if (it != document.orgs.end())
      *it = *changes.put_org;
    else
      document.orgs.push_back(*changes.put_org);
  }
  for (const KeyRecord& written : changes.put_keys) {
    auto it = std::find_if(document.keys.begin(), document.keys.end(),
                           [&](const KeyRecord& key) { return key.id == written.id; });
    if (it != document.keys.end())
      *it = written;
    else
      document.keys.push_back(written);
  }
  std::erase_if(document.keys, [&](const KeyRecord& key) {
    return std::find(changes.delete_key_ids.begin(), changes.delete_key_ids.end(), key.id) !=
           changes.delete_key_ids.end();
  });
}

}  // namespace

struct FileKeyStore::Snapshot {
  std::unordered_map<std::string, std::shared_ptr<const KeyRecord>> keys_by_hash;
  std::unordered_map<std::string, std::shared_ptr<const OrgRecord>> orgs;
};

FileKeyStore::FileKeyStore(std::string path, std::chrono::milliseconds lock_timeout)
    : path_(std::move(path)),
      lock_timeout_(lock_timeout),
      snapshot_(std::make_shared<const Snapshot>()) {}

FileKeyStore::~FileKeyStore() = default;

StoreStatus FileKeyStore::reload() {
  std::lock_guard guard(install_mutex_);
  StoreResult<StoreDocument> read = read_document();
  if (!read.ok()) return read.status;
  install(read.value);
  return StoreStatus::success();
}

void FileKeyStore::install(const StoreDocument& document) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->keys_by_hash.reserve(document.keys.size());
  for (const KeyRecord& key : document.keys)
    snapshot->keys_by_hash.emplace(key.hash, std::make_shared<const KeyRecord>(key));
  for (const OrgRecord& org : document.orgs)
    snapshot->orgs.emplace(org.id, std::make_shared<const OrgRecord>(org));
  snapshot_.store(std::move(snapshot));
}

void FileKeyStore::find_by_hash(const std::string& hash, std::function<void(LookupResult)> done) {
  const std::shared_ptr<const Snapshot> snapshot = snapshot_.load();
  LookupResult result;
  auto key = snapshot->keys_by_hash.find(hash);
  if (key == snapshot->keys_by_hash.end()) {
    result.status = LookupStatus::not_found;
  } else {
    result.status = LookupStatus::found;
    result.key = key->second;
    auto org = snapshot->orgs.find(key->second->org);
    if (org != snapshot->orgs.end()) result.org = org->second;
  }
  done(std::move(result));
}

StoreResult<StoreDocument> FileKeyStore::read_document() const {
  auto read = read_whole_file(path_);
  if (!read.ok()) return {std::move(read.status), {}};
  if (!read.value) return {StoreStatus::success(), {}};
  std::string error;
  std::optional<StoreDocument> document = parse_store_document(*read.value, error);
  if (!document) return {StoreStatus::error(StoreErrc::corrupt, path_ + ": " + error), {}};
  return {StoreStatus::success(), std::move(*document)};
}

StoreStatus FileKeyStore::write_document(const StoreDocument& document) const {
  const std::string text = serialize_store_document(document);
  // A fixed temp name is safe: only the holder of the lock writes it.
  const std::string temp_path = path_ + ".tmp";
  mode_t mode = 0644;
  struct stat existing {};
  if (::stat(path_.c_str(), &existing) == 0) mode = existing.st_mode & 07777;

  FileDescriptor fd(::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) return io_error(temp_path, "cannot create", errno);
  if (!write_all(fd.get(), text)) return io_error(temp_path, "cannot write", errno);
  if (::fsync(fd.get()) != 0) return io_error(temp_path, "cannot fsync", errno);
  if (fd.close() != 0) return io_error(temp_path, "cannot close", errno);
  if (::rename(temp_path.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    ::unlink(temp_path.c_str());
    return io_error(path_, "cannot replace", error);
  }
  // The rename is durable only once the directory entry is.
  const std::string directory = directory_of(path_);
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0)
    return io_error(directory, "cannot fsync directory", errno);
  return StoreStatus::success();
}

StoreResult<KeyRecord> FileKeyStore::get_key(const std::string& id) {
  StoreResult<StoreDocument> read = read_document();
  if (!read.ok()) return {std::move(read.status), {}};
  if (const KeyRecord* key = find_key(read.value.keys, id)) return {StoreStatus::success(), *key};
  return {StoreStatus::error(StoreErrc::not_found, "no key " + id), {}};
}

StoreResult<KeyRecord> FileKeyStore::get_key_by_hash(const std::string& hash) {
  StoreResult<StoreDocument> read = read_document();
  if (!read.ok()) return {std::move(read.status), {}};
  for (const KeyRecord& key : read.value.keys)
    if (key.hash == hash) return {StoreStatus::success(), key};
  return {StoreStatus::error(StoreErrc::not_found, "no key with that hash"), {}};
}

StoreResult<OrgKeys> FileKeyStore::read_org(const std::string& org) {
  StoreResult<StoreDocument> read = read_document();
  if (!read.ok()) return {std::move(read.status), {}};
  return {StoreStatus::success(), org_view(read.value, org)};
}

StoreResult<std::vector<OrgRecord>> FileKeyStore::list_orgs() {
  StoreResult<StoreDocument> read = read_document();
  if (!read.ok()) return {std::move(read.status), {}};
  std::vector<OrgRecord> orgs = std::move(read.value.orgs);
  std::sort(orgs.begin(), orgs.end(),
            [](const OrgRecord& a, const OrgRecord& b) { return a.id < b.id; });
  return {StoreStatus::success(), std::move(orgs)};
}

StoreStatus FileKeyStore::transact(const std::string& org, const OrgTransaction& transaction) {
  auto lock = ExclusiveLock::acquire(path_, lock_timeout_);
  if (!lock.ok()) return lock.status;
  StoreResult<StoreDocument> read = read_document();
  if (!read.ok()) return read.status;
  StoreDocument& document = read.value;

  const OrgKeys current = org_view(document, org);
  OrgChanges changes;
  if (!transaction(current, changes))
    return StoreStatus::error(StoreErrc::aborted, "the change was declined");
  if (changes.empty()) return StoreStatus::success();
  if (StoreStatus checked = check_changes(org, current, changes); !checked.ok()) return checked;
  if (StoreStatus checked = check_other_orgs(document, org, changes); !checked.ok()) return checked;

  apply(document, changes);
  std::lock_guard guard(install_mutex_);
  if (StoreStatus written = write_document(document); !written.ok()) return written;
  install(document);
  return StoreStatus::success();
}

StoreStatus FileKeyStore::publish_invalidation(const std::string&) {
  return StoreStatus::success();
}

}  // namespace keygate::auth
