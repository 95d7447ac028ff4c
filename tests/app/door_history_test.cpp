// The history behind a door's assist (failure rate of the last 24 h, last passages) kept across
// a restart in DATA_DIR/door-history.json: the real swipe path makes the decisions, the file
// is real, and a second installation reads it back.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "../journal/test_support.hpp"
#include "app/door_history_file.hpp"
#include "core/secrets.hpp"
#include "installation.hpp"

namespace castellan::app {
namespace {

using namespace std::chrono_literals;
using namespace devices::testing;
using journal::testing::TempDir;
using testing::Installation;

class DoorHistoryTest : public ::testing::Test {
 protected:
  // `denied` swipes of an unknown card and `granted` of a valid one at d1.
  void swipes(Installation& at, int denied, int granted) {
    for (int i = 0; i < denied; ++i) {
      at.pipeline.handle("hq", "d1", swipe_json("deny-" + std::to_string(next_), kUidUnknown));
      ++next_;
    }
    for (int i = 0; i < granted; ++i) at.swipe("d1", "grant-" + std::to_string(next_++));
  }
  std::string read_file() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  TempDir dir_;
  std::string path_ = door_history_path(dir_.path());
  int next_ = 0;
};

TEST_F(DoorHistoryTest, AFailureRateThatRefusesAForceUnlockStillRefusesItAfterARestart) {
  Installation before(clock_);
  swipes(before, 3, 7);  // 30 % denied
  clock_.advance(2h);    // another hour's bucket
  swipes(before, 0, 2);
  const auto was = before.door_states.assist("d1");
  ASSERT_EQ(was.decisions_24h, 12u);
  ASSERT_FALSE(was.force_unlock_allowed);
  ASSERT_EQ(was.recent.size(), 3u);
  ASSERT_TRUE(save_door_history(path_, before.door_states, clock_.now()).ok());

  Installation after(clock_);
  EXPECT_TRUE(after.door_states.assist("d1").force_unlock_allowed);  // nothing read yet
  auto restored = load_door_history(path_, after.world.doors, after.door_states);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(*restored, 1u);
  const auto is = after.door_states.assist("d1");
  EXPECT_EQ(is.decisions_24h, 12u);
  EXPECT_DOUBLE_EQ(is.failure_rate_24h, was.failure_rate_24h);
  EXPECT_FALSE(is.force_unlock_allowed);
  EXPECT_EQ(is.reason, was.reason);
  ASSERT_EQ(is.recent.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(is.recent[i].trace_id, was.recent[i].trace_id);
    EXPECT_EQ(is.recent[i].ts, was.recent[i].ts);
    EXPECT_EQ(is.recent[i].user, was.recent[i].user);
  }

  // Decisions after the restart add to what was read back; passages after it come first.
  swipes(after, 0, 1);
  EXPECT_EQ(after.door_states.assist("d1").decisions_24h, 13u);
  EXPECT_EQ(after.door_states.assist("d1").recent[1].trace_id, was.recent[0].trace_id);

  // The file is private, like the rest of the data directory.
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(DoorHistoryTest, HoursOlderThanADayAndDoorsThatNoLongerExistAreNotReadBack) {
  const auto hour =
      std::chrono::duration_cast<std::chrono::hours>(clock_.now().time_since_epoch()).count();
  const auto h = [&](int before) { return std::to_string(hour - before); };
  // d1's hour 24 h back is out of the window, 23 h back is in; "gone" was deleted since, and
  // d1 is not at site "elsewhere".
  ASSERT_TRUE(write_secret_file(path_, R"({"saved_at":"2026-11-22T02:00:00Z","doors":[)"
                                       R"({"site":"hq","door":"gone","hours":[[)" +
                                           h(0) +
                                           R"(,5,5]],"recent":[]},)"
                                           R"({"site":"elsewhere","door":"d1","hours":[[)" +
                                           h(0) +
                                           R"(,5,5]],"recent":[]},)"
                                           R"({"site":"hq","door":"d1","hours":[[)" +
                                           h(24) + ",3,3],[" + h(23) + R"(,2,1]],"recent":[]}]})")
                  .ok());
  Installation after(clock_);
  auto restored = load_door_history(path_, after.world.doors, after.door_states);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(*restored, 1u);
  const auto is = after.door_states.assist("d1");
  EXPECT_EQ(is.decisions_24h, 2u);
  EXPECT_DOUBLE_EQ(is.failure_rate_24h, 0.5);
}

TEST_F(DoorHistoryTest, NoFileIsAFirstStartAndABadFileIsAnErrorNamingIt) {
  Installation at(clock_);
  auto none = load_door_history(path_, at.world.doors, at.door_states);
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_EQ(*none, 0u);

  for (const std::string bad : {"not json", R"({"doors":{}})",
                                R"({"doors":[{"site":"hq","door":"d1","hours":[[1]],)"
                                R"("recent":[]}]})"}) {
    ASSERT_TRUE(write_secret_file(path_, bad).ok());
    auto read = load_door_history(path_, at.world.doors, at.door_states);
    ASSERT_FALSE(read.ok()) << bad;
    EXPECT_NE(read.error().message.find(path_), std::string::npos) << read.error().message;
    EXPECT_NE(read.error().message.find("does not parse"), std::string::npos);
  }
  EXPECT_EQ(at.door_states.assist("d1").decisions_24h, 0u);
}

TEST_F(DoorHistoryTest, TheSaverWritesEveryIntervalAndOnceMoreWhenItStops) {
  Installation at(clock_);
  {
    DoorHistorySaver saver(path_, at.door_states, clock_, 10ms);
    swipes(at, 1, 0);
    bool seen = false;
    for (int i = 0; i < 1000 && !seen; ++i) {
      seen = read_file().find("[[") != std::string::npos;
      if (!seen) std::this_thread::sleep_for(10ms);
    }
    EXPECT_TRUE(seen) << "no periodic save within 10 s";
  }
  {
    DoorHistorySaver saver(path_, at.door_states, clock_, 1h);  // no periodic save in this test
    swipes(at, 0, 1);
  }  // the stop saves
  Installation after(clock_);
  ASSERT_TRUE(load_door_history(path_, after.world.doors, after.door_states).ok());
  EXPECT_EQ(after.door_states.assist("d1").decisions_24h, 2u);
}

}  // namespace
}  // namespace castellan::app
