// StoreProbe over a real SqliteStore: up while the store answers; down, at once for the caller,
// while a write holds the store waiting for a lock another process has; up again after.
#include "store/store_probe.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "store/sqlite/connection.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace castellan::store {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

// Polls `probe.up()` until it equals `want`, for at most 10 s.
bool becomes(const StoreProbe& probe, bool want) {
  for (int i = 0; i < 1000; ++i) {
    if (probe.up() == want) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST(StoreProbe, AStoreHeldUpByALockIsDownUntilItAnswersAgain) {
  TempDir dir;
  const auto file = dir.path() / "castellan.db";
  auto store = SqliteStore::open(file);
  ASSERT_TRUE(store.ok()) << store.error().message;
  StoreProbe probe(**store, SystemClock::instance(), 20ms);
  ASSERT_TRUE(becomes(probe, true));

  // Another process takes the write lock; a write of ours then waits for it (up to SQLite's
  // busy timeout, 5 s) holding the store, so the probe's question waits too.
  auto other = sqlite::Connection::open(file);
  ASSERT_TRUE(other.ok()) << other.error().message;
  ASSERT_TRUE((*other)->exec("BEGIN IMMEDIATE").ok());
  std::thread writer([&] {
    (void)(*store)->insert(Collection::sites, json::parse(R"({"id":"hq"})").as_object());
  });
  EXPECT_TRUE(becomes(probe, false)) << "still up while the store could not answer";
  ASSERT_TRUE((*other)->exec("ROLLBACK").ok());
  writer.join();
  EXPECT_TRUE(becomes(probe, true));
}

}  // namespace
}  // namespace castellan::store
