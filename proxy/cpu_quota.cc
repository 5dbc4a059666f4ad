#include "proxy/cpu_quota.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <vector>

namespace keygate::proxy {
namespace {

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text;
  char buffer[256];
  in.read(buffer, sizeof buffer);  // cgroup files are one short line; bound the read anyway
  text.assign(buffer, static_cast<std::size_t>(in.gcount()));
  return text;
}

std::optional<long long> parse_number(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int cpus_from(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return 0;
  return static_cast<int>((quota + period - 1) / period);  // 1.5 CPUs -> 2 workers
}

// cgroup v2: "max 100000" (no limit) or "150000 100000".
int read_v2(const std::string& dir) {
  auto text = read_small_file(dir + "/cpu.max");
  if (!text) return 0;
  std::istringstream in(*text);
  std::string quota, period;
  if (!(in >> quota >> period) || quota == "max") return 0;
  auto q = parse_number(quota);
  auto p = parse_number(period);
  return q && p ? cpus_from(*q, *p) : 0;
}

// cgroup v1: cpu.cfs_quota_us is -1 when unlimited.
int read_v1(const std::string& dir) {
  auto quota_text = read_small_file(dir + "/cpu.cfs_quota_us");
  auto period_text = read_small_file(dir + "/cpu.cfs_period_us");
  if (!quota_text || !period_text) return 0;
  auto q = parse_number(*quota_text);
  auto p = parse_number(*period_text);
  return q && p ? cpus_from(*q, *p) : 0;
}

// This process's cgroup paths from /proc/self/cgroup: the v2 line ("0::/path") and the v1
// line of the cpu controller ("4:cpu,cpuacct:/path").
struct SelfCgroup {
  std::string v2;
  std::string v1_cpu;
};

SelfCgroup read_self_cgroup(const std::string& file) {
  SelfCgroup self;
  std::ifstream in(file);
  std::string line;
  for (int lines = 0; lines < 64 && std::getline(in, line); ++lines) {
    const auto first = line.find(':');
    const auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      self.v2 = path;
      continue;
    }
    std::istringstream list(controllers);
    for (std::string c; std::getline(list, c, ',');)
      if (c == "cpu") self.v1_cpu = path;
  }
  return self;
}

}  // namespace

CpuQuota cgroup_cpu_quota(const std::string& cgroup_root, const std::string& self_cgroup_file) {
  const SelfCgroup self = read_self_cgroup(self_cgroup_file);
  // v2: the process's own cgroup, then the root (inside a container's cgroup namespace
  // /proc/self/cgroup says "0::/" and the root *is* the container's cgroup).
  std::vector<std::string> v2_dirs;
  if (!self.v2.empty() && self.v2 != "/") v2_dirs.push_back(cgroup_root + self.v2);
  v2_dirs.push_back(cgroup_root);
  for (const auto& dir : v2_dirs)
    if (int cpus = read_v2(dir)) return {cpus, dir + "/cpu.max"};
  // v1: the cpu controller's hierarchy, mounted as cpu,cpuacct or cpu.
  for (const std::string mount : {"/cpu,cpuacct", "/cpu"}) {
    std::vector<std::string> v1_dirs;
    if (!self.v1_cpu.empty() && self.v1_cpu != "/")
      v1_dirs.push_back(cgroup_root + mount + self.v1_cpu);
    v1_dirs.push_back(cgroup_root + mount);
    for (const auto& dir : v1_dirs)
      if (int cpus = read_v1(dir)) return {cpus, dir + "/cpu.cfs_quota_us"};
  }
  return {};
}

WorkerCount choose_worker_count(int configured, const std::string& cgroup_root,
                                const std::string& self_cgroup_file,
                                unsigned hardware_concurrency) {
  const int cores = std::max(1, static_cast<int>(hardware_concurrency));
  if (configured > 0) return {configured, "threads"};
  if (const CpuQuota quota = cgroup_cpu_quota(cgroup_root, self_cgroup_file); quota.cpus > 0)
    return {std::clamp(quota.cpus, 1, cores), quota.file};
  return {cores, "hardware_concurrency"};
}

}  // namespace keygate::proxy
