#include "tests/support/keygate_process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace keygate::testing {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(5);

int status_to_exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The environment a child starts with: ours, with `extra` added or overriding.
std::vector<std::string> child_environment(const EnvVars& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view entry = *e;
    const std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [n, v] : extra) overridden = overridden || n == name;
    if (!overridden) out.emplace_back(entry);
  }
  for (const auto& [n, v] : extra) out.push_back(n + "=" + v);
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Everything between fork and exec must be async-signal-safe: the test process has threads
// (echo upstream, Redis helpers) whose locks the child would inherit mid-use.
[[noreturn]] void exec_child(pid_t parent, int stdin_fd, int stdout_fd, int stderr_fd,
                             char* const* argv, char* const* envp, const char* cwd) {
  // Dies with the test process, so a crashed test run leaves no keygate listening behind.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);
  dup2(stdin_fd, 0);
  dup2(stdout_fd, 1);
  dup2(stderr_fd, 2);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  // Ignored dispositions survive exec; keygate must see the defaults a shell would give it.
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT}) signal(s, SIG_DFL);
  if (cwd && *cwd && chdir(cwd) != 0) _exit(127);
  execve(argv[0], argv, envp);
  static const char msg[] = "exec failed: keygate test helper could not run the binary\n";
  [[maybe_unused]] auto ignored = write(2, msg, sizeof msg - 1);
  _exit(127);
}

std::string current_test_name() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (!info) return "";
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_') c = '_';
  }
  return name.substr(0, 80);
}

bool current_test_failed() {
  return ::testing::UnitTest::GetInstance()->current_test_info() != nullptr &&
         ::testing::Test::HasFailure();
}

std::string tail_lines(const std::string& text, std::size_t count) {
  std::size_t pos = text.size();
  for (std::size_t seen = 0; pos > 0 && seen <= count;) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
    ++seen;
  }
  return text.substr(pos + 1);
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Files

std::string make_temp_dir(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string name(prefix);
  if (const std::string test = current_test_name(); !test.empty()) name += "-" + test;
  std::string templ = std::string(base && *base ? base : "/tmp") + "/" + name + "-XXXXXX";
  if (!mkdtemp(templ.data())) {
    throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  return templ;
}

void write_text_file(const std::string& path, std::string_view content) {
  static std::atomic<int> counter{0};
  const std::string tmp =
      path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(counter.fetch_add(1));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  // A reader (keygate reloading) sees the old file or the new one, never half of one.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("rename " + tmp + " -> " + path + ": " + std::strerror(errno));
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// KeygateProcess

KeygateProcess::KeygateProcess(std::string config_yaml, KeygateOptions options)
    : options_(std::move(options)) {
  dir_ = make_temp_dir("keygate");
  config_path_ = dir_ + "/keygate.yaml";
  stdout_path_ = dir_ + "/stdout.log";
  stderr_path_ = dir_ + "/stderr.log";
  for (const auto& [name, content] : options_.files) write_file(name, content);
  write_text_file(config_path_, substitute(config_yaml));
  spawn();
  if (options_.wait_ready && !wait_ready(options_.ready_timeout)) {
    const bool exited = !running();
    std::string message =
        "keygate " +
        std::string(exited ? "exited (status " + std::to_string(exit_status_.value_or(-1)) + ")"
                           : "not ready after " + std::to_string(options_.ready_timeout.count()) +
                                 " ms") +
        " before printing ready; dir " + dir_ + "; stderr:\n" + tail_lines(stderr_text(), 60);
    if (!exited) {
      kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(10));
    }
    // The destructor will not run: the directory is left for inspection.
    throw std::runtime_error(message);
  }
}

KeygateProcess::~KeygateProcess() {
  if (running()) {
    kill(pid_, SIGKILL);
    wait_exit(std::chrono::seconds(10));
  }
  const bool failed = current_test_failed();
  if (failed && options_.dump_stderr_on_failure) {
    std::cerr << "---- keygate stderr (last lines; full logs in " << dir_ << ") ----\n"
              << tail_lines(stderr_text(), 60) << "---- end of keygate stderr ----\n";
  }
  if (!failed && !std::getenv("KEYGATE_KEEP_TEST_DIRS")) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string KeygateProcess::substitute(std::string_view text) const {
  std::string out(text);
  replace_all(out, "@DIR@", dir_);
  return out;
}

std::string KeygateProcess::path(std::string_view relative) const {
  return dir_ + "/" + std::string(relative);
}

void KeygateProcess::write_file(std::string_view relative, std::string_view content) {
  const std::string target = path(relative);
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(target).parent_path(), ignored);
  write_text_file(target, substitute(content));
}

void KeygateProcess::rewrite_config(std::string_view new_yaml) {
  write_text_file(config_path_, substitute(new_yaml));
}

void KeygateProcess::spawn() {
  std::vector<std::string> args = {options_.binary, "serve", "--config", config_path_};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<std::string> env = child_environment(options_.env);
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp = c_strings(env);

  const int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int out = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || out < 0 || err < 0) {
    throw std::runtime_error("cannot open capture files in " + dir_ + ": " + std::strerror(errno));
  }
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) exec_child(parent, in, out, err, argv.data(), envp.data(), nullptr);
  const int fork_errno = errno;
  close(in);
  close(out);
  close(err);
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
}

