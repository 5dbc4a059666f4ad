// How the serving process records usage and serves the management API: the pieces
// SharedServices creates, kept here so worker_services.cc only wires them in.
#pragma once

#include <memory>

#include "auth/key_hash.h"
#include "auth/key_repository.h"
#include "auth/usage_recorder.h"
#include "conf/config.h"
#include "proxy/admin_api.h"

namespace keygate::proxy {

// Null when usage.enabled is false. Otherwise a started recorder writing to
// auth::open_usage_store(config): Redis when configured, else the usage document beside the
// key file; with a key file, last_used_at goes through `file_records` (not owned; must
// outlive the recorder). Flush failures are logged once per outage.
std::unique_ptr<auth::UsageRecorder> start_usage_recorder(const conf::Config& config,
                                                          auth::KeyRepository* file_records);

// The management API with the admin token read now (admin.token_env / admin.token_file); a
// configured but unreadable token is logged and leaves the API refusing every request.
std::shared_ptr<AdminApi> make_admin_api(const conf::Config& config,
                                         std::shared_ptr<const auth::KeyHasher> hasher);

}  // namespace keygate::proxy
