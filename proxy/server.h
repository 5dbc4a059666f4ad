// The serving process: worker threads, listeners, the admin listener, configuration reload
// (SIGHUP and file changes) and graceful shutdown (SIGTERM/SIGINT).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "conf/config.h"

namespace keygate::proxy {

// Runs until SIGTERM/SIGINT and the drain that follows; returns the process exit code.
int serve(const std::string& config_path);

}  // namespace keygate::proxy