bool KeygateProcess::wait_ready(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Re-read the whole capture each time: it is small, and a line may have been half
    // written on the previous pass.
    const std::string text = stderr_text();
    std::vector<std::uint16_t> proxy;
    std::uint16_t admin = 0;
    bool ready = false;
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
      boost::system::error_code ec;
      const auto line = boost::json::parse(std::string_view(text).substr(start, end - start), ec);
      if (ec || !line.is_object()) continue;  // keygate may print non-JSON (e.g. a crash)
      const auto& obj = line.as_object();
      const auto* msg = obj.if_contains("msg");
      if (!msg || !msg->is_string()) continue;
      if (msg->as_string() == "ready") {
        ready = true;
      } else if (msg->as_string() == "listening") {
        const auto* listener = obj.if_contains("listener");
        const auto* port = obj.if_contains("port");
        if (!listener || !listener->is_string() || !port || !port->is_number()) continue;
        const auto value = static_cast<std::uint16_t>(port->to_number<std::int64_t>());
        if (listener->as_string() == "admin") {
          admin = value;
        } else if (listener->as_string() == "proxy") {
          proxy.push_back(value);
        }
      }
    }
    if (ready) {
      proxy_ports_ = std::move(proxy);
      admin_port_ = admin;
      return true;
    }
    if (!running() || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::uint16_t KeygateProcess::proxy_port() const {
  return proxy_ports_.empty() ? 0 : proxy_ports_.front();
}

bool KeygateProcess::running() {
  if (exit_status_ || pid_ <= 0) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = status_to_exit_code(status);
    return false;
  }
  return r == 0;
}

bool KeygateProcess::signal(int signo) {
  return running() && kill(pid_, signo) == 0;
}

std::optional<int> KeygateProcess::wait_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollInterval);
  }
  return exit_status_;
}

std::optional<int> KeygateProcess::terminate(std::chrono::milliseconds timeout) {
  signal(SIGTERM);
  if (auto status = wait_exit(timeout)) return status;
  signal(SIGKILL);
  wait_exit(std::chrono::seconds(10));
  return std::nullopt;
}

std::string KeygateProcess::stdout_text() const {
  return read_text_file(stdout_path_);
}
std::string KeygateProcess::stderr_text() const {
  return read_text_file(stderr_path_);
}

