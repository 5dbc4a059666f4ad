// Names defined in one part of the file and used in another (upstreams, policies, plans,
// environments, key types).
//
// Definitions and uses are collected while parsing and matched at the end, so a route may
// name a policy defined further down the file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "conf/config.h"
#include "conf/diagnostics.h"

namespace keygate::conf {

enum class NameKind { upstream, policy, plan, environment, key_type, route };

class NameTable {
 public:
  // Reports a second definition of the same name; false then.
  bool define(NameKind kind, const std::string& name, SourceMark where, Diagnostics& diag);
  bool defined(NameKind kind, const std::string& name) const;

  // `user` says who refers to it, for the message: "route 'v1'".
  void refer(NameKind kind, const std::string& name, SourceMark where, std::string user);

  // Reports every use of a name that was never defined.
  void check_references(Diagnostics& diag) const;

 private:
  struct Reference {
    NameKind kind;
    std::string name;
    SourceMark where;
    std::string user;
  };

  std::map<NameKind, std::map<std::string, SourceMark>> definitions_;
  std::vector<Reference> references_;
};

}  // namespace keygate::conf
