// threads: 0 from the cgroup CPU quota, on fixture cgroup trees written to a temporary dir.
#include "proxy/cpu_quota.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/keygate_process.h"

namespace keygate::proxy {
namespace {

using keygate::testing::make_temp_dir;
using keygate::testing::write_text_file;

class CpuQuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("cpu-quota");
    root_ = dir_ + "/cgroup";
    self_ = dir_ + "/self-cgroup";
    std::filesystem::create_directories(root_);
    write_text_file(self_, "0::/\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void write(const std::string& relative, const std::string& text) {
    const auto path = std::filesystem::path(root_) / relative;
    std::filesystem::create_directories(path.parent_path());
    write_text_file(path.string(), text);
  }

  WorkerCount choose(int configured = 0, unsigned cores = 8) {
    return choose_worker_count(configured, root_, self_, cores);
  }

  std::string dir_, root_, self_;
};

TEST_F(CpuQuotaTest, V2QuotaIsRoundedUp) {
  write("cpu.max", "150000 100000\n");
  const auto count = choose();
  EXPECT_EQ(count.threads, 2);
  EXPECT_EQ(count.source, root_ + "/cpu.max");
}

TEST_F(CpuQuotaTest, V2WholeCpus) {
  write("cpu.max", "300000 100000\n");
  EXPECT_EQ(choose().threads, 3);
}

TEST_F(CpuQuotaTest, V2SmallQuotaStillGetsOneWorker) {
  write("cpu.max", "10000 100000\n");
  EXPECT_EQ(choose().threads, 1);
}

TEST_F(CpuQuotaTest, V2MaxMeansNoQuota) {
  write("cpu.max", "max 100000\n");
  const auto count = choose(0, 6);
  EXPECT_EQ(count.threads, 6);
  EXPECT_EQ(count.source, "hardware_concurrency");
}

TEST_F(CpuQuotaTest, QuotaAboveTheCoresIsCappedAtTheCores) {
  write("cpu.max", "1600000 100000\n");
  EXPECT_EQ(choose(0, 4).threads, 4);
}

TEST_F(CpuQuotaTest, TheProcessOwnCgroupComesFirst) {
  write_text_file(self_, "0::/kubepods/pod1/keygate\n");
  write("cpu.max", "max 100000\n");
  write("kubepods/pod1/keygate/cpu.max", "250000 100000\n");
  const auto count = choose();
  EXPECT_EQ(count.threads, 3);
  EXPECT_EQ(count.source, root_ + "/kubepods/pod1/keygate/cpu.max");
}

TEST_F(CpuQuotaTest, V1QuotaAndPeriod) {
  write_text_file(self_, "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n");
  write("cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "200000\n");
  write("cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  const auto count = choose();
  EXPECT_EQ(count.threads, 2);
  EXPECT_EQ(count.source, root_ + "/cpu,cpuacct/docker/abc/cpu.cfs_quota_us");
}

TEST_F(CpuQuotaTest, V1AtTheNamespacedRoot) {
  write_text_file(self_, "4:cpu,cpuacct:/\n");
  write("cpu/cpu.cfs_quota_us", "50000\n");
  write("cpu/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(choose().threads, 1);
}

TEST_F(CpuQuotaTest, V1MinusOneMeansNoQuota) {
  write("cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  write("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  EXPECT_EQ(choose(0, 5).threads, 5);
}

TEST_F(CpuQuotaTest, NoCgroupFilesMeansHardwareConcurrency) {
  EXPECT_EQ(choose(0, 3).threads, 3);
  EXPECT_EQ(choose(0, 0).threads, 1);  // hardware_concurrency() may say 0: still one worker
}

TEST_F(CpuQuotaTest, GarbageIsIgnored) {
  write("cpu.max", "lots 100000\n");
  EXPECT_EQ(choose(0, 2).source, "hardware_concurrency");
  write("cpu.max", "100000 0\n");
  EXPECT_EQ(choose(0, 2).source, "hardware_concurrency");
}

TEST_F(CpuQuotaTest, ConfiguredThreadsWin) {
  write("cpu.max", "100000 100000\n");
  const auto count = choose(7, 2);
  EXPECT_EQ(count.threads, 7);
  EXPECT_EQ(count.source, "threads");
}

}  // namespace
}  // namespace keygate::proxy
