// DoorCommander with fake journal/publisher: journaled first, then a signed command.
#include "devices/commands.hpp"

#include <gtest/gtest.h>

#include "bridge_fakes.hpp"
#include "core/crypto.hpp"
#include "devices/outgoing.hpp"
#include "devices/topics.hpp"

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;
using journal::RecordKind;

class CommandsTest : public ::testing::Test {
 protected:
  CommandsTest() {
    doors_.doors.push_back(DoorInfo{"hq", "d1", key_, 5000, 30, false});
    doors_.doors.push_back(DoorInfo{"hq", "keyless", "", 5000, 30, false});
  }
  Result<CommandReceipt> send(std::string door, std::string cmd, int ms = 0) {
    return commander_.send_and_wait(DoorCommand{door, cmd, ms, "admin", "test", ""}, 1s);
  }

  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  std::string key_ = std::string(32, 'k');
  testing::FixedDoors doors_;
  testing::RecordingJournal journal_;
  testing::RecordingPublisher publisher_;
  DoorStateTracker door_states_{clock_, journal_};
  DoorCommander commander_{clock_, doors_, journal_, publisher_, door_states_, 10s};
};

TEST_F(CommandsTest, UnlockIsJournaledThenPublishedSigned) {
  auto r = send("d1", "unlock", 7000);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->published);
  EXPECT_EQ(r->seq, 1u);
  auto msgs = publisher_.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].topic, command_topic("hq", "d1"));
  auto m = parse_command_message(msgs[0].payload);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->cmd, "unlock");
  EXPECT_EQ(m->id, r->id);
  EXPECT_EQ(m->id.size(), 36u);
  EXPECT_EQ(m->id[14], '4') << "uuid v4";
  EXPECT_EQ(m->unlock_ms, 7000);
  EXPECT_EQ(m->exp, "2026-11-22T03:00:10.000Z");
  EXPECT_TRUE(
      verify_signed_message(key_, signed_fields("hq", "d1", *m), m->sig, clock_.now()).ok());
  EXPECT_EQ(journal_.count(RecordKind::force_unlock, "cmd", "unlock"), 1u);
  EXPECT_EQ(journal_.count(RecordKind::force_unlock, "actor", "admin"), 1u);
  // The unlock authorises the opening: no forced-open alarm.
  DoorInfo d1{"hq", "d1", key_, 5000, 30, false};
  door_states_.on_state(d1,
                        {LockState::kLocked, ContactState::kClosed, std::nullopt, std::nullopt});
  door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  EXPECT_EQ(journal_.count(RecordKind::door_alarm), 0u);
}

TEST_F(CommandsTest, UnlockIsAuthorisedBeforeTheDoorCanReact) {
  DoorInfo d1{"hq", "d1", key_, 5000, 30, false};
  door_states_.on_state(d1,
                        {LockState::kLocked, ContactState::kClosed, std::nullopt, std::nullopt});
  // The controller opens the door (and reports it, lock still "locked") as soon as the command
  // is on the wire, before publish() has returned.
  publisher_.on_publish([&] {
    door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  });
  ASSERT_TRUE(send("d1", "unlock").ok());
  EXPECT_EQ(journal_.count(RecordKind::door_alarm), 0u) << "not a forced opening";
}

TEST_F(CommandsTest, CommandDurableAfterTheCommanderIsGoneIsRefusedNotPublished) {
  journal_.set_hold(true);  // the record becomes durable only after the commander is destroyed
  auto result = std::make_shared<std::optional<Result<CommandReceipt>>>();
  {
    DoorCommander commander{clock_, doors_, journal_, publisher_, door_states_, 10s};
    commander.send(DoorCommand{"d1", "unlock", 0, "admin", "test", ""},
                   [result](Result<CommandReceipt> r) { *result = std::move(r); });
  }
  journal_.release();  // as ~Journal does when it flushes its queue at shutdown
  ASSERT_TRUE(result->has_value());
  ASSERT_FALSE((*result)->ok());
  EXPECT_EQ((*result)->error().code, Code::ERR_UNAVAILABLE);
  EXPECT_TRUE(publisher_.messages().empty());
}