std::size_t KeygateProcess::stderr_mark() const {
  struct stat st {};
  return stat(stderr_path_.c_str(), &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
}

bool KeygateProcess::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout,
                                  std::size_t since) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const bool alive = running();
    const std::string text = stderr_text();
    if (text.size() > since && text.find(needle, since) != std::string::npos) return true;
    // Checked after reading: a line written just before exit still counts.
    if (!alive || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::vector<std::string> KeygateProcess::log_lines(std::string_view needle,
                                                   std::size_t since) const {
  const std::string text = stderr_text();
  std::vector<std::string> out;
  std::istringstream in(since < text.size() ? text.substr(since) : std::string());
  for (std::string line; std::getline(in, line);) {
    if (line.find(needle) != std::string::npos) out.push_back(line);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// One-shot commands

CliResult run_command(const std::string& binary, const std::vector<std::string>& args,
                      const EnvVars& env, const CliOptions& options) {
  // Writing stdin to a child that already exited must be an EPIPE, not the end of the test.
  static const bool sigpipe_ignored = [] {
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)sigpipe_ignored;

  CliResult result;
  // execve does not search PATH, and execvp may allocate after fork: resolve it here.
  std::string resolved = binary;
  if (binary.find('/') == std::string::npos) {
    const char* path_env = std::getenv("PATH");
    std::istringstream dirs(path_env ? path_env : "/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');) {
      const std::string candidate = (d.empty() ? "." : d) + "/" + binary;
      if (access(candidate.c_str(), X_OK) == 0) {
        resolved = candidate;
        break;
      }
    }
  }
  std::vector<std::string> all = {resolved};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<std::string> environment = child_environment(env);
  std::vector<char*> argv = c_strings(all);
  std::vector<char*> envp = c_strings(environment);

  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0) {
    result.stderr_text = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    exec_child(parent, in_pipe[0], out_pipe[1], err_pipe[1], argv.data(), envp.data(),
               options.cwd.c_str());
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    for (int fd : {in_pipe[1], out_pipe[0], err_pipe[0]}) close(fd);
    result.stderr_text = std::string("fork: ") + std::strerror(errno);
    return result;
  }

  int stdin_fd = in_pipe[1];
  fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
  std::size_t stdin_written = 0;
  if (options.stdin_data.empty()) {
    close(stdin_fd);
    stdin_fd = -1;
  }
  int out_fd = out_pipe[0], err_fd = err_pipe[0];
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  // Drain both pipes concurrently: a child filling one while we block on the other deadlocks.
  while (out_fd >= 0 || err_fd >= 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    nfds_t n = 0;
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[n++] = {err_fd, POLLIN, 0};
    if (stdin_fd >= 0) fds[n++] = {stdin_fd, POLLOUT, 0};
    if (poll(fds, n, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (nfds_t i = 0; i < n; ++i) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == stdin_fd) {
        const ssize_t w = write(stdin_fd, options.stdin_data.data() + stdin_written,
                                options.stdin_data.size() - stdin_written);
        if (w > 0) stdin_written += static_cast<std::size_t>(w);
        if ((w < 0 && errno != EAGAIN) || stdin_written == options.stdin_data.size()) {
          close(stdin_fd);
          stdin_fd = -1;
        }
        continue;
      }
      char buf[65536];
      const ssize_t r = read(fds[i].fd, buf, sizeof buf);
      std::string& sink = fds[i].fd == out_fd ? result.stdout_text : result.stderr_text;
      if (r > 0) {
        sink.append(buf, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EAGAIN) {
        int& fd = fds[i].fd == out_fd ? out_fd : err_fd;
        close(fd);
        fd = -1;
      }
    }
  }
  for (int fd : {stdin_fd, out_fd, err_fd}) {
    if (fd >= 0) close(fd);
  }
  // A child may close its output and linger (or hand it to a grandchild): the deadline still
  // applies.
  int status = 0;
  while (true) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (r == 0 && std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  result.exit_code = status_to_exit_code(status);
  return result;
}

CliResult run_keygate_cli(const std::vector<std::string>& args, const EnvVars& env,
                          const CliOptions& options) {
  return run_command(KEYGATE_BINARY, args, env, options);
}

}  // namespace keygate::testing
