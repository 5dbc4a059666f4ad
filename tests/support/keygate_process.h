// The real keygate binary, run as a child process by integration tests.
//
// Each KeygateProcess gets a fresh temporary directory holding its config (keygate.yaml), any
// extra files (a keys file, a token file) and the captured stdout/stderr. Relative paths in the
// config resolve against that directory, and the text "@DIR@" anywhere in the YAML or in extra
// files is replaced by the directory's absolute path.
//
// keygate's start-up protocol, read from its JSON-lines stderr:
//   {"time":"...","level":"info","msg":"listening","listener":"proxy","address":"127.0.0.1","port":34567}
//   {"time":"...","level":"info","msg":"listening","listener":"admin","address":"127.0.0.1","port":34568}
//   {"time":"...","level":"info","msg":"ready","threads":2}
// The constructor waits (polling, with a deadline) for "ready" and records the ports.
//
// The child gets PR_SET_PDEATHSIG(SIGKILL), so a crashed or aborted test leaves no keygate
// behind; the destructor kills it too. (That signal follows the spawning *thread*: create the
// process on a thread that outlives it, as the test's own thread does.)
//
// When the current test failed, the directory is kept and the tail of keygate's stderr is
// printed, which is usually the whole diagnosis. KEYGATE_KEEP_TEST_DIRS=1 keeps it always.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keygate::testing {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

struct KeygateOptions {
  std::vector<std::string> extra_args;  // appended after `serve --config <file>`
  EnvVars env;                          // added to (and overriding) the test's environment
  // Written into the directory before start: {relative name, content}.
  std::vector<std::pair<std::string, std::string>> files;
  // false: return right after spawning (for a config keygate must reject: use wait_exit).
  bool wait_ready = true;
  std::chrono::milliseconds ready_timeout{15000};
  std::string binary = KEYGATE_BINARY;
  // Forward keygate's stderr tail to the test log when the test fails.
  bool dump_stderr_on_failure = true;
};

class KeygateProcess {
 public:
  // Writes the files, spawns keygate, waits for readiness. Throws std::runtime_error (with
  // keygate's stderr in the message) if it cannot start or is not ready in time; gtest reports
  // that as the test's failure.
  explicit KeygateProcess(std::string config_yaml, KeygateOptions options = {});
  ~KeygateProcess();
  KeygateProcess(const KeygateProcess&) = delete;
  KeygateProcess& operator=(const KeygateProcess&) = delete;

  std::uint16_t proxy_port() const;  // the first proxy listener; 0 before ready
  const std::vector<std::uint16_t>& proxy_ports() const { return proxy_ports_; }
  std::uint16_t admin_port() const { return admin_port_; }  // 0 when admin is disabled
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }
  std::string path(std::string_view relative) const;  // dir() + "/" + relative

  // Waits for "ready" if the constructor did not (wait_ready = false); false on timeout or exit.
  bool wait_ready(std::chrono::milliseconds timeout = std::chrono::seconds(15));

  bool signal(int signo);  // false if the process is gone
  bool running();          // reaps it if it exited
  // The exit status once it has exited: the exit code, or 128 + signal number if a signal
  // killed it (shell convention). nullopt if still running at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  // SIGTERM, then wait_exit(timeout); SIGKILL if it did not exit in time.
  std::optional<int> terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  std::string stdout_text() const;
  std::string stderr_text() const;
  // A mark into stderr: pass it to wait_for_log to only look at lines logged after it.
  std::size_t stderr_mark() const;
  // Polls stderr (from `since`) until it contains `needle`; false at the deadline or if keygate
  // exits first.
  bool wait_for_log(std::string_view needle,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10),
                    std::size_t since = 0);
  // The stderr lines (from `since`) that contain `needle`.
  std::vector<std::string> log_lines(std::string_view needle, std::size_t since = 0) const;

  // Replaces the config atomically (write beside it, then rename), for reload tests.
  void rewrite_config(std::string_view new_yaml);
  // Writes (atomically) a file in dir(); "@DIR@" is substituted as in the config.
  void write_file(std::string_view relative, std::string_view content);

 private:
  void spawn();
  std::string substitute(std::string_view text) const;

  KeygateOptions options_;
  std::string dir_;
  std::string config_path_;
  std::string stdout_path_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
  std::vector<std::uint16_t> proxy_ports_;
  std::uint16_t admin_port_ = 0;
};

struct CliResult {
  int exit_code = -1;  // as wait_exit: 128 + signal if killed; -1 if it could not run
  std::string stdout_text;
  std::string stderr_text;
  bool timed_out = false;
};

struct CliOptions {
  std::string stdin_data;  // fed to the child's stdin, then closed
  std::string cwd;         // empty: the test's working directory
  std::chrono::milliseconds timeout{30000};
};

// Runs `binary args...` to completion, capturing its output (killed at the timeout).
CliResult run_command(const std::string& binary, const std::vector<std::string>& args,
                      const EnvVars& env = {}, const CliOptions& options = {});
// Runs the keygate binary (`keygate keys create ...`, `keygate check-config ...`).
CliResult run_keygate_cli(const std::vector<std::string>& args, const EnvVars& env = {},
                          const CliOptions& options = {});

// A fresh directory under $TMPDIR (or /tmp), for tests that need files but no keygate.
std::string make_temp_dir(std::string_view prefix = "keygate-test");
void write_text_file(const std::string& path, std::string_view content);  // atomic
std::string read_text_file(const std::string& path);                      // "" if missing

}  // namespace keygate::testing
