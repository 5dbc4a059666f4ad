// The management API (docs/admin-api.md, docs/openapi.yaml): keys and orgs over JSON on the
// admin listener, through the same KeyManager as `keygate keys|orgs`, so both follow the same
// rules (plan maxima, audit fields) and see the same store.
//
// Every /v1/ request needs "Authorization: Bearer <admin token>" (401 otherwise). Without a
// configured token the whole API answers 403: the admin listener still serves /healthz,
// /readyz and /metrics. Keys are named by id in paths, never by the raw key, so a raw key
// cannot end up in a URL, a proxy log or a browser history; a created or rotated raw key
// appears once, in that response's body.
//
// Runs on the admin listener's thread; store calls block it briefly (the store and the usage
// store are opened on first use, and again after an outage).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "auth/key_hash.h"
#include "auth/key_manager.h"
#include "auth/usage_store.h"
#include "conf/config.h"
#include "proxy/admin_server.h"
#include "proxy/admin_token.h"

namespace keygate::proxy {

struct AdminApiDependencies {
  std::shared_ptr<const auth::KeyHasher> hasher;
  std::function<std::shared_ptr<auth::KeyRepository>(const conf::Config&, auth::StoreStatus&)>
      open_repository;                       // default: auth::open_key_repository
  auth::UsageStoreOpener open_usage;         // default: auth::open_usage_store
  std::function<auth::UnixSeconds()> clock;  // default: the system clock
};

class AdminApi {
 public:
  AdminApi(conf::ConfigPtr config, AdminToken token, AdminApiDependencies dependencies);
  ~AdminApi();

  // Any thread: plans and policies of a reloaded configuration (the store itself needs a
  // restart to change, like everywhere else).
  void update_config(conf::ConfigPtr config);

  // Admin thread. nullopt for paths outside /v1 (the admin server answers those).
  std::optional<AdminResponse> handle(const AdminRequest& request);

 private:
  struct Call;
  AdminResponse route(Call& call);

  std::atomic<std::shared_ptr<const conf::Config>> config_;
  AdminToken token_;
  AdminApiDependencies dependencies_;
  std::shared_ptr<auth::KeyRepository> repository_;
  std::unique_ptr<auth::UsageStore> usage_;
};

}  // namespace keygate::proxy
