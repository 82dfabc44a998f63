#include "live_memory.h"

#include <gtest/gtest.h>

#include "options.h"

namespace tcpscribe {
namespace {

TEST(LiveMemory, ReadsMemTotalAndMemAvailable) {
  const MemoryInfo m = parse_meminfo(
      "MemTotal:       24683736 kB\nMemFree:        20000000 kB\n"
      "MemAvailable:   23359032 kB\nBuffers:          123 kB\n");
  EXPECT_EQ(m.total_mib, 24105u);
  EXPECT_EQ(m.available_mib, 22811u);
  // A key must start its line: "SwapMemTotal" is not MemTotal.
  EXPECT_EQ(parse_meminfo("SwapMemTotal: 2048 kB\n").total_mib, 0u);
  EXPECT_EQ(parse_meminfo("").available_mib, 0u);
}

TEST(LiveMemory, ACgroupLimitLowersBoth) {
  MemoryInfo m{24105, 22811};
  apply_cgroup_limit(m, "max\n", "1048576\n");
  EXPECT_EQ(m.total_mib, 24105u);  // no limit
  apply_cgroup_limit(m, "2147483648\n", "536870912\n");
  EXPECT_EQ(m.total_mib, 2048u);
  EXPECT_EQ(m.available_mib, 1536u);
  apply_cgroup_limit(m, "", "");  // no such file
  EXPECT_EQ(m.total_mib, 2048u);
}

const MemoryInfo kMachine{24105, 22811};  // 3/4 of available: 17108

TEST(LiveMemory, AQueueThatFitsIsKept) {
  const QueueFit f = fit_to_memory(12000, 64, kMachine);
  EXPECT_EQ(f.code, kExitOk);
  EXPECT_EQ(f.queue_mib, 12000u);
  EXPECT_EQ(f.message, "");
}

TEST(LiveMemory, AQueuePastTheAvailableShareIsLowered) {
  const QueueFit f = fit_to_memory(20000, 64, kMachine);
  EXPECT_EQ(f.code, kExitOk);
  EXPECT_EQ(f.queue_mib, 17044u);
  EXPECT_EQ(f.message,
            "tcpscribe: warning: --queue-size lowered from 20000 to 17044 MiB: 3/4 of the "
            "memory available (22811 MiB), less --buffer-size");
}

TEST(LiveMemory, AQueueLargerThanTheMachineIsRefused) {
  const QueueFit f = fit_to_memory(100000, 64, kMachine);
  EXPECT_EQ(f.code, kExitUsage);
  EXPECT_EQ(f.message,
            "tcpscribe: --queue-size 100000 MiB is more than this machine's memory (24105 MiB); "
            "give at most 17044 (3/4 of the memory available (22811 MiB), less --buffer-size)");
}

TEST(LiveMemory, ABufferPastTheAvailableShareIsRefused) {
  const QueueFit f = fit_to_memory(256, 17109, kMachine);
  EXPECT_EQ(f.code, kExitUsage);
  EXPECT_EQ(f.message,
            "tcpscribe: --buffer-size 17109 MiB is more than 3/4 of the memory available "
            "(22811 MiB); give at most 17108");
  EXPECT_EQ(fit_to_memory(256, 17108, kMachine).code, kExitOk);
}

TEST(LiveMemory, ASmallMachineKeepsOneBatchAndUnknownMemoryIsNotChecked) {
  const QueueFit f = fit_to_memory(256, 64, MemoryInfo{512, 90});  // share 67
  EXPECT_EQ(f.code, kExitOk);
  EXPECT_EQ(f.queue_mib, 4u);
  const QueueFit u = fit_to_memory(1000000, 64, MemoryInfo{});
  EXPECT_EQ(u.code, kExitOk);
  EXPECT_EQ(u.queue_mib, 1000000u);
}

}  // namespace
}  // namespace tcpscribe
