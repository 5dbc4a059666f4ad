// The plans and quotas in force, in one line for the start-up log, so an operator sees at
// once whether orgs are limited (issue 10: a hidden default plan limited every org).
#pragma once

#include <string>

#include "conf/config.h"

namespace keygate::proxy {

// "none (no key maximum, no monthly quota)" or
// "free (max_keys 1, monthly_quota 30000), pro (max_keys unlimited, monthly_quota none)".
std::string plans_summary(const conf::KeysConfig& keys);

// Logs {"msg":"plans","plans":plans_summary(),"default_plan":...} at info.
void log_plans(const conf::KeysConfig& keys);

}  // namespace keygate::proxy
