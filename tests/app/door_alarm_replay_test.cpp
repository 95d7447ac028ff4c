// Door alarms read back from the journal at start: an alarm raised before a restart and not
// cleared is carried over, so that the door's first `closed` after the restart clears it (a
// `cleared` record), and it is not raised a second time meanwhile. The records are the ones the
// real DoorStateTracker writes (from a recording journal), appended to a real journal on disk.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "../journal/test_support.hpp"
#include "app/door_alarm_replay.hpp"
#include "devices/journal_records.hpp"
#include "installation.hpp"

namespace castellan::app {
namespace {

using namespace std::chrono_literals;
using namespace devices::testing;
using devices::ContactState;
using devices::LockState;
using journal::testing::TempDir;
using testing::Installation;

class DoorAlarmReplayTest : public ::testing::Test {
 protected:
  void state(Installation& at, const std::string& door, std::optional<LockState> lock,
             std::optional<ContactState> contact) {
    at.door_states.on_state(*at.world.doors.find("hq", door),
                            devices::DoorStateUpdate{lock, contact, std::nullopt, std::nullopt});
  }
  // Writes what `before` journaled to the journal on disk.
  void crash(Installation& before) {
    auto records = before.journal.records();
    for (auto& r : records) r.seq = 0;  // the real writer numbers them
    journal::testing::append_all(*disk_, records);
  }
  DoorAlarmReplay restart(Installation& after) {
    auto replayed = replay_door_alarms(*disk_, after.world.doors, after.door_states);
    EXPECT_TRUE(replayed.ok()) << replayed.error().message;
    return replayed.ok() ? *replayed : DoorAlarmReplay{};
  }
  // How many door_alarm records of `alarm` in `state` `at` journaled.
  static std::size_t alarms(Installation& at, const std::string& alarm, const std::string& st) {
    std::size_t n = 0;
    for (const auto& r : at.journal.records()) {
      if (r.kind != journal::RecordKind::door_alarm) continue;
      auto extra = boost::json::parse(r.extra).as_object();
      if (extra["alarm"].as_string() == alarm && extra["state"].as_string() == st) ++n;
    }
    return n;
  }

  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  TempDir dir_;
  std::unique_ptr<journal::Journal> disk_ = open_journal(dir_.path(), clock_);
};

TEST_F(DoorAlarmReplayTest, AForcedOpeningBeforeARestartIsClearedWhenTheDoorIsFirstSeenClosed) {
  Installation before(clock_);
  state(before, "d1", LockState::kLocked, ContactState::kClosed);
  state(before, "d1", std::nullopt, ContactState::kOpen);
  ASSERT_EQ(alarms(before, "forced_open", "raised"), 1u);
  crash(before);
  clock_.advance(5s);

  Installation after(clock_);
  const auto replayed = restart(after);
  EXPECT_EQ(replayed.records_read, 1u);
  EXPECT_EQ(replayed.carried_over, 1u);
  EXPECT_TRUE(after.door_states.assist("d1").forced_open);
  state(after, "d1", LockState::kLocked, ContactState::kClosed);
  EXPECT_EQ(alarms(after, "forced_open", "cleared"), 1u);
  EXPECT_EQ(alarms(after, "forced_open", "raised"), 0u);
  EXPECT_FALSE(after.door_states.assist("d1").forced_open);
}

TEST_F(DoorAlarmReplayTest, ADoorStillHeldOpenAfterARestartIsNotRaisedAgainAndClearsOnClose) {
  Installation before(clock_);
  state(before, "d1", LockState::kUnlocked, ContactState::kOpen);
  clock_.advance(31s);
  before.door_states.tick();
  ASSERT_EQ(alarms(before, "held_open", "raised"), 1u);
  crash(before);

  Installation after(clock_);
  EXPECT_EQ(restart(after).carried_over, 1u);
  state(after, "d1", LockState::kUnlocked, ContactState::kOpen);  // first sight: still open
  clock_.advance(31s);
  after.door_states.tick();
  EXPECT_EQ(alarms(after, "held_open", "raised"), 0u) << "raised once, before the restart";
  EXPECT_TRUE(after.door_states.assist("d1").held_open);
  state(after, "d1", std::nullopt, ContactState::kClosed);
  EXPECT_EQ(alarms(after, "held_open", "cleared"), 1u);
}

TEST_F(DoorAlarmReplayTest, ClearedAlarmsAndAlarmsOfDoorsThatNoLongerExistAreNotCarriedOver) {
  Installation before(clock_);
  state(before, "d1", LockState::kLocked, ContactState::kClosed);
  state(before, "d1", std::nullopt, ContactState::kOpen);
  state(before, "d1", std::nullopt, ContactState::kClosed);  // raised, then cleared
  ASSERT_EQ(alarms(before, "forced_open", "cleared"), 1u);
  crash(before);
  // A door deleted since its alarm was raised.
  journal::testing::append_all(
      *disk_, {devices::door_alarm_record("hq", "gone", "forced_open", /*raised=*/true)});

  Installation after(clock_);
  const auto replayed = restart(after);
  EXPECT_EQ(replayed.records_read, 3u);
  EXPECT_EQ(replayed.carried_over, 0u);
  state(after, "d1", LockState::kLocked, ContactState::kClosed);
  EXPECT_EQ(alarms(after, "forced_open", "cleared"), 0u) << "cleared once, before the restart";
  EXPECT_FALSE(after.door_states.assist("d1").forced_open);
}

}  // namespace
}  // namespace castellan::app
