// SqliteStore on real files: round trip, reopen, migration from schema v1, conflicts,
// not-found, pagination, pass use counts, file mode.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "core/change_scope.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace castellan::store {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

const TimePoint kT0 = from_unix_ms(1'795'000'000'000);

json::object doc(std::string_view text) {
  return json::parse(text).as_object();
}

std::unique_ptr<SqliteStore> open_store(const std::filesystem::path& file) {
  auto s = SqliteStore::open(file);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(SqliteStore, RoundTripSurvivesReopen) {
  TempDir dir;
  auto file = dir.path() / "castellan.db";
  {
    auto s = open_store(file);
    ASSERT_TRUE(s);
    EXPECT_EQ(*s->revision(), 0u);
    ASSERT_TRUE(s->insert(Collection::sites, doc(R"({"id":"hq","name":"HQ","x":[1,2]})")).ok());
    ASSERT_TRUE(s->insert(Collection::accounts, doc(R"({"username":"ops","role":"admin"})")).ok());
    ASSERT_TRUE(s->replace(Collection::sites, doc(R"({"id":"hq","name":"Head office"})")).ok());
    EXPECT_EQ(*s->revision(), 3u);
  }
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto s = open_store(file);
  ASSERT_TRUE(s);
  auto site = s->get(Collection::sites, "hq");
  ASSERT_TRUE(site.ok());
  EXPECT_EQ(site->at("name").as_string(), "Head office");
  EXPECT_EQ(s->get(Collection::accounts, "ops")->at("role").as_string(), "admin");
  EXPECT_EQ(*s->revision(), 3u);
  EXPECT_EQ(s->schema_version(), SqliteStore::latest_schema_version());
  // Same key in another collection is independent.
  EXPECT_EQ(s->get(Collection::doors, "hq").error().code, Code::ERR_NOT_FOUND);
}

TEST(SqliteStore, ConflictAndNotFound) {
  TempDir dir;
  auto s = open_store(dir.path() / "db");
  ASSERT_TRUE(s->insert(Collection::users, doc(R"({"id":"u1","name":"Ada"})")).ok());
  auto dup = s->insert(Collection::users, doc(R"({"id":"u1","name":"Bob"})"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Code::ERR_CONFLICT);
  EXPECT_EQ(dup.error().message, "a user with id 'u1' already exists");
  EXPECT_EQ(s->get(Collection::users, "u1")->at("name").as_string(), "Ada");

  auto missing = s->get(Collection::users, "u2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Code::ERR_NOT_FOUND);
  EXPECT_EQ(missing.error().message, "no user with id 'u2'");
  EXPECT_EQ(s->remove(Collection::users, "u2").error().code, Code::ERR_NOT_FOUND);
  EXPECT_EQ(s->replace(Collection::users, doc(R"({"id":"u2"})")).error().code, Code::ERR_NOT_FOUND);
  EXPECT_TRUE(s->remove(Collection::users, "u1").ok());
  EXPECT_EQ(s->get(Collection::users, "u1").error().code, Code::ERR_NOT_FOUND);
}

TEST(SqliteStore, BatchIsAllOrNothing) {
  TempDir dir;
  auto s = open_store(dir.path() / "db");
  ASSERT_TRUE(s->insert(Collection::users, doc(R"({"id":"u1","name":"Ada"})")).ok());
  std::uint64_t before = *s->revision();
  std::vector<Write> batch{
      Write{Write::Kind::insert, Collection::users, "", doc(R"({"id":"u2","name":"Bo"})")},
      Write{Write::Kind::insert, Collection::users, "", doc(R"({"id":"u1","name":"X"})")}};
  EXPECT_EQ(s->apply(batch).error().code, Code::ERR_CONFLICT);
  EXPECT_EQ(s->get(Collection::users, "u2").error().code, Code::ERR_NOT_FOUND);
  EXPECT_EQ(*s->revision(), before);
}

TEST(SqliteStore, PaginatesByKey) {
  TempDir dir;
  auto s = open_store(dir.path() / "db");
  for (int i = 0; i < 7; ++i) {
    json::object d;
    d["id"] = "u" + std::to_string(i);
    ASSERT_TRUE(s->insert(Collection::users, d).ok());
  }
  std::vector<std::string> seen;
  std::string cursor;
  int pages = 0;
  for (;;) {
    auto page = s->list(Collection::users, cursor, 3);
    ASSERT_TRUE(page.ok());
    ++pages;
    for (auto& item : page->items) seen.emplace_back(item.at("id").as_string());
    if (!page->next_cursor) break;
    cursor = *page->next_cursor;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"u0", "u1", "u2", "u3", "u4", "u5", "u6"}));
  auto exact = s->list(Collection::users, "u3", 3);  // exactly the last 3: no next page
  EXPECT_EQ(exact->items.size(), 3u);
  EXPECT_FALSE(exact->next_cursor);
  EXPECT_EQ(s->load_all(Collection::users)->size(), 7u);
}

TEST(SqliteStore, PassUsesPersistAsLastSavedAGivenBackUseIncluded) {
  TempDir dir;
  auto file = dir.path() / "db";
  {
    auto s = open_store(file);
    std::vector<Write> passes{
        Write{Write::Kind::insert, Collection::passes, "", doc(R"({"id":"p1"})")},
        Write{Write::Kind::insert, Collection::passes, "", doc(R"({"id":"p2"})")}};
    ASSERT_TRUE(s->apply(passes).ok());
    EXPECT_EQ(*s->pass_uses_saved_at(), std::nullopt) << "never saved";
    std::vector<PassUse> uses{{"p1", 2}, {"p2", 5}};
    ASSERT_TRUE(s->save_pass_uses(uses, kT0 + 2s).ok());
    std::vector<PassUse> later{{"p1", 1}, {"p2", 6}};  // p1's use given back, p2 used again
    ASSERT_TRUE(s->save_pass_uses(later, kT0 + 1s).ok());
  }
  auto s = open_store(file);
  auto uses = s->load_pass_uses();
  ASSERT_TRUE(uses.ok());
  ASSERT_EQ(uses->size(), 2u);
  EXPECT_EQ((*uses)[0].used, 1u);
  EXPECT_EQ((*uses)[1].used, 6u);
  // The saved-at time is the newest save's, even an earlier one (the wall clock set back):
  // uses taken after kT0 + 1s by that clock are not all saved, so the replay must read them.
  EXPECT_EQ(*s->pass_uses_saved_at(), kT0 + 1s);
  ASSERT_TRUE(s->save_pass_uses({}, kT0 + 3s).ok());  // nothing to save still moves the time
  EXPECT_EQ(*s->pass_uses_saved_at(), kT0 + 3s);
}

TEST(SqliteStore, ADeletedPasssCountIsNotKeptNorInheritedByANewPassWithItsId) {
  TempDir dir;
  auto s = open_store(dir.path() / "db");
  const Write create{Write::Kind::insert, Collection::passes, "", doc(R"({"id":"p1"})")};
  const Write remove{Write::Kind::remove, Collection::passes, "p1", {}};
  ASSERT_TRUE(s->apply(std::vector<Write>{create}).ok());
  ASSERT_TRUE(s->save_pass_uses(std::vector<PassUse>{{"p1", 3}}, kT0).ok());
  ASSERT_TRUE(s->apply(std::vector<Write>{remove}).ok());
  // A flush that was already under way when the pass was deleted.
  ASSERT_TRUE(s->save_pass_uses(std::vector<PassUse>{{"p1", 4}}, kT0).ok());
  EXPECT_TRUE(s->load_pass_uses()->empty());
  ASSERT_TRUE(s->apply(std::vector<Write>{create}).ok());
  EXPECT_TRUE(s->load_pass_uses()->empty()) << "the new p1 starts unused";
}

TEST(SqliteStore, MigratesVersion1Database) {
  TempDir dir;
  auto file = dir.path() / "old.db";
  {
    // A database as the first release wrote it: schema v1, one card document.
    auto db = sqlite::Connection::open(file);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(sqlite::migrate(**db, 1).ok());
    EXPECT_EQ(*sqlite::schema_version(**db), 1);
    ASSERT_TRUE((*db)
                    ->exec("INSERT INTO documents VALUES ('cards', 'c1', "
                           "'{\"id\":\"c1\",\"card_hash\":\"ab\",\"user\":\"u1\"}')")
                    .ok());
    EXPECT_FALSE((*db)->exec("SELECT * FROM pass_uses").ok());
  }
  auto s = open_store(file);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->schema_version(), SqliteStore::latest_schema_version());
  EXPECT_EQ(s->get(Collection::cards, "c1")->at("user").as_string(), "u1");
  std::vector<PassUse> uses{{"p", 1}};
  EXPECT_TRUE(s->save_pass_uses(uses, kT0).ok());
  // The v2 index exists and is used for card lookups by hash.
  auto db = sqlite::Connection::open(file);
  auto plan = (*db)->prepare(
      "EXPLAIN QUERY PLAN SELECT key FROM documents WHERE collection = 'cards' AND "
      "json_extract(body, '$.card_hash') = 'ab'");
  ASSERT_TRUE(plan.ok());
  std::string detail;
  while (*plan->step()) detail += std::string(plan->text(3)) + ";";
  EXPECT_NE(detail.find("cards_by_hash"), std::string::npos) << detail;
}

