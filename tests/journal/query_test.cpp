// GET /v1/events behind the scenes: filters, newest first, cursor pages, index rebuilds.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <limits>
#include <thread>

#include "core/clock.hpp"
#include "journal/journal.hpp"
#include "journal/query.hpp"
#include "segment_bytes.hpp"
#include "test_support.hpp"

namespace castellan::journal {
namespace {

using namespace castellan::journal::testing;

class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    j_ = open();
    // 60 records: doors d0..d2, users u0..u3, every 5th a deny, one per second.
    std::vector<JournalRecord> records;
    for (int i = 0; i < 60; ++i) {
      auto r = decision_record(numbered("d", i % 3), numbered("u", i % 4),
                               i % 5 == 0 ? "deny" : "grant", i % 5 == 0 ? 40305 : 0);
      r.ts = start_ + std::chrono::seconds(i);
      records.push_back(r);
    }
    append_all(*j_, records);
    JournalRecord admin;
    admin.kind = RecordKind::admin;
    admin.ts = start_ + std::chrono::seconds(60);
    admin.extra = R"({"actor":"admin","action":"create","collection":"doors","id":"d9"})";
    ASSERT_TRUE(j_->append_and_wait(admin));
  }
  std::unique_ptr<Journal> open() {
    JournalOptions o;
    o.dir = dir_.path();
    o.segment_bytes = 8192;  // several segments
    o.batch_max = 8;
    auto j = Journal::open(o, clock_);
    EXPECT_TRUE(j) << (j ? "" : j.error().message);
    return j ? std::move(*j) : nullptr;
  }
  std::vector<std::uint64_t> seqs(const EventQuery& q) {
    auto page = j_->query(q);
    EXPECT_TRUE(page) << (page ? "" : page.error().message);
    std::vector<std::uint64_t> out;
    if (page) {
      for (const auto& r : page->records) out.push_back(r.seq);
    }
    return out;
  }

  TempDir dir_;
  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  TimePoint start_ = *parse_utc("2026-11-22T08:00:00Z");
  std::unique_ptr<Journal> j_;
};

TEST_F(QueryTest, NewestFirstWithLimit) {
  EXPECT_EQ(seqs({.limit = 3}), (std::vector<std::uint64_t>{61, 60, 59}));
}

TEST_F(QueryTest, FiltersCombine) {
  // seq = i + 1; door d1 and deny: i % 3 == 1 and i % 5 == 0 -> i in {10, 25, 40, 55}.
  EXPECT_EQ(seqs({.door = "d1", .decision = "deny"}), (std::vector<std::uint64_t>{56, 41, 26, 11}));
}

TEST_F(QueryTest, FilterByUserKindAndTime) {
  auto by_user = seqs({.user = "u3"});
  EXPECT_EQ(by_user.size(), 15u);
  for (auto s : by_user) EXPECT_EQ((s - 1) % 4, 3u);
  EXPECT_EQ(seqs({.kind = RecordKind::admin}), (std::vector<std::uint64_t>{61}));
  EXPECT_EQ(
      seqs({.from = start_ + std::chrono::seconds(10), .to = start_ + std::chrono::seconds(12)}),
      (std::vector<std::uint64_t>{13, 12, 11}));
  EXPECT_TRUE(seqs({.door = "nope"}).empty());
}

TEST_F(QueryTest, CursorPagesThroughEverythingOnce) {
  std::vector<std::uint64_t> all;
  EventQuery q{.door = "d2", .limit = 7};
  int pages = 0;
  for (;;) {
    auto page = j_->query(q);
    ASSERT_TRUE(page);
    ++pages;
    for (const auto& r : page->records) all.push_back(r.seq);
    if (page->next_cursor.empty()) break;
    q.cursor = page->next_cursor;
  }
  EXPECT_EQ(pages, 3);  // 20 records: 7 + 7 + 6, and no empty last page
  ASSERT_EQ(all.size(), 20u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_GT(all[i - 1], all[i]);
  EXPECT_EQ(all.back(), 3u);
}

TEST_F(QueryTest, RecordsReadBackWholeNewestFirst) {
  // Neighbouring records are read together (query.cpp): each must come back as written.
  auto page = j_->query({.limit = 1000});
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->records.size(), 61u);
  EXPECT_EQ(page->records[0].kind, RecordKind::admin);
  for (std::size_t i = 0; i < 60; ++i) {
    const JournalRecord& r = page->records[60 - i];
    EXPECT_EQ(r.seq, i + 1);
    EXPECT_EQ(r.door, numbered("d", static_cast<long long>(i % 3)));
    EXPECT_EQ(r.user, numbered("u", static_cast<long long>(i % 4)));
    EXPECT_EQ(r.ts, start_ + std::chrono::seconds(i));
  }
}

