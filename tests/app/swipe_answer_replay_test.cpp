// The de-duplication table seeded from the journal at start: a swipe answered before a restart
// and sent again after it gets the same answer and is not journaled again (contract §3). The
// records are the ones the real SwipePipeline writes (from a recording journal), appended to a
// real journal on disk; a second pipeline over a fresh engine is seeded from it.
#include <gtest/gtest.h>

#include "../journal/test_support.hpp"
#include "app/passback_replay.hpp"
#include "app/swipe_answer_replay.hpp"
#include "installation.hpp"

namespace castellan::app {
namespace {

using namespace std::chrono_literals;
using namespace devices::testing;
using journal::testing::TempDir;
using testing::Installation;

class SwipeAnswerReplayTest : public ::testing::Test {
 protected:
  // Writes what `before` journaled to the journal on disk.
  void crash(Installation& before) {
    auto records = before.journal.records();
    for (auto& r : records) r.seq = 0;  // the real writer numbers them
    journal::testing::append_all(*disk_, records);
  }
  // Starts `after` as the server does: anti-passback positions, then the swipe answers.
  std::uint64_t restart(Installation& after) {
    EXPECT_TRUE(replay_passback(*disk_, *after.world.holder.load(), after.world.engine.passback(),
                                clock_.now())
                    .ok());
    auto remembered = replay_swipe_answers(*disk_, after.pipeline, clock_.now(), 60s);
    EXPECT_TRUE(remembered.ok()) << remembered.error().message;
    return remembered.ok() ? *remembered : 0;
  }

  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  TempDir dir_;
  std::unique_ptr<journal::Journal> disk_ = open_journal(dir_.path(), clock_);
};

TEST_F(SwipeAnswerReplayTest, ASwipeSentAgainAfterARestartGetsItsAnswerAndIsNotJournaledAgain) {
  Installation before(clock_);
  ASSERT_EQ(before.swipe("gate", "r-1"), 0);  // the card goes in at the anti-passback gate
  crash(before);
  clock_.advance(5s);

  Installation after(clock_);
  EXPECT_EQ(restart(after), 1u);
  EXPECT_EQ(after.swipe("gate", "r-1"), 0) << "the same grant, not 40307";
  EXPECT_TRUE(after.journal.records().empty()) << "journaled once, before the restart";
  EXPECT_EQ(after.pipeline.stats().duplicates, 1u);
  EXPECT_EQ(after.swipe("gate", "r-2"), 40307) << "a new swipe is decided: the card is inside";
}

TEST_F(SwipeAnswerReplayTest, TheAnswerTheDoorGotIsRememberedNotTheEnginesGrant) {
  Installation before(clock_);
  before.journal.set_hold(true);
  before.pipeline.handle("hq", "gate", swipe_json("r-1", kUidOk));
  clock_.advance(301ms);
  before.pipeline.expire_overdue();  // the gate is told 50401
  before.journal.release();
  ASSERT_EQ(before.code_for("r-1"), 50401);
  crash(before);

  Installation after(clock_);
  EXPECT_EQ(restart(after), 1u);
  EXPECT_EQ(after.swipe("gate", "r-1"), 50401);
  EXPECT_TRUE(after.journal.records().empty());
}

TEST_F(SwipeAnswerReplayTest, AnswersOlderThanTheWindowAreNotRemembered) {
  Installation before(clock_);
  ASSERT_EQ(before.swipe("d1", "r-1"), 0);
  crash(before);
  clock_.advance(61s);

  Installation after(clock_);
  EXPECT_EQ(restart(after), 0u);
  EXPECT_EQ(after.swipe("d1", "r-1"), 0);
  EXPECT_EQ(after.journal.records().size(), 1u) << "decided and journaled as a new swipe";
}

}  // namespace
}  // namespace castellan::app
