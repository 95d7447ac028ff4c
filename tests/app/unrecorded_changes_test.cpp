// A change noted in the store without its admin record in the journal (a crash between the
// commit and the record) is journaled at start as "recovered_change"; a note whose record made it
// is only dropped. Real SQLite and a real journal on disk.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "../devices/bridge_world.hpp"
#include "../journal/test_support.hpp"
#include "app/unrecorded_changes.hpp"
#include "core/change_scope.hpp"
#include "core/clock.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::app {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using devices::testing::open_journal;
using journal::testing::TempDir;
using store::Collection;
using store::Write;

class UnrecordedChangesTest : public ::testing::Test {
 protected:
  // What an audited request does up to its commit: the writes, under its change scope.
  void change(const std::string& change_id, std::vector<Write> writes) {
    ChangeScope scope({.change_id = change_id,
                       .trace_id = "trace-" + change_id,
                       .actor = "ada",
                       .route = "POST /v1/sites",
                       .at = clock_.now()});
    ASSERT_TRUE(store_->apply(writes).ok());
  }
  // The journal's admin records, oldest first, as their `extra` objects.
  std::vector<json::object> admin_records() {
    journal::EventQuery q;
    q.kind = journal::RecordKind::admin;
    auto page = journal_->query(q);
    EXPECT_TRUE(page.ok());
    std::vector<json::object> out;
    for (auto it = page->records.rbegin(); it != page->records.rend(); ++it) {
      out.push_back(json::parse(it->extra).as_object());
      EXPECT_EQ(it->trace_id,
                "trace-" + std::string(out.back().at("what").at("change_id").as_string()));
    }
    return out;
  }

  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  TempDir dir_;
  std::unique_ptr<store::SqliteStore> store_ =
      store::SqliteStore::open(dir_.path() + "/castellan.db").value();
  std::unique_ptr<journal::Journal> journal_ = open_journal(dir_.path() + "/journal", clock_);
};

TEST_F(UnrecordedChangesTest, AChangeWithoutItsRecordIsJournaledOnceWithWhoWhenAndWhatItWrote) {
  change("c1", {{Write::Kind::insert, Collection::sites, "", {{"id", "annex"}}}});
  change("c1", {{Write::Kind::insert, Collection::doors, "", {{"id", "a1"}, {"site", "annex"}}}});
  clock_.advance(5s);

  auto recovered = journal_unrecorded_changes(*store_, *journal_);
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(recovered->noted, 1u) << "two batches of one change";
  EXPECT_EQ(recovered->journaled, 1u);
  const auto records = admin_records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(json::serialize(records[0]),
            R"({"actor":"ada","what":{"action":"recovered_change","route":"POST /v1/sites",)"
            R"("change_id":"c1","changed_at":"2026-11-22T03:00:00.000Z","writes":[)"
            R"({"op":"insert","collection":"sites","id":"annex"},)"
            R"({"op":"insert","collection":"doors","id":"a1"}]}})");
  EXPECT_TRUE(store_->unrecorded_changes()->empty());

  // The next start finds nothing more to do.
  recovered = journal_unrecorded_changes(*store_, *journal_);
  ASSERT_TRUE(recovered.ok());
  EXPECT_EQ(recovered->noted, 0u);
  EXPECT_EQ(admin_records().size(), 1u);
}

TEST_F(UnrecordedChangesTest, ANoteWhoseRecordMadeItIsDroppedWithoutASecondRecord) {
  change("c1", {{Write::Kind::insert, Collection::sites, "", {{"id", "annex"}}}});
  change("c2", {{Write::Kind::remove, Collection::sites, "annex", {}}});
  // c1's record is durable, the crash came before its note was dropped; c2's was lost.
  journal::JournalRecord record;
  record.kind = journal::RecordKind::admin;
  record.trace_id = "trace-c1";
  record.extra = R"({"actor":"ada","what":{"action":"create","change_id":"c1"}})";
  ASSERT_TRUE(journal_->append_and_wait(record).ok());

  auto recovered = journal_unrecorded_changes(*store_, *journal_);
  ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  EXPECT_EQ(recovered->noted, 2u);
  EXPECT_EQ(recovered->journaled, 1u);
  const auto records = admin_records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("what").at("action"), "create");
  EXPECT_EQ(records[1].at("what").at("action"), "recovered_change");
  EXPECT_EQ(records[1].at("what").at("change_id"), "c2");
  EXPECT_TRUE(store_->unrecorded_changes()->empty());
}

}  // namespace
}  // namespace castellan::app
