// How many worker threads `threads: 0` means. In a container the CPU limit is a CFS quota,
// not fewer visible cores: hardware_concurrency() still counts every core of the node, and
// that many busy threads on a 2-CPU quota get throttled every period. The quota is read from
// the cgroup filesystem: v2 `cpu.max` ("<quota> <period>" or "max <period>"), else v1
// `cpu.cfs_quota_us` / `cpu.cfs_period_us` (quota -1: none).
#pragma once

#include <string>

namespace keygate::proxy {

struct WorkerCount {
  int threads = 1;
  // For the start-up log: "threads" (configured), the cgroup file the quota came from, or
  // "hardware_concurrency".
  std::string source;
};

struct CpuQuota {
  int cpus = 0;      // rounded up; 0: no quota (or none readable)
  std::string file;  // where it was read
};

// The CPU quota under `cgroup_root` (normally /sys/fs/cgroup). Looks at this process's own
// cgroup (from `self_cgroup_file`, normally /proc/self/cgroup) under the root first, then at
// the root itself (a container's namespaced view).
CpuQuota cgroup_cpu_quota(const std::string& cgroup_root, const std::string& self_cgroup_file);

// configured > 0: that many. Otherwise the quota, clamped to [1, hardware_concurrency], or
// hardware_concurrency when there is no quota.
WorkerCount choose_worker_count(int configured, const std::string& cgroup_root,
                                const std::string& self_cgroup_file, unsigned hardware_concurrency);

}  // namespace keygate::proxy
