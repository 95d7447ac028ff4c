// Pass uses journaled but not saved before a stop, read back at the next start. The store is a
// real SQLite file and the records are the ones the real SwipePipeline writes (taken from a
// recording journal, so that a swipe's durability can be held back past its deadline), copied
// as they are made to a real journal on disk, which stamps their time. "A crash" is the first
// installation going away without its last counts saved; the second one opens the same store
// and replays the journal.
#include <gtest/gtest.h>

#include "../devices/bridge_fakes.hpp"
#include "../devices/bridge_world.hpp"
#include "../journal/test_support.hpp"
#include "app/pass_use_replay.hpp"
#include "devices/swipe_pipeline.hpp"
#include "installation.hpp"
#include "store/resource_service.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::app {
namespace {

using namespace std::chrono_literals;
using namespace devices::testing;
using journal::testing::TempDir;

const std::string kPassUid = "cafebabe";  // no registered card: only the pass grants it

// One running installation over the store file: resources, engine, recording journal,
// publisher and swipe pipeline.
struct Installation {
  Installation(FakeClock& clock, const std::string& db, journal::Journal& disk)
      : clock(clock), disk(disk) {
    store = store::SqliteStore::open(db).value();
    resources = std::make_unique<store::ResourceService>(*store, holder, ledger, kCardSecret);
    EXPECT_TRUE(resources->start().ok());
  }

  void seed() {
    create(access::Collection::sites, R"({"id":"hq","name":"HQ","tz":"UTC"})");
    create(access::Collection::doors, R"({"id":"d1","site":"hq","name":"Main","controller":"c1"})");
    auto pass = resources->issue_pass(
        boost::json::parse(
            R"({"card":")" + kPassUid +
            R"(","holder":"Visitor","doors":["d1"],"valid_from":"2026-11-01T00:00:00Z",)"
            R"("valid_until":"2026-12-31T00:00:00Z","max_uses":2})"),
        "op");
    ASSERT_TRUE(pass.ok()) << pass.error().message;
    pass_id = std::string(pass->at("id").as_string());
  }
  void create(access::Collection c, std::string_view text) {
    auto r = resources->create(c, boost::json::parse(text), "admin");
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
  }
  // What the flusher does: saves the pending counts as of now.
  void save_pass_uses() { ASSERT_TRUE(resources->flush_pass_uses(clock.now(), true).ok()); }

  int swipe(const std::string& req) {
    pipeline.handle("hq", "d1", swipe_json(req, kPassUid));
    copy_to_disk();
    return code_for(req);
  }
  // Appends the records made since the last call to the journal on disk.
  void copy_to_disk() {
    auto records = journal.records();
    std::vector<journal::JournalRecord> fresh(records.begin() + static_cast<long>(copied),
                                              records.end());
    copied = records.size();
    for (auto& r : fresh) r.seq = 0;  // the real writer numbers them
    journal::testing::append_all(disk, fresh);
  }
  int code_for(const std::string& req) { return testing::published_code(publisher, req); }

  FakeClock& clock;
  journal::Journal& disk;
  std::size_t copied = 0;
  std::unique_ptr<store::SqliteStore> store;
  access::PassUseLedger ledger;
  access::SnapshotHolder holder;
  std::unique_ptr<store::ResourceService> resources;
  std::string pass_id;
  access::DecisionEngine engine{holder};
  devices::SnapshotDoorDirectory doors{holder};
  runtime::MetricsRegistry registry;
  RecordingJournal journal;
  RecordingPublisher publisher;
  devices::DoorStateTracker door_states{clock, journal};
  devices::DeviceMetrics metrics{registry};
  devices::SwipePipeline pipeline{
      clock,  devices::SwipeOptions{}, doors, engine, kCardSecret, journal, publisher, door_states,
      metrics};
};

class PassUseReplayTest : public ::testing::Test {
 protected:
  // An installation over the test's store and journal.
  std::unique_ptr<Installation> start() {
    return std::make_unique<Installation>(clock_, dir_.path() + "/castellan.db", *disk_);
  }

