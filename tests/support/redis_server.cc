#include "tests/support/redis_server.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/free_port.h"

namespace keygate::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kReadyDeadline = std::chrono::seconds(10);
constexpr int kStopDeadlineMs = 10000;

// A local copy of the reply conversion, so test support does not depend on keygate_redis.
redis::Reply convert(const redisReply& reply) {
  redis::Reply out;
  switch (reply.type) {
    case REDIS_REPLY_STRING:
      out.type = redis::Reply::Type::string;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis::Reply::Type::status;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis::Reply::Type::error;
      out.str.assign(reply.str, reply.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis::Reply::Type::integer;
      out.integer = reply.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis::Reply::Type::array;
      for (size_t i = 0; i < reply.elements; ++i)
        out.elements.push_back(convert(*reply.element[i]));
      break;
    default:
      break;
  }
  return out;
}

redis::Reply helper_error(const std::string& what) {
  redis::Reply reply;
  reply.type = redis::Reply::Type::error;
  reply.str = "ERR test helper: " + what;
  return reply;
}

// Sends one command on `context`; the reply, or a helper error.
redis::Reply send(redisContext* context, std::span<const std::string_view> args) {
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
  for (auto arg : args) {
    pointers.push_back(arg.data() ? arg.data() : "");
    lengths.push_back(arg.size());
  }
  auto* reply = static_cast<redisReply*>(
      redisCommandArgv(context, static_cast<int>(args.size()), pointers.data(), lengths.data()));
  if (!reply) return helper_error(context->errstr);
  redis::Reply out = convert(*reply);
  freeReplyObject(reply);
  return out;
}

bool executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

}  // namespace

std::string RedisServer::find_binary() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream directories(path);
    std::string directory;
    while (std::getline(directories, directory, ':')) {
      if (directory.empty()) continue;
      std::string candidate = directory + "/redis-server";
      if (executable(candidate)) return candidate;
    }
  }
  return executable("/usr/bin/redis-server") ? "/usr/bin/redis-server" : "";
}

RedisServer::RedisServer() : RedisServer(Options{}) {}

RedisServer::RedisServer(Options options) : options_(std::move(options)) {
  binary_ = find_binary();
  if (binary_.empty())
    throw std::runtime_error(
        "redis-server not found on PATH nor in /usr/bin: install the redis-server package "
        "(`make deps`); tests that need Redis cannot run without it");
  std::string pattern = (std::filesystem::temp_directory_path() / "keygate-redis-XXXXXX").string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error("cannot create a temporary directory for redis-server");
  directory_ = pattern;
  log_path_ = directory_ + "/redis.log";
  if (!options_.config_file_text.empty()) {
    std::ofstream config(directory_ + "/redis.conf");
    config << options_.config_file_text;
    if (!config) throw std::runtime_error("cannot write " + directory_ + "/redis.conf");
  }
  launch(false);
}

RedisServer::~RedisServer() {
  kill();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void RedisServer::start() {
  if (running()) return;
  launch(true);
}

void RedisServer::launch(bool keep_port) {
  // A fresh port can be taken by someone else between picking and binding: pick again.
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    if (!keep_port) port_ = pick_free_port();
    spawn();
    Outcome outcome = wait_until_ready();
    if (outcome == Outcome::ready) return;
    std::string tail = log_tail();
    kill();
    bool port_taken = tail.find("Address already in use") != std::string::npos;
    if (port_taken && !keep_port && attempt < kAttempts) continue;
    throw std::runtime_error("redis-server (" + binary_ +
                             ") on 127.0.0.1:" + std::to_string(port_) +
                             (outcome == Outcome::exited ? " exited before answering PING"
                                                         : " did not answer PING within 10 s") +
                             "; end of its log:\n" + tail);
  }
}

void RedisServer::spawn() {
  std::vector<std::string> words = {binary_, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no", "--daemonize", "no",
                                    "--dir", directory_, "--logfile", "",
                                    // Tests make Redis slow on purpose with DEBUG SLEEP.
                                    "--enable-debug-command", "local"};
  if (!options_.config_file_text.empty()) {
    // The config file must come right after the binary.
    words.insert(words.begin() + 1, directory_ + "/redis.conf");
    if (options_.sentinel) words.insert(words.begin() + 2, "--sentinel");
  }
  if (!options_.password.empty()) {
    words.push_back("--requirepass");
    words.push_back(options_.password);
  }
  words.insert(words.end(), options_.extra_args.begin(), options_.extra_args.end());
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe
  // calls are allowed in a multithreaded process.
  std::vector<char*> argv;
  for (auto& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log);
  pid_ = pid;
}

RedisServer::Outcome RedisServer::wait_until_ready() {
  auto deadline = Clock::now() + kReadyDeadline;
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Outcome::exited;
    }
    timeval connect_timeout{0, 200 * 1000};
    redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, connect_timeout);
    if (context && !context->err) {
      redisSetTimeout(context, connect_timeout);
      bool authenticated = true;
      if (!options_.password.empty()) {
        std::string_view auth[] = {"AUTH", options_.password};
        authenticated = send(context, auth).type == redis::Reply::Type::status;
      }
      std::string_view ping[] = {"PING"};
      bool ready = authenticated && send(context, ping).str == "PONG";
      redisFree(context);
      if (ready) return Outcome::ready;
    } else if (context) {
      redisFree(context);
    }
    // Polling interval, bounded by the deadline above.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Outcome::timed_out;
}

bool RedisServer::wait_exit(int milliseconds) {
  auto deadline = Clock::now() + std::chrono::milliseconds(milliseconds);
  while (true) {
    int status = 0;
    pid_t result = ::waitpid(pid_, &status, WNOHANG);
    if (result == pid_ || (result < 0 && errno == ECHILD)) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void RedisServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  ::kill(pid_, SIGCONT);  // a paused server would hold SIGTERM until resumed
  if (!wait_exit(kStopDeadlineMs)) {
    ::kill(pid_, SIGKILL);
    wait_exit(kStopDeadlineMs);
  }
  pid_ = -1;
}

void RedisServer::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}

void RedisServer::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  wait_exit(kStopDeadlineMs);
  pid_ = -1;
}

redis::Reply RedisServer::command(std::span<const std::string_view> args) const {
  timeval timeout{2, 0};
  redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, timeout);
  if (!context) return helper_error("cannot allocate a context");
  if (context->err) {
    redis::Reply error = helper_error(context->errstr);
    redisFree(context);
    return error;
  }
  redisSetTimeout(context, timeout);
  if (!options_.password.empty()) {
    std::string_view auth[] = {"AUTH", options_.password};
    redis::Reply reply = send(context, auth);
    if (reply.is_error()) {
      redisFree(context);
      return reply;
    }
  }
  redis::Reply reply = send(context, args);
  redisFree(context);
  return reply;
}

std::string RedisServer::log_tail() const {
  std::ifstream in(log_path_, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr std::size_t kTail = 2000;
  return text.size() > kTail ? text.substr(text.size() - kTail) : text;
}

}  // namespace keygate::testing
