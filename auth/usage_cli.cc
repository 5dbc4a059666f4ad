#include "auth/usage_cli.h"

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <iomanip>
#include <optional>

#include "auth/key_manager.h"
#include "auth/key_output.h"
#include "auth/keys_cli.h"
#include "auth/time_text.h"
#include "auth/usage_report.h"

namespace keygate::auth {
namespace {

struct CommandFailed {
  int code;
};

// The configuration, the key manager and the usage store of one command.
class UsageSession {
 public:
  UsageSession(const KeysCliEnv& env, const UsageStoreOpener& open_usage)
      : env_(env), open_usage_(open_usage) {}

  std::ostream& out() const { return *env_.out; }

  [[noreturn]] void fail(int code, const std::string& message) const {
    *env_.err << "error: " << message << '\n';
    throw CommandFailed{code};
  }

  template <class T>
  T take(KeyResult<T> result) const {
    if (!result.ok()) fail(exit_code_for(result.code), result.message);
    return std::move(result.value);
  }

  void open(const std::string& config_path) {
    conf::LoadResult loaded = env_.load_config(config_path);
    if (!loaded.ok()) {
      for (const conf::ConfigError& error : loaded.errors) *env_.err << error.to_string() << '\n';
      fail(kExitUsage, "cannot load the configuration " + config_path);
    }
    std::string hasher_error;
    std::optional<KeyHasher> hasher =
        KeyHasher::create(loaded.config->keys, hasher_error, env_.env);
    if (!hasher) fail(kExitUsage, hasher_error);
    StoreStatus error;
    std::shared_ptr<KeyRepository> repository = env_.open_repository(*loaded.config, error);
    if (!repository) fail(unavailable(error) ? kExitUnavailable : kExitUsage, error.message);
    usage_ = open_usage_(*loaded.config, repository, error);
    if (!usage_) fail(unavailable(error) ? kExitUnavailable : kExitUsage, error.message);

    KeyManagerOptions options;
    options.keys = loaded.config->keys;
    options.clock = [this] { return now(); };
    manager_.emplace(std::move(repository), std::make_shared<const KeyHasher>(std::move(*hasher)),
                     std::move(options));
  }

  KeyManager& manager() { return *manager_; }
  UsageStore& usage() { return *usage_; }

