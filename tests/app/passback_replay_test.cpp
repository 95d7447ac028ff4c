// Anti-passback positions rebuilt from the journal at start. The records are the ones the real
// SwipePipeline writes (taken from a recording journal, so that a swipe's durability can be
// held back past its deadline) appended to a real journal on disk; a fresh engine is replayed
// from it and a second pipeline over that engine answers the next swipes.
#include <gtest/gtest.h>

#include "../journal/test_support.hpp"
#include "app/passback_replay.hpp"
#include "installation.hpp"

namespace castellan::app {
namespace {

using namespace std::chrono_literals;
using namespace devices::testing;
using journal::testing::TempDir;
using testing::Installation;

class PassbackReplayTest : public ::testing::Test {
 protected:
  // Writes what `before` journaled to a real journal, then starts `after` from it.
  PassbackReplay restart(Installation& before, Installation& after) {
    auto replayed = replay_records(before.journal.records(), after);
    EXPECT_TRUE(replayed.ok()) << replayed.error().message;
    return replayed.ok() ? *replayed : PassbackReplay{};
  }

  // `records` (as journaled) written to a real journal, replayed into `after`.
  Result<PassbackReplay> replay_records(std::vector<journal::JournalRecord> records,
                                        Installation& after) {
    for (auto& r : records) r.seq = 0;  // the real writer numbers them
    auto j = open_journal(dir_.path(), clock_);
    journal::testing::append_all(*j, records);
    return replay_passback(*j, *after.world.holder.load(), after.world.engine.passback(),
                           clock_.now());
  }
  // The record a door's 50401 adds after the engine's `decided` record.
  static journal::JournalRecord timeout_of(journal::JournalRecord decided) {
    decided.decision = "deny";
    decided.code = 50401;
    decided.extra = R"({"outcome":"timeout"})";
    return decided;
  }

  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  TempDir dir_;
};

TEST_F(PassbackReplayTest, ACardInsideBeforeARestartIsStillInsideAfterIt) {
  Installation before(clock_);
  ASSERT_EQ(before.swipe("gate", "r-1"), 0);
  ASSERT_EQ(before.swipe("d1", "r-2"), 0);  // not an anti-passback door: not replayed
  clock_.advance(1min);

  Installation after(clock_);
  auto report = restart(before, after);
  EXPECT_EQ(report.decisions_read, 1u) << "only the anti-passback door's decisions are read";
  EXPECT_EQ(report.grants_applied, 1u);
  EXPECT_EQ(after.swipe("gate", "r-3"), 40307) << "entered before the restart, no exit since";
  EXPECT_EQ(after.swipe("gate", "r-4", "out"), 0);
  EXPECT_EQ(after.swipe("gate", "r-5"), 0);
}

TEST_F(PassbackReplayTest, AnExitBeforeTheRestartStaysAnExit) {
  Installation before(clock_);
  ASSERT_EQ(before.swipe("gate", "r-1"), 0);
  clock_.advance(1s);
  ASSERT_EQ(before.swipe("gate", "r-2", "out"), 0);

  Installation after(clock_);
  auto report = restart(before, after);
  EXPECT_EQ(report.grants_applied, 2u);
  EXPECT_EQ(after.swipe("gate", "r-3"), 0);
}

// An API client may send one trace id (traceparent) with two verifies of one card at one door:
// the failure deny of the second replaces that grant only, not the first as well.
TEST_F(PassbackReplayTest, AFailureReplacesOnlyTheNearestEarlierGrantWithItsTraceId) {
  Installation before(clock_);
  ASSERT_EQ(before.swipe("gate", "r-1"), 0);
  clock_.advance(1s);
  ASSERT_EQ(before.swipe("gate", "r-2", "out"), 0);
  auto records = before.journal.records();
  ASSERT_EQ(records.size(), 2u);
  for (auto& r : records) r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  records.push_back(timeout_of(records[1]));  // the "out" was answered 504: the card never left

  Installation after(clock_);
  auto report = replay_records(records, after);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->grants_applied, 1u);
  EXPECT_EQ(report->grants_skipped, 1u);
  EXPECT_EQ(after.swipe("gate", "r-3"), 40307) << "still inside: only the exit failed";
}

TEST_F(PassbackReplayTest, AGrantTheDoorNeverGotIsNotReplayed) {
  Installation before(clock_);
  before.journal.set_hold(true);
  before.pipeline.handle("hq", "gate", swipe_json("r-1", kUidOk));
  clock_.advance(301ms);
  before.pipeline.expire_overdue();  // the gate is told 50401: nobody went in
  before.journal.release();
  before.journal.set_hold(false);
  ASSERT_EQ(before.code_for("r-1"), 50401);

  Installation after(clock_);
  auto report = restart(before, after);
  EXPECT_EQ(report.grants_applied, 0u);
  EXPECT_EQ(report.grants_skipped, 1u);
  EXPECT_EQ(after.swipe("gate", "r-2"), 0) << "not 40307: the grant never reached the gate";
}

// An API client may send one traceparent with many verifies: a 50401 of one card does not
// undo another card's grant that shares its trace_id.
TEST_F(PassbackReplayTest, AFailureOfAnotherCardUnderTheSameTraceIdLeavesTheGrantInPlace) {
  Installation before(clock_);
  ASSERT_EQ(before.swipe("gate", "r-1"), 0);
  auto records = before.journal.records();
  ASSERT_EQ(records.size(), 1u);
  journal::JournalRecord other = timeout_of(records[0]);  // same trace_id and door, other card
  other.card_hash = std::string(64, 'c');
  records.push_back(other);

  Installation after(clock_);
  auto report = replay_records(records, after);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->grants_applied, 1u);
  EXPECT_EQ(after.swipe("gate", "r-2"), 40307) << "r-1's card is still inside";
}

TEST_F(PassbackReplayTest, EntriesOlderThanTheResetAreNotRead) {
  Installation before(clock_);
  ASSERT_EQ(before.swipe("gate", "r-1"), 0);
  auto j = open_journal(dir_.path(), clock_);
  journal::testing::append_all(*j, before.journal.records());
  clock_.advance(12h + 1s);  // the site's apb_reset_hours

  Installation after(clock_);
  auto report =
      replay_passback(*j, *after.world.holder.load(), after.world.engine.passback(), clock_.now());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->decisions_read, 0u);
  EXPECT_EQ(after.swipe("gate", "r-2"), 0);
}

TEST_F(PassbackReplayTest, DecisionRecordsCarryTheSwipeDirection) {
  Installation before(clock_);
  before.swipe("gate", "r-1", "out");
  before.swipe("nowhere", "r-2");  // unknown door: not decided, but the swipe is on record
  before.pipeline.handle("hq", "gate", R"({"req":"r-3","card":"zz"})");  // no card: no direction
  auto records = before.journal.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].dir, "out");
  EXPECT_EQ(records[1].code, 40401);
  EXPECT_EQ(records[1].dir, "in");
  EXPECT_FALSE(records[1].card_hash.empty());
  EXPECT_EQ(records[2].code, 40001);
  EXPECT_EQ(records[2].dir, "");
}

}  // namespace
}  // namespace castellan::app