  // Replays the journal into `after`, from its store's saved-at time.
  PassUseReplay replay(Installation& after) {
    auto saved_at = after.resources->pass_uses_saved_at();
    EXPECT_TRUE(saved_at.ok());
    auto replayed = replay_pass_uses(*disk_, *after.holder.load(), after.ledger, *saved_at);
    EXPECT_TRUE(replayed.ok()) << replayed.error().message;
    return replayed.ok() ? *replayed : PassUseReplay{};
  }

  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  TempDir dir_;
  std::unique_ptr<journal::Journal> disk_ = open_journal(dir_.path() + "/journal", clock_);
};

TEST_F(PassUseReplayTest, UsesJournaledButNotSavedBeforeACrashStillCount) {
  auto before = start();
  before->seed();
  before->save_pass_uses();  // the last save before the crash: no use yet
  clock_.advance(1s);
  ASSERT_EQ(before->swipe("r-1"), 0);
  ASSERT_EQ(before->swipe("r-2"), 0);
  EXPECT_EQ(before->swipe("r-3"), 40308) << "a pass of 2 uses";
  // Crash: the two uses were never saved.

  auto after = start();
  EXPECT_EQ(after->ledger.used(before->pass_id), 0u) << "the store lost them";
  auto report = replay(*after);
  EXPECT_EQ(report.decisions_read, 3u);
  EXPECT_EQ(report.passes_raised, 1u);
  EXPECT_EQ(report.uses_recovered, 2u);
  EXPECT_EQ(after->swipe("r-4"), 40308) << "both uses were taken before the crash";

  // What was recovered is saved at the next flush.
  after->save_pass_uses();
  auto third = start();
  EXPECT_EQ(third->ledger.used(before->pass_id), 2u);
}

TEST_F(PassUseReplayTest, AUseSavedAndJournaledCountsOnce) {
  auto before = start();
  before->seed();
  ASSERT_EQ(before->swipe("r-1"), 0);
  before->save_pass_uses();  // use 1 is saved, and it is within the window read back

  auto after = start();
  auto report = replay(*after);
  EXPECT_EQ(report.decisions_read, 1u);
  EXPECT_EQ(report.passes_raised, 0u);
  EXPECT_EQ(after->ledger.used(before->pass_id), 1u);
  EXPECT_EQ(after->swipe("r-2"), 0) << "the second of two uses";
  EXPECT_EQ(after->swipe("r-3"), 40308);
}

// A pass deleted and issued again under its id for another card, in the window read back:
// the old card's uses stay the old pass's, and the new pass starts with all of its own.
TEST_F(PassUseReplayTest, APassIssuedAgainUnderItsIdForAnotherCardInheritsNoUse) {
  auto before = start();
  before->seed();
  before->save_pass_uses();
  clock_.advance(1s);
  ASSERT_EQ(before->swipe("r-1"), 0);
  ASSERT_EQ(before->swipe("r-2"), 0);
  ASSERT_TRUE(before->resources->remove(access::Collection::passes, before->pass_id, "op").ok());
  const std::string other_uid = "0badf00d";
  auto again = before->resources->issue_pass(
      boost::json::parse(
          R"({"id":")" + before->pass_id + R"(","card":")" + other_uid +
          R"(","holder":"Visitor","doors":["d1"],"valid_from":"2026-11-01T00:00:00Z",)"
          R"("valid_until":"2026-12-31T00:00:00Z","max_uses":2})"),
      "op");
  ASSERT_TRUE(again.ok()) << again.error().message;
  before->save_pass_uses();
  // Crash: the old pass's two grants are within the window read back.

  auto after = start();
  auto report = replay(*after);
  EXPECT_EQ(report.passes_raised, 0u);
  EXPECT_EQ(after->ledger.used(before->pass_id), 0u);
  after->pipeline.handle("hq", "d1", swipe_json("r-3", other_uid));
  EXPECT_EQ(after->code_for("r-3"), 0) << "the new pass's first use";
}