  UnixSeconds now() const {
    if (env_.clock) return env_.clock();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

 private:
  static bool unavailable(const StoreStatus& error) {
    return error.code == StoreErrc::unavailable || error.code == StoreErrc::busy ||
           error.code == StoreErrc::corrupt;
  }

  const KeysCliEnv& env_;
  const UsageStoreOpener& open_usage_;
  std::optional<KeyManager> manager_;
  std::unique_ptr<UsageStore> usage_;
};

// Runs `body` as a command: failures become CLI::RuntimeError(exit code), like keys_cli.
void run_command(const KeysCliEnv& env, const UsageStoreOpener& open_usage,
                 const std::function<void(UsageSession&)>& body) {
  UsageSession session(env, open_usage);
  try {
    body(session);
  } catch (const CommandFailed& failed) {
    throw CLI::RuntimeError(failed.code);
  } catch (const std::exception& unexpected) {
    *env.err << "error: " << unexpected.what() << '\n';
    throw CLI::RuntimeError(kExitUnavailable);
  }
}

std::string time_or_never(const std::optional<UnixSeconds>& time) {
  return time ? format_rfc3339(*time) : "never";
}

void print_rows(std::ostream& out, const std::vector<std::pair<std::string, std::string>>& rows,
                const std::string& indent = "") {
  std::size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.first.size());
  for (const auto& [label, value] : rows)
    out << indent << std::left << std::setw(static_cast<int>(width) + 2) << label << value << '\n';
}

std::vector<std::pair<std::string, std::string>> key_usage_rows(const KeyUsage& usage) {
  return {
      {"requests", std::to_string(usage.counts.total)},
      {"successful", std::to_string(usage.counts.status_2xx)},
      {"failed", std::to_string(usage.counts.failed()) + " (4xx " +
                     std::to_string(usage.counts.status_4xx) + ", 5xx " +
                     std::to_string(usage.counts.status_5xx) + ")"},
      {"last used", time_or_never(usage.last_used_at)},
      {"last client ip", usage.last_client_ip.empty() ? "-" : usage.last_client_ip},
  };
}

void print_org_usage(UsageSession& session, const OrgUsageReport& report,
                     const std::vector<std::pair<KeyRecord, KeyUsage>>& keys) {
  std::ostream& out = session.out();
  out << "org " << report.org.id << " (plan " << report.org.plan << ")\n";
  print_rows(out, {
                      {"period", format_rfc3339(report.period_start) + " to " +
                                     format_rfc3339(report.period_end)},
                      {"calls", std::to_string(report.calls)},
                      {"monthly limit", report.monthly_limit ? std::to_string(*report.monthly_limit)
                                                             : std::string("unlimited")},
                      {"remaining", report.remaining ? std::to_string(*report.remaining)
                                                     : std::string("unlimited")},
                      {"keys", key_usage_text(report.active_keys, report.max_keys)},
                  });
  if (keys.empty()) return;
  std::vector<std::vector<std::string>> rows{
      {"ID", "NAME", "PREFIX", "REQUESTS", "OK", "4XX", "5XX", "LAST USED"}};
  for (const auto& [key, usage] : keys)
    rows.push_back({key.id, key.name, key.prefix + "...", std::to_string(usage.counts.total),
                    std::to_string(usage.counts.status_2xx),
                    std::to_string(usage.counts.status_4xx),
                    std::to_string(usage.counts.status_5xx), time_or_never(usage.last_used_at)});
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  out << '\n';
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

void add_orgs_usage(CLI::App& orgs, const std::shared_ptr<const KeysCliEnv>& env,
                    const UsageStoreOpener& open_usage) {
  struct Args {
    std::string config_path, org;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command = orgs.add_subcommand(
      "usage", "calls in the current 30-day period, the monthly limit, and each key's counters");
  command->add_option("-c,--config", args->config_path, "keygate configuration file")
      ->envname("KEYGATE_CONFIG")
      ->required();
  command->add_option("org", args->org, "org id")->required();
  command->add_flag("--json", args->json, "print JSON for scripts");
  command->callback([env, open_usage, args] {
    run_command(*env, open_usage, [&](UsageSession& session) {
      session.open(args->config_path);
      OrgUsageReport report =
          session.take(org_usage_report(session.manager(), session.usage(), args->org));
      std::vector<std::pair<KeyRecord, KeyUsage>> keys;
      for (KeyRecord& key : session.take(session.manager().list(args->org))) {
        KeyUsage usage = session.take(key_usage_report(session.usage(), key));
        keys.emplace_back(std::move(key), std::move(usage));
      }
      if (args->json) {
        boost::json::object object = usage_json(report);
        boost::json::array array;
        for (const auto& [key, usage] : keys) {
          boost::json::object item = usage_json(usage);
          item["name"] = key.name;
          item["prefix"] = key.prefix;
          array.push_back(std::move(item));
        }
        object["keys"] = std::move(array);
        session.out() << boost::json::serialize(object) << '\n';
        return;
      }
      print_org_usage(session, report, keys);
    });
  });
}

void add_keys_usage(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env,
                    const UsageStoreOpener& open_usage) {
  struct Args {
    std::string config_path, key;
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  CLI::App* command =
      keys.add_subcommand("usage", "requests, successes and failures of one key, and its last use");
  command->add_option("-c,--config", args->config_path, "keygate configuration file")
      ->envname("KEYGATE_CONFIG")
      ->required();
  command->add_option("key", args->key, "key id (key_...), prefix, or the raw key")->required();
  command->add_flag("--json", args->json, "print JSON for scripts");
  command->callback([env, open_usage, args] {
    run_command(*env, open_usage, [&](UsageSession& session) {
      session.open(args->config_path);
      KeyRecord key = session.take(session.manager().show(args->key));
      KeyUsage usage = session.take(key_usage_report(session.usage(), key));
      if (args->json) {
        session.out() << boost::json::serialize(usage_json(usage)) << '\n';
        return;
      }
      session.out() << "key " << key.id << " \"" << key.name << "\" (" << key.prefix
                    << "...) of org " << key.org << '\n';
      print_rows(session.out(), key_usage_rows(usage));
    });
  });
}

// `keys show` lives in keys_cli.cc; its parent's callback runs right after it (CLI11 runs a
// subcommand's callback before its parent's), so the usage block follows the details.
void extend_keys_show(CLI::App& keys, const std::shared_ptr<const KeysCliEnv>& env,
                      const UsageStoreOpener& open_usage) {
  CLI::App* show = keys.get_subcommand("show");
  keys.callback([env, open_usage, show] {
    if (!show->parsed() || show->get_option("--json")->count() > 0) return;
    const std::string config_path = show->get_option("--config")->as<std::string>();
    const std::string ref = show->get_option("key")->as<std::string>();
    run_command(*env, open_usage, [&](UsageSession& session) {
      session.open(config_path);
      KeyRecord key = session.take(session.manager().show(ref));
      KeyUsage usage = session.take(key_usage_report(session.usage(), key));
      session.out() << "usage\n";
      print_rows(session.out(), key_usage_rows(usage), "  ");
    });
  });
}

}  // namespace

void add_usage_commands(CLI::App& app, std::shared_ptr<const KeysCliEnv> env,
                        UsageStoreOpener open_usage) {
  CLI::App* keys = app.get_subcommand("keys");
  CLI::App* orgs = app.get_subcommand("orgs");
  add_orgs_usage(*orgs, env, open_usage);
  add_keys_usage(*keys, env, open_usage);
  extend_keys_show(*keys, env, open_usage);
}

}  // namespace keygate::auth