TEST(SqliteStore, EveryCommitIsSyncedBeforeItReturns) {
  // WAL with synchronous=NORMAL would let a power cut undo a confirmed change (FULL = 2).
  TempDir dir;
  auto db = sqlite::Connection::open(dir.path() / "sync.db");
  ASSERT_TRUE(db.ok());
  auto level = (*db)->prepare("PRAGMA synchronous");
  ASSERT_TRUE(level.ok());
  ASSERT_TRUE(*level->step());
  EXPECT_EQ(level->integer(0), 2);
  auto mode = (*db)->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->step());
  EXPECT_EQ(std::string(mode->text(0)), "wal");
}

TEST(SqliteStore, RefusesNewerSchema) {
  TempDir dir;
  auto file = dir.path() / "future.db";
  {
    auto db = sqlite::Connection::open(file);
    ASSERT_TRUE(sqlite::migrate(**db, sqlite::latest_schema_version()).ok());
    ASSERT_TRUE((*db)->exec("UPDATE schema_version SET version = 99").ok());
  }
  auto s = SqliteStore::open(file);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_NE(s.error().message.find("store " + file.string() + ": schema version 99 is newer"),
            std::string::npos)
      << s.error().message;
}

// A document that is not JSON (edited by hand, a bad restore) is an error that says where:
// the file, the collection and the key, on every path that reads it.
TEST(SqliteStore, ACorruptDocumentIsAnErrorNamingTheFileAndTheDocument) {
  TempDir dir;
  auto file = dir.path() / "castellan.db";
  auto s = open_store(file);
  ASSERT_TRUE(s->insert(Collection::schedules, doc(R"({"id":"night"})")).ok());
  {
    auto other = sqlite::Connection::open(file);
    ASSERT_TRUE((*other)->exec("UPDATE documents SET body = '{bad' WHERE key = 'night'").ok());
  }
  const std::string want = "store " + file.string() + ": corrupt document schedules 'night'";
  auto got = s->get(Collection::schedules, "night");
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().message.find(want), std::string::npos) << got.error().message;
  auto listed = s->list(Collection::schedules, "", 10);
  ASSERT_FALSE(listed.ok());
  EXPECT_NE(listed.error().message.find(want), std::string::npos) << listed.error().message;
  auto all = s->load_all(Collection::schedules);
  ASSERT_FALSE(all.ok());
  EXPECT_NE(all.error().message.find(want), std::string::npos) << all.error().message;
}