TEST_F(QueryTest, ADamagedRecordAmongItsNeighboursIsNamed) {
  // One byte of record 30's payload changes on disk; the index still points at it.
  bool flipped = false;
  for (const auto& f : std::filesystem::directory_iterator(dir_.path())) {
    if (f.path().extension() != ".cjl") continue;
    std::string bytes = slurp(f.path().string());
    const auto at = bytes.find(R"({"seq":30,)");
    if (at == std::string::npos) continue;
    bytes[at + 20] ^= 0x01;
    spit(f.path().string(), bytes);
    flipped = true;
  }
  ASSERT_TRUE(flipped);
  auto page = j_->query({.limit = 1000});
  ASSERT_FALSE(page);
  EXPECT_EQ(page.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_NE(page.error().message.find("journal record 30 is damaged"), std::string::npos)
      << page.error().message;
  // Pages that end before it, and records filtered past it, are still served.
  EXPECT_EQ(seqs({.limit = 3}), (std::vector<std::uint64_t>{61, 60, 59}));
  EXPECT_EQ(seqs({.door = "d1", .decision = "deny"}), (std::vector<std::uint64_t>{56, 41, 26, 11}));
}

TEST_F(QueryTest, BadLimitCursorAndRangeAreClearErrors) {
  for (const EventQuery& q : {EventQuery{.limit = 0}, EventQuery{.limit = 1001},
                              EventQuery{.cursor = "abc"}, EventQuery{.cursor = "12x"},
                              EventQuery{.from = start_ + std::chrono::seconds(5), .to = start_}}) {
    auto page = j_->query(q);
    ASSERT_FALSE(page);
    EXPECT_EQ(page.error().code, Code::ERR_BAD_REQUEST);
    EXPECT_FALSE(page.error().message.empty());
  }
}

// A query walks the index a slice at a time (the lock is let go in between): a match far back
// is found across slices, each slice says where to go on, and the walk ends at the oldest entry.
TEST(CollectCandidates, ASliceLooksAtNoMoreThanItsBudgetAndSaysWhereToGoOn) {
  TempDir dir;
  bool rebuilt = false;
  auto index = EventIndex::load(dir.path(), {}, 0, rebuilt);
  ASSERT_TRUE(index) << index.error().message;
  std::vector<IndexEntry> entries;
  for (std::uint64_t seq = 1; seq <= 100; ++seq) {
    IndexEntry e;
    e.seq = seq;
    e.segment = 1;
    e.door_h = filter_hash(seq == 3 ? "d9" : "d1");
    entries.push_back(e);
  }
  index->append(entries);
  EventQuery q;
  q.door = "d9";
  std::uint64_t below = std::numeric_limits<std::uint64_t>::max();
  auto slice = collect_candidates(*index, q, &below, 5, 10);
  EXPECT_TRUE(slice.empty());
  EXPECT_EQ(below, 91u) << "looked at 100..91 only";
  int slices = 1;
  std::vector<IndexEntry> found;
  while (found.empty() && below != 0) {
    slice = collect_candidates(*index, q, &below, 5, 10);
    found.insert(found.end(), slice.begin(), slice.end());
    ++slices;
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].seq, 3u);
  EXPECT_EQ(slices, 10);
  slice = collect_candidates(*index, q, &below, 5, 10);
  EXPECT_TRUE(slice.empty());
  EXPECT_EQ(below, 0u) << "the oldest entry was looked at: nothing further";
}

TEST_F(QueryTest, AMatchOlderThanManySlicesIsFound) {
  j_.reset();
  JournalOptions o;
  o.dir = dir_.path();
  o.batch_max = 4096;  // few fsyncs for many records
  auto big = Journal::open(o, clock_);
  ASSERT_TRUE(big);
  j_ = std::move(*big);
  std::vector<JournalRecord> records;
  for (std::size_t i = 0; i < 2 * kQueryScanSlice + 10; ++i) {
    records.push_back(decision_record("d1", "u0", "grant"));
  }
  append_all(*j_, records);
  EventQuery q;
  q.door = "d2";
  q.limit = 1000;
  EXPECT_EQ(seqs(q).size(), 20u) << "the 20 records at d2 among the first 60";
}

TEST_F(QueryTest, MissingIndexIsRebuilt) {
  j_.reset();
  std::filesystem::remove(dir_.file("index.dat"));
  j_ = open();
  EXPECT_TRUE(j_->last_recovery().index_rebuilt);
  EXPECT_EQ(seqs({.door = "d1", .decision = "deny"}), (std::vector<std::uint64_t>{56, 41, 26, 11}));
}

TEST_F(QueryTest, StaleIndexIsExtended) {
  j_.reset();
  // Drop the last 10 entries, as if the index writes had been lost.
  auto bytes = slurp(dir_.file("index.dat"));
  spit(dir_.file("index.dat"), bytes.substr(0, bytes.size() - 10 * 64 - 13));
  j_ = open();
  EXPECT_TRUE(j_->last_recovery().index_rebuilt);
  EXPECT_EQ(seqs({.limit = 1000}).size(), 61u);
}