TEST_F(PassUseReplayTest, AGrantTheDoorNeverGotTakesNoUse) {
  auto before = start();
  before->seed();
  before->save_pass_uses();
  clock_.advance(1s);
  before->journal.set_hold(true);
  before->pipeline.handle("hq", "d1", swipe_json("r-1", kPassUid));
  clock_.advance(301ms);
  before->pipeline.expire_overdue();  // the door is told 50401: the use is given back
  before->journal.release();
  before->journal.set_hold(false);
  before->copy_to_disk();
  ASSERT_EQ(before->code_for("r-1"), 50401);
  ASSERT_EQ(before->swipe("r-2"), 0);

  auto after = start();
  auto report = replay(*after);
  EXPECT_EQ(report.uses_recovered, 1u) << "r-2 only";
  EXPECT_EQ(after->swipe("r-3"), 0) << "r-1 took nothing: one use is left";
  EXPECT_EQ(after->swipe("r-4"), 40308);
}

// One trace id on two grants of one card at one door (an API client's reused traceparent): the
// failure of the second gives back its use only; the first use still counts.
TEST_F(PassUseReplayTest, AFailureReplacesOnlyTheNearestEarlierGrantWithItsTraceId) {
  auto before = start();
  before->seed();
  before->save_pass_uses();
  clock_.advance(1s);
  before->pipeline.handle("hq", "d1", swipe_json("r-1", kPassUid));
  before->pipeline.handle("hq", "d1", swipe_json("r-2", kPassUid));
  auto records = before->journal.records();
  ASSERT_EQ(records.size(), 2u);
  for (auto& r : records) r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  journal::JournalRecord failure = records[1];
  failure.decision = "deny";
  failure.code = 50401;
  failure.pass.clear();
  failure.pass_use.reset();
  failure.extra = R"({"outcome":"timeout"})";
  records.push_back(failure);
  for (auto& r : records) r.seq = 0;
  journal::testing::append_all(*disk_, records);

  auto after = start();
  auto report = replay(*after);
  EXPECT_EQ(report.uses_recovered, 1u) << "r-1's use; r-2's was given back";
  EXPECT_EQ(after->swipe("r-3"), 0) << "one use of two is left";
  EXPECT_EQ(after->swipe("r-4"), 40308);
}

TEST_F(PassUseReplayTest, RecordsFromBeforeTheLastSaveAreNotRead) {
  auto before = start();
  before->seed();
  ASSERT_EQ(before->swipe("r-1"), 0);
  clock_.advance(kPassUseReplayMargin + 1s);
  before->save_pass_uses();

  auto after = start();
  auto report = replay(*after);
  EXPECT_EQ(report.decisions_read, 0u);
  EXPECT_EQ(after->ledger.used(before->pass_id), 1u) << "saved";
}

TEST_F(PassUseReplayTest, NothingIsReadWhenCountsWereNeverSaved) {
  auto before = start();
  before->seed();
  ASSERT_EQ(before->swipe("r-1"), 0);
  auto after = start();
  EXPECT_EQ(replay(*after).decisions_read, 0u);
}

TEST_F(PassUseReplayTest, PassGrantsCarryThePassAndTheUseTheyTook) {
  auto before = start();
  before->seed();
  before->swipe("r-1");
  before->swipe("r-2");
  before->swipe("r-3");  // exhausted: a deny takes no use
  auto records = before->journal.records();
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].pass, before->pass_id);
  EXPECT_EQ(records[0].pass_use, 1);
  EXPECT_EQ(records[1].pass_use, 2);
  EXPECT_EQ(records[2].pass, "");
  EXPECT_EQ(records[2].pass_use, std::nullopt);
  // And the line on disk says so.
  auto page = disk_->query(journal::EventQuery{});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->records.size(), 3u);
  EXPECT_NE(journal::to_json_line(page->records[1]).find(R"("pass_use":2)"), std::string::npos);
}

}  // namespace
}  // namespace castellan::app
