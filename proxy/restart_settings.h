// Which settings a reload cannot apply. Listeners (and their TLS settings: paths, versions,
// ciphers, ALPN, client CAs, handshake bounds), worker threads, the admin listener, the
// access log, the store and its connections, the key cache, the key hash and usage recording
// are set up once at start; a reload that changes them is applied for everything else, and
// each of these is reported (log, /readyz, metric) until the process restarts.
#pragma once

#include <string>
#include <vector>

#include "conf/config.h"

namespace keygate::proxy {

// Certificates and keys reload from their files without a restart, and upstreams' TLS
// settings apply on reload (their pools are rebuilt): neither is reported.
//
// The top-level names (e.g. "listeners", "listeners.tls", "store", "keys.hash") whose values in
// `loaded` differ from the ones `running` was started with; empty when a reload applies everything.
std::vector<std::string> settings_needing_restart(const conf::Config& running,
                                                  const conf::Config& loaded);

}  // namespace keygate::proxy
