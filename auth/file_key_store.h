// The embedded key store for a single replica without Redis: one JSON file (format in
// file_store_format.h and docs/file-store.md) holding org and key records, hashes only.
//
// Two faces:
//  - KeyLookup (data path): answers from an immutable in-memory snapshot, inline, with one
//    hash-map lookup; the snapshot is a shared_ptr swapped atomically, so lookups never wait
//    for a reload or a write.
//  - KeyRepository (management): every read parses the file afresh, so a CLI invocation sees
//    what another one wrote. Every write holds an exclusive flock on "<file>.lock" around
//    read-modify-write (two invocations cannot lose each other's updates) and replaces the
//    file atomically: temp file in the same directory, fsync, rename, fsync of the directory.
//
// The proxy watches the file and calls reload() on change (then invalidates its cache); a
// write made through this object installs its own result at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "auth/file_store_format.h"
#include "auth/key_lookup.h"
#include "auth/key_repository.h"

namespace keygate::auth {

class FileKeyStore final : public KeyRepository, public KeyLookup {
 public:
  // Does not touch the file; call reload() to fill the lookup snapshot.
  explicit FileKeyStore(std::string path,
                        std::chrono::milliseconds lock_timeout = std::chrono::seconds(10));
  ~FileKeyStore() override;

  const std::string& path() const { return path_; }

  // Re-reads the file into the lookup snapshot. A missing file is an empty store. A file that
  // cannot be read or parsed leaves the previous snapshot in place and returns an error
  // whose message starts with the file name.
  StoreStatus reload();

  // KeyLookup
  void find_by_hash(const std::string& hash, std::function<void(LookupResult)> done) override;

  // KeyRepository
  StoreResult<KeyRecord> get_key(const std::string& id) override;
  StoreResult<KeyRecord> get_key_by_hash(const std::string& hash) override;
  StoreResult<OrgKeys> read_org(const std::string& org) override;
  StoreResult<std::vector<OrgRecord>> list_orgs() override;
  StoreStatus transact(const std::string& org, const OrgTransaction& transaction) override;
  StoreStatus publish_invalidation(const std::string& hash) override;

 private:
  struct Snapshot;

  StoreResult<StoreDocument> read_document() const;
  StoreStatus write_document(const StoreDocument& document) const;
  void install(const StoreDocument& document);

  std::string path_;
  std::chrono::milliseconds lock_timeout_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  // Orders "read the file, install it" (reload) against "write the file, install it"
  // (transact), so a slow reload cannot install an older file over a newer write.
  std::mutex install_mutex_;
};

}  // namespace keygate::auth
