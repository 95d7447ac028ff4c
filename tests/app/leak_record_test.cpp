// The leak detector's report reaches the journal as a `task_leak` record (contract §5, §7): the
// real HealthMonitor on a FakeClock, real leaked tasks, a real journal on disk.
#include "app/leak_record.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "../devices/bridge_world.hpp"
#include "../journal/test_support.hpp"
#include "runtime/faults.hpp"
#include "runtime/health.hpp"
#include "runtime/io_pool.hpp"
#include "runtime/task_registry.hpp"

namespace castellan::app {
namespace {

using namespace std::chrono_literals;

TEST(LeakRecord, ALeakTheDetectorFindsIsJournaledAsATaskLeakRecord) {
  FakeClock clock{*parse_utc("2026-11-22T03:00:00Z")};
  journal::testing::TempDir dir;
  auto journal = devices::testing::open_journal(dir.path(), clock);
  runtime::TaskRegistry registry{clock};
  runtime::IoPool pool{1};
  int reports = 0;
  runtime::HealthMonitor monitor{registry, clock, runtime::HealthOptions{},
                                 [&](const runtime::LeakReport& r) {
                                   ++reports;
                                   journal_leak(*journal, r);
                                 }};
  const auto sample_for = [&](std::chrono::seconds duration) {
    for (auto t = 0s; t < duration && reports == 0; t += 3s) {
      clock.advance(3s);
      monitor.sample();
    }
  };
  sample_for(60s);  // a window with nothing running
  runtime::FaultInjector faults(registry, pool.executor());
  ASSERT_EQ(faults.leak_tasks(50), 50);
  sample_for(60s);
  ASSERT_EQ(reports, 1);

  journal::EventQuery q;
  q.kind = journal::RecordKind::task_leak;
  std::vector<journal::JournalRecord> found;
  for (int i = 0; i < 1000 && found.empty(); ++i) {  // the append completes on its own thread
    found = journal->query(q).value().records;
    if (found.empty()) std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(found.size(), 1u) << "the record was refused: see the log";
  EXPECT_EQ(found[0].source, "runtime");
  const auto extra = boost::json::parse(found[0].extra).as_object();
  EXPECT_EQ(extra.at("rule").as_string(), "task_score");
  EXPECT_NE(std::string(extra.at("spawn_site").as_string()).find("leak_record_test.cpp"),
            std::string::npos);
  EXPECT_EQ(extra.at("sites").as_array().at(0).as_object().at("count").to_number<std::int64_t>(),
            50);

  faults.clear();
  for (int i = 0; i < 1000 && faults.leaked_tasks() != 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
}

}  // namespace
}  // namespace castellan::app