TEST_F(CommandsTest, UnlockDefaultsToTheDoorsUnlockTime) {
  ASSERT_TRUE(send("d1", "unlock").ok());
  EXPECT_EQ(parse_command_message(publisher_.messages()[0].payload)->unlock_ms, 5000);
}

TEST_F(CommandsTest, LockdownAndReleaseAreLockdownRecords) {
  ASSERT_TRUE(send("d1", "lockdown").ok());
  ASSERT_TRUE(send("d1", "release").ok());
  ASSERT_TRUE(send("d1", "lock").ok());
  EXPECT_EQ(journal_.count(RecordKind::lockdown, "cmd", "lockdown"), 1u);
  EXPECT_EQ(journal_.count(RecordKind::lockdown, "cmd", "release"), 1u);
  EXPECT_EQ(journal_.count(RecordKind::force_unlock, "cmd", "lock"), 1u);
  for (const auto& m : publisher_.messages()) {
    EXPECT_EQ(parse_command_message(m.payload)->unlock_ms, 0);
  }
}

TEST_F(CommandsTest, RefusalsPublishNothing) {
  EXPECT_EQ(send("d1", "open-sesame").error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(send("d1", "unlock", -5).error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(send("nope", "unlock").error().code, Code::ERR_NOT_FOUND);
  EXPECT_EQ(send("keyless", "unlock").error().code, Code::ERR_UNAVAILABLE);
  journal_.set_fail(true);
  EXPECT_EQ(send("d1", "unlock").error().code, Code::ERR_UNAVAILABLE);
  EXPECT_TRUE(publisher_.messages().empty());
  EXPECT_TRUE(journal_.records().empty());
}

TEST_F(CommandsTest, BrokerDownIsReportedNotHidden) {
  publisher_.set_down(true);
  auto r = send("d1", "unlock");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->published);
  EXPECT_EQ(journal_.records().size(), 1u) << "the attempt is on record";
}

TEST_F(CommandsTest, SendAndWaitTimesOutWhenTheJournalStalls) {
  journal_.set_hold(true);
  auto r = commander_.send_and_wait(DoorCommand{"d1", "unlock", 0, "admin", "", ""}, 20ms);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Code::ERR_TIMEOUT);
  journal_.release();  // the late completion finds nobody waiting and does no harm
  EXPECT_EQ(publisher_.messages().size(), 1u);
}

// A lock or lockdown ends what an earlier unlock (or grant) allowed: an opening during the
// lockdown is forced.
TEST_F(CommandsTest, ALockdownEndsAnEarlierUnlocksWindow) {
  DoorInfo d1{"hq", "d1", key_, 5000, 30, false};
  door_states_.on_state(d1,
                        {LockState::kLocked, ContactState::kClosed, std::nullopt, std::nullopt});
  ASSERT_TRUE(send("d1", "unlock", 3'600'000).ok());
  clock_.advance(60s);
  ASSERT_TRUE(send("d1", "lockdown").ok());
  clock_.advance(60s);
  door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  EXPECT_EQ(journal_.count(RecordKind::door_alarm, "alarm", "forced_open"), 1u);
  door_states_.on_state(d1, {std::nullopt, ContactState::kClosed, std::nullopt, std::nullopt});
  // So does a plain lock.
  ASSERT_TRUE(send("d1", "release").ok());
  ASSERT_TRUE(send("d1", "unlock", 3'600'000).ok());
  ASSERT_TRUE(send("d1", "lock").ok());
  door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  EXPECT_EQ(journal_.count(RecordKind::door_alarm, "state", "raised"), 2u);
}

TEST_F(CommandsTest, AnUnlockWhosePublishFailedAuthorisesNoOpening) {
  DoorInfo d1{"hq", "d1", key_, 5000, 30, false};
  door_states_.on_state(d1,
                        {LockState::kLocked, ContactState::kClosed, std::nullopt, std::nullopt});
  publisher_.set_down(true);
  auto r = send("d1", "unlock", 3'600'000);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->published);
  publisher_.set_down(false);
  clock_.advance(120s);
  door_states_.on_state(d1, {std::nullopt, ContactState::kOpen, std::nullopt, std::nullopt});
  EXPECT_EQ(journal_.count(RecordKind::door_alarm, "alarm", "forced_open"), 1u)
      << "the door never got the unlock";
}

}  // namespace
}  // namespace castellan::devices
