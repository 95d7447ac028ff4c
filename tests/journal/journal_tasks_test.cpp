// The journal's two threads are daemon tasks in the service's registry (contract §7), and what
// the syncer waits on is there to see: a write held up reads as a bounded wait, so the stuck
// rule can name it.
#include <gtest/gtest.h>

#include <thread>

#include "journal/journal.hpp"
#include "runtime/task_registry.hpp"
#include "test_support.hpp"

namespace castellan::journal {
namespace {

using namespace std::chrono_literals;

// The registry's tasks by name, once `count` of them are there (their threads start on their
// own); empty after the failure timeout.
std::map<std::string, runtime::TaskInfo> tasks_once(const runtime::TaskRegistry& registry,
                                                    std::size_t count) {
  for (int i = 0; i < 1000 && registry.active_count() != count; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  std::map<std::string, runtime::TaskInfo> by_name;
  for (auto& t : registry.snapshot()) by_name[t.name] = t;
  return by_name;
}

TEST(JournalTasks, TheSyncerAndFlusherAreDaemonTasksAndAHeldUpWriteIsABoundedWait) {
  testing::TempDir dir;
  runtime::TaskRegistry registry(SystemClock::instance());
  JournalOptions o;
  o.dir = dir.path();
  o.tasks = &registry;
  auto journal = Journal::open(o, SystemClock::instance());
  ASSERT_TRUE(journal) << journal.error().message;

  auto tasks = tasks_once(registry, 2);
  ASSERT_EQ(tasks.size(), 2u);
  for (const char* name : {"journal syncer", "journal flusher"}) {
    ASSERT_TRUE(tasks.count(name)) << name;
    const auto& t = tasks.at(name);
    EXPECT_TRUE(t.daemon) << name;
    EXPECT_EQ(t.group, "journal");
    EXPECT_NE(t.spawn_site.find("src/journal/"), std::string::npos) << t.spawn_site;
  }

  (*journal)->stall_for(3000ms);
  std::promise<void> durable;
  (*journal)->append(testing::numbered_records(1)[0],
                     [&](Result<JournalRecord>) { durable.set_value(); });
  bool seen = false;
  for (int i = 0; i < 1000 && !seen; ++i) {
    for (const auto& t : registry.snapshot()) {
      seen |= t.name == "journal syncer" && t.waiting_on == "journal: injected stall" &&
              t.wait_kind == runtime::WaitKind::kBounded;
    }
    if (!seen) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(seen) << "the held-up write is not in the syncer's task";
  durable.get_future().wait();

  journal->reset();
  EXPECT_EQ(registry.active_count(), 0u) << "the threads' tasks end with them";
}

}  // namespace
}  // namespace castellan::journal
