// Checks that need the whole file parsed: they compare entries of different sections or
// different entries of one list.
#pragma once

#include "conf/parse_context.h"

namespace keygate::conf {

void check_config(ParseContext& ctx);

}  // namespace keygate::conf
