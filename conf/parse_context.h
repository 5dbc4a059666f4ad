// What the section parsers share while one file is read.
#pragma once

#include <vector>

#include "conf/config.h"
#include "conf/diagnostics.h"
#include "conf/name_table.h"

namespace keygate::conf {

struct ParseContext {
  ParseContext(Config& c, Diagnostics& d) : config(c), diag(d) {}

  Config& config;
  Diagnostics& diag;
  NameTable names;

  // Positions the checks after parsing still need but Config does not keep.
  std::vector<SourceMark> prefix_marks;  // one per config.keys.prefixes entry
  bool prefixes_generated = false;       // keys.prefixes was empty and filled in
  SourceMark keys_mark;                  // blamed for generated prefixes
  SourceMark store_mark;
  SourceMark admin_mark;
};

}  // namespace keygate::conf
