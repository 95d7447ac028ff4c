// The journal's block of /metrics: Prometheus text that promtool accepts, with the figures an
// operator watches (health, batches, fsync latency, the query index's memory).
#include "app/journal_metrics.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "../journal/test_support.hpp"

namespace castellan::app {
namespace {

TEST(JournalMetrics, RenderTheJournalStatsAsPrometheusText) {
  journal::JournalStats s;
  s.records = 40;
  s.batches = 10;
  s.bytes = 20'000;
  s.last_seq = 40;
  s.segments = 2;
  s.index_bytes = 40 * 64;
  s.batch_size_buckets[2] = 10;  // 10 batches of 3–4 records
  s.fsync_seconds_buckets[1] = 10;
  s.fsync_seconds_sum = 0.0015;
  s.healthy = false;
  const std::string text = journal_metrics_text(s);
  for (const char* line :
       {"castellan_journal_index_bytes 2560\n", "castellan_journal_healthy 0\n",
        "castellan_journal_segments 2\n", "castellan_journal_records_total 40\n",
        "castellan_journal_batch_size_count 10\n", "castellan_journal_fsync_seconds_count 10\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " missing in\n" << text;
  }
  journal::testing::TempDir dir;
  std::ofstream(dir.file("metrics.txt")) << text;
  const std::string command = "promtool check metrics < " + dir.file("metrics.txt") + " > " +
                              dir.file("promtool.out") + " 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << std::ifstream(dir.file("promtool.out")).rdbuf();
}

}  // namespace
}  // namespace castellan::app