// A write the disk refuses (the file size limit stands in for a full disk) fails with an error
// that names the store file, and loses nothing written before; once there is room, writes work.
TEST(SqliteStore, AWriteTheDiskRefusesNamesTheStoreAndLosesNothing) {
  TempDir dir;
  auto file = dir.path() / "castellan.db";
  auto s = open_store(file);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->insert(Collection::sites, doc(R"({"id":"hq","name":"HQ"})")).ok());

  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
  rlimit tiny = old;
  tiny.rlim_cur = 1;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  std::string big(64 * 1024, 'x');  // more than the WAL holds already
  auto refused = s->insert(Collection::sites, doc(R"({"id":"b1","name":")" + big + R"("})"));
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, SIG_DFL);

  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_NE(refused.error().message.find("store " + file.string() + ": "), std::string::npos)
      << refused.error().message;
  EXPECT_EQ(s->get(Collection::sites, "hq")->at("name").as_string(), "HQ");
  EXPECT_FALSE(s->get(Collection::sites, "b1").ok());
  ASSERT_TRUE(s->insert(Collection::sites, doc(R"({"id":"b2","name":"B2"})")).ok());
  s.reset();
  auto reopened = open_store(file);
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(reopened->get(Collection::sites, "hq").ok());
  EXPECT_TRUE(reopened->get(Collection::sites, "b2").ok());
}