TEST_F(QueryTest, GarbageIndexIsRebuilt) {
  j_.reset();
  auto bytes = slurp(dir_.file("index.dat"));
  for (std::size_t i = 16; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(i);
  spit(dir_.file("index.dat"), bytes);
  j_ = open();
  EXPECT_TRUE(j_->last_recovery().index_rebuilt);
  auto all = seqs({.limit = 1000});
  ASSERT_EQ(all.size(), 61u);
  EXPECT_EQ(all.front(), 61u);
  EXPECT_EQ(all.back(), 1u);
}

TEST_F(QueryTest, IntactIndexIsReused) {
  j_.reset();
  j_ = open();
  EXPECT_FALSE(j_->last_recovery().index_rebuilt);
  EXPECT_EQ(seqs({.user = "u0", .limit = 2}), (std::vector<std::uint64_t>{57, 53}));
}

TEST_F(QueryTest, NewRecordsAreQueryableOnceAcknowledged) {
  auto r = j_->append_and_wait(decision_record("d7", "u7", "grant"));
  ASSERT_TRUE(r);
  EXPECT_EQ(seqs({.door = "d7"}), (std::vector<std::uint64_t>{r->seq}));
}

}  // namespace
}  // namespace castellan::journal

namespace castellan::journal {
namespace {

TEST(QueryLayout, CandidatesFarApartAndCloseTogetherReadTheSameRecords) {
  // Each decision on door "dz" is followed by a 20 KiB admin record: a query for "dz" finds
  // candidates too far apart to read together, a query for everything finds them close.
  testing::TempDir dir;
  FakeClock clock{*parse_utc("2026-11-22T03:00:00Z")};
  JournalOptions o;
  o.dir = dir.path();
  o.segment_bytes = 256 << 10;
  auto journal = Journal::open(o, clock);
  ASSERT_TRUE(journal);
  std::vector<JournalRecord> records;
  for (int i = 0; i < 30; ++i) {
    records.push_back(testing::decision_record("dz", testing::numbered("u", i), "grant"));
    JournalRecord admin;
    admin.kind = RecordKind::admin;
    admin.extra = R"({"actor":"admin","note":")" + std::string(20 << 10, 'x') + R"("})";
    records.push_back(admin);
  }
  testing::append_all(**journal, records);
  ASSERT_GT((*journal)->stats().segments, 1u);
  auto sparse = (*journal)->query({.door = "dz", .limit = 1000});
  ASSERT_TRUE(sparse) << sparse.error().message;
  ASSERT_EQ(sparse->records.size(), 30u);
  auto dense = (*journal)->query({.limit = 1000});
  ASSERT_TRUE(dense) << dense.error().message;
  ASSERT_EQ(dense->records.size(), 60u);
  for (std::size_t i = 0; i < 30; ++i) {
    EXPECT_EQ(sparse->records[i].seq, 59 - 2 * i);
    EXPECT_EQ(sparse->records[i].user, testing::numbered("u", static_cast<long long>(29 - i)));
    EXPECT_EQ(dense->records[2 * i + 1], sparse->records[i]);
    EXPECT_EQ(dense->records[2 * i].extra.size(), records[1].extra.size());
  }
}

TEST(QueryConcurrency, QueriesWhileAppendingSeeConsistentPages) {
  testing::TempDir dir;
  FakeClock clock{*parse_utc("2026-11-22T03:00:00Z")};
  JournalOptions o;
  o.dir = dir.path();
  o.segment_bytes = 16384;
  auto journal = Journal::open(o, clock);
  ASSERT_TRUE(journal);
  Journal& j = **journal;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    testing::append_all(j, testing::numbered_records(300));
    done = true;
  });
  int pages = 0;
  std::string failure;  // the first bad page; the writer is joined before anything is asserted
  while (!done && failure.empty()) {
    auto page = j.query({.limit = 50});
    if (!page) {
      failure = page.error().message;
      break;
    }
    for (std::size_t i = 1; i < page->records.size(); ++i) {
      if (page->records[i - 1].seq != page->records[i].seq + 1) {  // newest first, no gaps
        failure = "seq " + std::to_string(page->records[i].seq) + " after " +
                  std::to_string(page->records[i - 1].seq);
      }
    }
    ++pages;
  }
  writer.join();
  EXPECT_EQ(failure, "");
  auto last = j.query({.limit = 1});
  ASSERT_TRUE(last);
  ASSERT_EQ(last->records.size(), 1u);
  EXPECT_EQ(last->records[0].seq, 300u);
  EXPECT_GT(pages, 0);
}

}  // namespace
}  // namespace castellan::journal
