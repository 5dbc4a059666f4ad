#include "auth/file_key_store.h"

#include <algorithm>
#include <unordered_map>

#include "auth/locked_file.h"

namespace keygate::auth {
namespace {

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
  auto read = locked_file::read(path_, kMaxStoreFileBytes);
  if (!read.ok()) return {std::move(read.status), {}};
  if (!read.value) return {StoreStatus::success(), {}};
  std::string error;
  std::optional<StoreDocument> document = parse_store_document(*read.value, error);
  if (!document) return {StoreStatus::error(StoreErrc::corrupt, path_ + ": " + error), {}};
  return {StoreStatus::success(), std::move(*document)};
}

StoreStatus FileKeyStore::write_document(const StoreDocument& document) const {
  return locked_file::replace(path_, serialize_store_document(document));
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
  auto lock = locked_file::lock(path_, lock_timeout_);
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