TEST(SqliteStore, UnopenablePathIsAnError) {
  auto s = SqliteStore::open("/nonexistent-dir/x/db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_NE(s.error().message.find("/nonexistent-dir/x/db: No such file or directory"),
            std::string::npos)
      << s.error().message;
}

}  // namespace
}  // namespace castellan::store

namespace castellan::store {
namespace {

// A change made for an audited request is noted in its own transaction, so that a crash before
// its admin record is durable cannot lose the record (the server journals the notes at start).
TEST(SqliteStore, AChangeMadeUnderAChangeScopeIsNotedWithItUntilForgotten) {
  TempDir dir;
  auto s = open_store(dir.path() / "c.db");
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->insert(Collection::sites, {{"id", "hq"}}).ok());  // no scope: no note
  {
    ChangeScope scope({.change_id = "ch-1",
                       .trace_id = "t-1",
                       .actor = "ada",
                       .route = "PATCH /v1/sites/{id}",
                       .at = kT0});
    const std::vector<Write> writes{
        {Write::Kind::replace, Collection::sites, "", {{"id", "hq"}, {"name", "HQ"}}},
        {Write::Kind::insert, Collection::doors, "", {{"id", "d1"}, {"site", "hq"}}}};
    ASSERT_TRUE(s->apply(writes).ok());
    // A batch that fails leaves no note: nothing was changed.
    EXPECT_EQ(s->insert(Collection::doors, {{"id", "d1"}}).error().code, Code::ERR_CONFLICT);
  }
  auto notes = s->unrecorded_changes();
  ASSERT_TRUE(notes.ok()) << notes.error().message;
  ASSERT_EQ(notes->size(), 1u);
  const ChangeNote& note = notes->front();
  EXPECT_EQ(note.change_id, "ch-1");
  EXPECT_EQ(note.trace_id, "t-1");
  EXPECT_EQ(note.actor, "ada");
  EXPECT_EQ(note.route, "PATCH /v1/sites/{id}");
  EXPECT_EQ(note.at, kT0);
  EXPECT_EQ(json::serialize(note.writes), R"([{"op":"replace","collection":"sites","id":"hq"},)"
                                          R"({"op":"insert","collection":"doors","id":"d1"}])");

  ASSERT_TRUE(s->forget_change("ch-1").ok());
  EXPECT_TRUE(s->unrecorded_changes()->empty());
}

}  // namespace
}  // namespace castellan::store
