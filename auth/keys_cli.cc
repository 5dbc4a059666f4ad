#include "auth/keys_cli.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iostream>
#include <optional>

#include "auth/key_manager.h"
#include "auth/key_output.h"
#include "auth/key_page.h"
#include "auth/key_record_json.h"
#include "auth/time_text.h"

namespace keygate::auth {
namespace {

// Raised inside a command to end it with an exit code; turned into CLI::RuntimeError at the
// boundary so CLI11 reports the code without printing anything.
struct CommandFailed {
  int code;
};

// Everything one command needs, built from --config.
class Session {
 public:
  explicit Session(const KeysCliEnv& env) : env_(env) {}

  std::ostream& out() const { return *env_.out; }
  std::ostream& err() const { return *env_.err; }

  [[noreturn]] void fail(int code, const std::string& message) const {
    err() << "error: " << message << '\n';
    throw CommandFailed{code};
  }

  // Unwraps a manager result or ends the command with its message and exit code.
  template <class T>
  T take(KeyResult<T> result) const {
    if (!result.ok()) fail(exit_code_for(result.code), result.message);
    return std::move(result.value);
  }

  KeyManager& open(const std::string& config_path) {
    conf::LoadResult loaded = env_.load_config(config_path);
    if (!loaded.ok()) {
      for (const conf::ConfigError& error : loaded.errors) err() << error.to_string() << '\n';
      fail(kExitUsage, "cannot load the configuration " + config_path);
    }
    config_ = loaded.config;

    std::string hasher_error;
    std::optional<KeyHasher> hasher = KeyHasher::create(config_->keys, hasher_error, env_.env);
    if (!hasher) fail(kExitUsage, hasher_error);

    StoreStatus store_error;
    std::shared_ptr<KeyRepository> repository = env_.open_repository(*config_, store_error);
    // Unreachable or broken storage is an outage (3); anything else is the configuration (2).
    if (!repository)
      fail(store_error.code == StoreErrc::unavailable || store_error.code == StoreErrc::busy ||
                   store_error.code == StoreErrc::corrupt
               ? kExitUnavailable
               : kExitUsage,
           store_error.message);

    KeyManagerOptions options;
    options.keys = config_->keys;
    for (const conf::RateLimitPolicyConfig& policy : config_->rate_limits.policies)
      options.rate_limit_policies.push_back(policy.name);
    options.clock = [this] { return now(); };
    manager_.emplace(std::move(repository), std::make_shared<const KeyHasher>(std::move(*hasher)),
                     std::move(options));
    return *manager_;
  }

  UnixSeconds now() const {
    if (env_.clock) return env_.clock();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  std::string default_created_by() const {
    if (env_.env)
      if (std::optional<std::string> user = env_.env("USER"); user && !user->empty()) return *user;
    return "cli";
  }

 private:
  const KeysCliEnv& env_;
  conf::ConfigPtr config_;
  std::optional<KeyManager> manager_;
};

// Adds a subcommand whose body runs with a Session; `--config` is added to every one.
struct CommandOptions {
  std::string config_path;
  bool json = false;
};

CLI::App* add_command(CLI::App& parent, const std::string& name, const std::string& description,
                      std::shared_ptr<const KeysCliEnv> env,
                      std::shared_ptr<CommandOptions> options,
                      std::function<void(Session&, const CommandOptions&)> body) {
  CLI::App* command = parent.add_subcommand(name, description);
  command->add_option("-c,--config", options->config_path, "keygate configuration file")
      ->envname("KEYGATE_CONFIG")
      ->required();
  command->callback([env, options, body = std::move(body)] {
    Session session(*env);
    try {
      body(session, *options);
    } catch (const CommandFailed& failed) {
      throw CLI::RuntimeError(failed.code);
    } catch (const std::exception& unexpected) {
      // Management code may throw (allocation, I/O streams); never let it escape as a crash.
      session.err() << "error: " << unexpected.what() << '\n';
      throw CLI::RuntimeError(kExitUnavailable);
    }
  });
  return command;
}

void add_json_flag(CLI::App* command, const std::shared_ptr<CommandOptions>& options) {
  command->add_flag("--json", options->json, "print JSON for scripts");
}

void print_json(std::ostream& out, const boost::json::value& value) {
  out << boost::json::serialize(value) << '\n';
}

// The one place the raw key is written out.
void print_new_key(Session& session, const CreatedKey& created, const std::string& headline,
                   bool json) {
  if (json) {
    boost::json::object object;
    object["key"] = created.raw_key;
    object["record"] = key_json(created.record, session.now());
    print_json(session.out(), object);
    return;
  }
  session.out() << headline << "\n\n"
                << "    " << created.raw_key << "\n\n"
                << "This is the only time the key is shown: store it now, it cannot be "
                   "recovered.\n"
                << "Send it as:  Authorization: Bearer <key>\n";
}

// The admin API's answer to the same change (POST /v1/keys/{id}/revoke, ...).
void print_change_json(Session& session, const KeyChange& change) {
  print_json(session.out(),
             boost::json::object{{"changed", change.changed},
                                 {"record", key_json(change.record, session.now())}});
}

// --limit N / --cursor C of the list commands: the API's page parameters.
struct PageArgs {
  std::size_t limit = 0;  // 0: every item
  std::string cursor;

  PageRequest request() const {
    PageRequest page;
    if (limit > 0) page.limit = limit;
    page.cursor = cursor;
    return page;
  }
};

void add_page_options(CLI::App* command, const std::shared_ptr<PageArgs>& page) {
  command->add_option("--limit", page->limit, "at most this many (1-1000; default: all)")
      ->check(CLI::Range(std::size_t{1}, kMaxPageLimit));
  command->add_option("--cursor", page->cursor, "continue after the page that printed this cursor");
}

std::string describe(const KeyRecord& key) {
  return "key " + key.id + " \"" + key.name + "\" (" + key.prefix + "...) of org " + key.org;
}

void add_create(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env) {
  struct Args {
    std::string org, name, environment, type, expires, created_by;
    std::vector<std::string> scopes, cidrs;
  };
  auto options = std::make_shared<CommandOptions>();
  auto args = std::make_shared<Args>();
  CLI::App* command = add_command(
      keys, "create", "create a key; its raw value is printed once", env, options,
      [args](Session& session, const CommandOptions& options) {
        KeyManager& manager = session.open(options.config_path);
        CreateKeyRequest request;
        request.org = args->org;
        request.name = args->name;
        request.environment = args->environment;
        request.type = args->type;
        request.scopes = args->scopes;
        request.allowed_cidrs = args->cidrs;
        request.created_by =
            args->created_by.empty() ? session.default_created_by() : args->created_by;
        if (!args->expires.empty()) {
          std::string error;
          request.expires_at = parse_time_or_duration(args->expires, session.now(), error);
          if (!request.expires_at) session.fail(kExitUsage, "--expires: " + error);
        }
        CreatedKey created = session.take(manager.create(request));
        print_new_key(session, created,
                      "Created " + describe(created.record) + " (" + created.record.environment +
                          ", " + created.record.type + ").",
                      options.json);
      });
  command->add_option("--org", args->org, "organisation owning the key")->required();
  command->add_option("--name", args->name, "what the key is for")->required();
  command->add_option("--env", args->environment, "environment, e.g. live or test")->required();
  command->add_option("--type", args->type, "key type, e.g. secret or public")->required();
  command->add_option("--scope", args->scopes, "granted scope (repeatable, or a,b)")
      ->allow_extra_args(false)
      ->delimiter(',');
  command->add_option("--expires", args->expires,
                      "expiry: RFC 3339 time (2025-01-31T00:00:00Z) or duration (90d)");
  command->add_option("--created-by", args->created_by, "who asked for it (default: $USER)");
  command->add_option("--cidr", args->cidrs, "allowed client network (repeatable)")
      ->allow_extra_args(false)
      ->delimiter(',');
  add_json_flag(command, options);
}

void add_list(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env) {
  auto options = std::make_shared<CommandOptions>();
  auto org = std::make_shared<std::string>();
  auto page_args = std::make_shared<PageArgs>();
  CLI::App* command = add_command(
      keys, "list", "list the keys of one org, or of every org", env, options,
      [org, page_args](Session& session, const CommandOptions& options) {
        KeyManager& manager = session.open(options.config_path);
        std::vector<std::string> org_ids;
        std::vector<KeyRecord> all;
        if (!org->empty()) {
          org_ids.push_back(*org);
          all = session.take(manager.list(*org));
        } else {
          for (const OrgRecord& record : session.take(manager.list_orgs()))
            org_ids.push_back(record.id);
          all = session.take(manager.list_all());
        }
        Page<KeyRecord> page = session.take(page_keys(std::move(all), page_args->request()));
        if (options.json) {
          // The envelope of GET /v1/keys.
          boost::json::array items;
          for (const KeyRecord& key : page.items) items.push_back(key_json(key, session.now()));
          print_json(session.out(), list_json("keys", std::move(items), page.next_cursor));
          return;
        }
        const bool paging = page_args->limit > 0 || !page_args->cursor.empty();
        bool first = true;
        for (const std::string& id : org_ids) {
          std::vector<KeyRecord> org_keys;
          for (const KeyRecord& key : page.items)
            if (key.org == id) org_keys.push_back(key);
          if (paging && org_keys.empty()) continue;
          KeyManager::Usage usage = session.take(manager.usage(id));
          KeyResult<OrgRecord> record = manager.get_org(id);
          if (!first) session.out() << '\n';
          first = false;
          session.out() << "org " << id;
          if (record.ok() && !record.value.plan.empty())
            session.out() << " (plan " << record.value.plan << ", ";
          else
            session.out() << " (";
          session.out() << key_usage_text(usage.active, usage.max_keys) << ")\n";
          if (org_keys.empty())
            session.out() << "  no keys\n";
          else
            print_key_table(session.out(), org_keys, session.now());
        }
        if (org_ids.empty()) session.out() << "no orgs\n";
        if (page.next_cursor)
          session.out() << "\nMore keys: add --cursor " << *page.next_cursor << '\n';
      });
  command->add_option("--org", *org, "only this org");
  add_page_options(command, page_args);
  add_json_flag(command, options);
}

// show/revoke/... name one key by id, prefix or raw key.
CLI::App* add_key_command(CLI::App& keys, const std::string& name, const std::string& description,
                          const std::shared_ptr<const KeysCliEnv>& env,
                          std::shared_ptr<CommandOptions> options,
                          std::shared_ptr<std::string> key_ref,
                          std::function<void(Session&, const CommandOptions&)> body) {
  CLI::App* command =
      add_command(keys, name, description, env, std::move(options), std::move(body));
  command->add_option("key", *key_ref, "key id (key_...), prefix, or the raw key")->required();
  return command;
}

void add_show(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env) {
  auto options = std::make_shared<CommandOptions>();
  auto ref = std::make_shared<std::string>();
  CLI::App* command =
      add_key_command(keys, "show", "show one key", env, options, ref,
                      [ref](Session& session, const CommandOptions& options) {
                        KeyRecord key = session.take(session.open(options.config_path).show(*ref));
                        if (options.json)
                          print_json(session.out(), key_json(key, session.now()));
                        else
                          print_key_details(session.out(), key, session.now());
                      });
  add_json_flag(command, options);
}

// revoke, deactivate, activate: one call, a sentence for the outcome.
void add_state_command(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env,
                       const std::string& name, const std::string& description,
                       KeyResult<KeyChange> (KeyManager::*operation)(const std::string&),
                       const std::string& done_verb, const std::string& unchanged_state) {
  auto options = std::make_shared<CommandOptions>();
  auto ref = std::make_shared<std::string>();
  CLI::App* command =
      add_key_command(keys, name, description, env, options, ref,
                      [=](Session& session, const CommandOptions& options) {
                        KeyManager& manager = session.open(options.config_path);
                        KeyChange change = session.take((manager.*operation)(*ref));
                        if (options.json)
                          print_change_json(session, change);
                        else if (change.changed)
                          session.out() << done_verb << " " << describe(change.record) << ".\n";
                        else
                          session.out() << "Nothing to do: " << describe(change.record)
                                        << " is already " << unchanged_state << ".\n";
                      });
  add_json_flag(command, options);
}

void add_rotate(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env) {
  struct Args {
    std::string grace = "24h";
    std::string created_by;
    std::string expires;
    bool no_expiry = false;
  };
  auto options = std::make_shared<CommandOptions>();
  auto ref = std::make_shared<std::string>();
  auto args = std::make_shared<Args>();
  CLI::App* command = add_key_command(
      keys, "rotate",
      "replace a key by a new one with the same settings and expiry date; the old one works "
      "during the grace period",
      env, options, ref, [ref, args](Session& session, const CommandOptions& options) {
        std::string error;
        std::optional<std::int64_t> grace = parse_duration_seconds(args->grace, error);
        if (!grace) session.fail(kExitUsage, "--grace: " + error);
        RotateExpiry expiry;  // default: the successor keeps the old key's end date
        if (!args->expires.empty()) {
          expiry.replace = true;
          expiry.expires_at = parse_time_or_duration(args->expires, session.now(), error);
          if (!expiry.expires_at) session.fail(kExitUsage, "--expires: " + error);
        } else if (args->no_expiry) {
          expiry.replace = true;
        }
        KeyManager& manager = session.open(options.config_path);
        RotatedKey rotated = session.take(
            manager.rotate(*ref, std::chrono::seconds(*grace), args->created_by, expiry));
        if (options.json) {
          boost::json::object object;
          object["key"] = rotated.new_key.raw_key;
          object["record"] = key_json(rotated.new_key.record, session.now());
          object["old_record"] = key_json(rotated.old_key, session.now());
          print_json(session.out(), object);
          return;
        }
        print_new_key(session, rotated.new_key,
                      "Rotated key " + rotated.old_key.id + ": its successor is " +
                          describe(rotated.new_key.record) + ".",
                      false);
        if (rotated.old_key.grace_until)
          session.out() << "The old key keeps working until "
                        << format_rfc3339(*rotated.old_key.grace_until) << " ("
                        << format_duration(*grace) << " from now).\n";
        else
          session.out() << "The old key is revoked.\n";
        const std::optional<UnixSeconds>& expires_at = rotated.new_key.record.expires_at;
        session.out() << "The new key "
                      << (expires_at ? "expires at " + format_rfc3339(*expires_at)
                                     : std::string("never expires"))
                      << (expiry.replace ? ".\n" : ", like the key it replaces.\n");
      });
  command->add_option("--grace", args->grace, "how long the old key keeps working (0: revoke now)")
      ->capture_default_str();
  command->add_option("--created-by", args->created_by, "who rotated it (default: the old key's)");
  CLI::Option* expires = command->add_option(
      "--expires", args->expires,
      "a new expiry for the successor: RFC 3339 time or duration from now (default: the old "
      "key's expiry date, unchanged)");
  CLI::Option* never =
      command->add_flag("--no-expiry", args->no_expiry, "the successor never expires");
  expires->excludes(never);
  add_json_flag(command, options);
}

void add_delete(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env) {
  auto options = std::make_shared<CommandOptions>();
  auto ref = std::make_shared<std::string>();
  CLI::App* command = add_key_command(
      keys, "delete", "remove a key and every trace of it (revoke keeps a record)", env, options,
      ref, [ref](Session& session, const CommandOptions& options) {
        KeyRecord deleted = session.take(session.open(options.config_path).remove(*ref));
        if (options.json)  // DELETE /v1/keys/{id}
          print_json(session.out(),
                     boost::json::object{{"deleted", key_json(deleted, session.now())}});
        else
          session.out() << "Deleted " << describe(deleted) << ".\n";
      });
  add_json_flag(command, options);
}

void add_expire(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env) {
  struct Args {
    std::string at, in;
    bool never = false;
  };
  auto options = std::make_shared<CommandOptions>();
  auto ref = std::make_shared<std::string>();
  auto args = std::make_shared<Args>();
  CLI::App* command = add_key_command(
      keys, "expire", "set or clear the expiry of a key", env, options, ref,
      [ref, args](Session& session, const CommandOptions& options) {
        std::optional<UnixSeconds> at;
        std::string error;
        if (args->at.empty() && args->in.empty() && !args->never)
          session.fail(kExitUsage, "say when: --at TIME, --in DURATION or --never");
        if (!args->at.empty()) {
          at = parse_rfc3339(args->at);
          if (!at) session.fail(kExitUsage, "--at: \"" + args->at + "\" is not an RFC 3339 time");
        } else if (!args->in.empty()) {
          std::optional<std::int64_t> in = parse_duration_seconds(args->in, error);
          if (!in) session.fail(kExitUsage, "--in: " + error);
          at = session.now() + *in;
        }
        KeyChange change = session.take(session.open(options.config_path).expire(*ref, at));
        if (options.json) return print_change_json(session, change);
        session.out() << (change.changed ? "Updated " : "Nothing to do: ")
                      << describe(change.record)
                      << (at ? " expires at " + format_rfc3339(*at) : std::string(" never expires"))
                      << ".\n";
      });
  CLI::Option* at =
      command->add_option("--at", args->at, "RFC 3339 time, e.g. 2025-01-31T00:00:00Z");
  CLI::Option* in = command->add_option("--in", args->in, "duration from now, e.g. 30d (0: now)");
  CLI::Option* never = command->add_flag("--never", args->never, "remove the expiry");
  at->excludes(in)->excludes(never);
  in->excludes(never);
  add_json_flag(command, options);
}

void add_rename(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env) {
  auto options = std::make_shared<CommandOptions>();
  auto ref = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  CLI::App* command = add_key_command(
      keys, "rename", "change the name of a key", env, options, ref,
      [ref, name](Session& session, const CommandOptions& options) {
        KeyChange change = session.take(session.open(options.config_path).rename(*ref, *name));
        if (options.json) return print_change_json(session, change);
        session.out() << (change.changed ? "Renamed " : "Nothing to do: ")
                      << describe(change.record) << ".\n";
      });
  command->add_option("name", *name, "the new name")->required();
  add_json_flag(command, options);
}

void add_set_scopes(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env) {
  auto options = std::make_shared<CommandOptions>();
  auto ref = std::make_shared<std::string>();
  auto scopes = std::make_shared<std::vector<std::string>>();
  CLI::App* command = add_key_command(
      keys, "set-scopes", "replace the scopes of a key (none given: no scopes)", env, options, ref,
      [ref, scopes](Session& session, const CommandOptions& options) {
        KeyChange change =
            session.take(session.open(options.config_path).set_scopes(*ref, *scopes));
        if (options.json) return print_change_json(session, change);
        session.out() << (change.changed ? "Updated " : "Nothing to do: ")
                      << describe(change.record) << ": scopes "
                      << (change.record.scopes.empty() ? std::string("(none)") : "") <<
            [&] {
              std::string text;
              for (const std::string& scope : change.record.scopes)
                text += (text.empty() ? "" : ", ") + scope;
              return text;
            }() << ".\n";
      });
  command->add_option("--scope", *scopes, "granted scope (repeatable, or a,b)")
      ->allow_extra_args(false)
      ->delimiter(',');
  add_json_flag(command, options);
}

void add_orgs(CLI::App& app, const std::shared_ptr<const KeysCliEnv>& env) {
  CLI::App* orgs = app.add_subcommand("orgs", "manage organisations and their plans");
  orgs->require_subcommand(1);

  auto create_options = std::make_shared<CommandOptions>();
  auto create_args = std::make_shared<std::pair<std::string, std::string>>();  // org, plan
  CLI::App* create = add_command(
      *orgs, "create", "create an org (keys create one implicitly, on the default plan)", env,
      create_options, [create_args](Session& session, const CommandOptions& options) {
        OrgRecord org = session.take(
            session.open(options.config_path).create_org(create_args->first, create_args->second));
        if (options.json)
          print_json(session.out(), org_json(org));
        else if (org.plan.empty())
          session.out() << "Created org " << org.id << " (no plans are configured).\n";
        else
          session.out() << "Created org " << org.id << " on plan " << org.plan << ".\n";
      });
  add_json_flag(create, create_options);
  create->add_option("org", create_args->first, "org id")->required();
  create->add_option("--plan", create_args->second, "plan name (default: keys.default_plan)");

  auto plan_options = std::make_shared<CommandOptions>();
  auto plan_args = std::make_shared<std::pair<std::string, std::string>>();
  CLI::App* set_plan = add_command(
      *orgs, "set-plan", "move an org to another plan", env, plan_options,
      [plan_args](Session& session, const CommandOptions& options) {
        OrgRecord org = session.take(
            session.open(options.config_path).set_plan(plan_args->first, plan_args->second));
        if (options.json)
          print_json(session.out(), org_json(org));
        else
          session.out() << "Org " << org.id << " is now on plan " << org.plan << ".\n";
      });
  add_json_flag(set_plan, plan_options);
  set_plan->add_option("org", plan_args->first, "org id")->required();
  set_plan->add_option("plan", plan_args->second, "plan name")->required();

  auto list_options = std::make_shared<CommandOptions>();
  auto page_args = std::make_shared<PageArgs>();
  CLI::App* list = add_command(
      *orgs, "list", "list orgs with their plan and key count", env, list_options,
      [page_args](Session& session, const CommandOptions& options) {
        KeyManager& manager = session.open(options.config_path);
        Page<OrgRecord> page =
            session.take(page_orgs(session.take(manager.list_orgs()), page_args->request()));
        std::vector<OrgRow> rows;
        for (OrgRecord& org : page.items) {
          KeyManager::Usage usage = session.take(manager.usage(org.id));
          rows.push_back({std::move(org), usage.active, usage.max_keys});
        }
        if (options.json) {  // the envelope of GET /v1/orgs
          boost::json::array array;
          for (const OrgRow& row : rows)
            array.push_back(org_json(row.org, row.active_keys, row.max_keys));
          print_json(session.out(), list_json("orgs", std::move(array), page.next_cursor));
          return;
        }
        if (rows.empty())
          session.out() << "no orgs\n";
        else
          print_org_table(session.out(), rows);
        if (page.next_cursor)
          session.out() << "\nMore orgs: add --cursor " << *page.next_cursor << '\n';
      });
  add_page_options(list, page_args);
  add_json_flag(list, list_options);
}

}  // namespace

int exit_code_for(KeyErrc code) {
  switch (code) {
    case KeyErrc::ok:
      return kExitOk;
    case KeyErrc::not_found:
    case KeyErrc::plan_limit_reached:
    case KeyErrc::invalid_state:
      return kExitRefused;
    case KeyErrc::invalid_argument:
      return kExitUsage;
    case KeyErrc::store_unavailable:
      return kExitUnavailable;
  }
  return kExitUnavailable;
}

void add_keys_commands(CLI::App& app, std::shared_ptr<const KeysCliEnv> env) {
  CLI::App* keys = app.add_subcommand("keys", "create, list, rotate and revoke API keys");
  keys->require_subcommand(1);
  add_create(*keys, env);
  add_list(*keys, env);
  add_show(*keys, env);
  add_state_command(*keys, env, "revoke", "revoke a key for good (the record is kept)",
                    &KeyManager::revoke, "Revoked", "revoked");
  add_state_command(*keys, env, "deactivate", "switch a key off until activated again",
                    &KeyManager::deactivate, "Deactivated", "inactive");
  add_state_command(*keys, env, "activate", "switch a deactivated key back on",
                    &KeyManager::activate, "Activated", "active");
  add_rotate(*keys, env);
  add_delete(*keys, env);
  add_expire(*keys, env);
  add_rename(*keys, env);
  add_set_scopes(*keys, env);
  add_orgs(app, env);
}

int keys_cli_exit_code(const CLI::App& app, const CLI::Error& error, std::ostream& out,
                       std::ostream& err) {
  const int code = app.exit(error, out, err);
  if (code == kExitOk || code == kExitRefused || code == kExitUsage || code == kExitUnavailable)
    return code;
  return kExitUsage;
}

int run_keys_cli(const std::vector<std::string>& args, KeysCliEnv env) {
  auto shared = std::make_shared<const KeysCliEnv>(std::move(env));
  CLI::App app("keygate: API-key authentication sidecar", "keygate");
  app.require_subcommand(1);
  add_keys_commands(app, shared);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
  try {
    app.parse(reversed);
  } catch (const CLI::Error& error) {
    return keys_cli_exit_code(app, error, *shared->out, *shared->err);
  }
  return kExitOk;
}

}  // namespace keygate::auth
