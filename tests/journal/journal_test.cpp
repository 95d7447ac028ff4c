#include "journal/journal.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "core/clock.hpp"
#include "core/thread_name.hpp"
#include "journal/index.hpp"
#include "journal/segment.hpp"
#include "journal/verify.hpp"
#include "segment_bytes.hpp"
#include "test_support.hpp"

namespace castellan::journal {
namespace {

using testing::append_all;
using testing::decision_record;
using testing::numbered;
using testing::numbered_records;
using testing::TempDir;

// Bytes of disk a file occupies (its holes excluded).
std::uint64_t allocated_bytes(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
}

class JournalTest : public ::testing::Test {
 protected:
  JournalOptions options(std::uint64_t segment_bytes = 1 << 20) {
    JournalOptions o;
    o.dir = dir_.path();
    o.segment_bytes = segment_bytes;
    o.batch_max = 64;
    o.linger = std::chrono::microseconds(100);
    return o;
  }
  std::unique_ptr<Journal> open(JournalOptions o) {
    auto j = Journal::open(std::move(o), clock_);
    EXPECT_TRUE(j) << (j ? "" : j.error().message);
    return j ? std::move(*j) : nullptr;
  }

  TempDir dir_;
  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
};

TEST_F(JournalTest, AppendAssignsSeqChainAndTimestamp) {
  auto j = open(options());
  auto first = j->append_and_wait(decision_record("d1", "u1", "grant"));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->seq, 1u);
  EXPECT_EQ(first->prev, genesis_hash());
  EXPECT_EQ(first->hash, compute_hash(*first));
  EXPECT_EQ(format_utc(first->ts), "2026-11-22T03:00:00.000Z");  // stamped from the clock

  auto stamped = decision_record("d1", "u1", "deny", 40304);
  stamped.ts = *parse_utc("2026-11-22T03:00:01.123456Z");
  auto second = j->append_and_wait(stamped);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->seq, 2u);
  EXPECT_EQ(second->prev, first->hash);
  EXPECT_EQ(second->ts, *parse_utc("2026-11-22T03:00:01.123Z"));  // kept to milliseconds
  EXPECT_TRUE(j->healthy());
  EXPECT_EQ(j->stats().records, 2u);
}

// The journal names users and card hashes: who went through which door, and when. Only the
// service's own user may read it.
TEST_F(JournalTest, ItsDirectoriesAndFilesArePrivate) {
  const std::string nested = dir_.path() + "/var/journal";
  auto o = options();
  o.dir = nested;
  auto j = open(o);
  ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u1", "grant")));
  j.reset();
  auto mode = [](const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 0777;
  };
  EXPECT_EQ(mode(dir_.path() + "/var"), 0700u);
  EXPECT_EQ(mode(nested), 0700u);
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(nested)) {
    EXPECT_EQ(mode(e.path().string()), 0600u) << e.path();
    ++files;
  }
  EXPECT_GE(files, 3u) << "LOCK, index.dat and a segment at least";
}

TEST_F(JournalTest, InvalidRecordFailsWithoutTakingASeq) {
  auto j = open(options());
  auto bad = decision_record("d1", "u1", "grant");
  bad.extra = "not json";
  auto r = j->append_and_wait(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::ERR_BAD_REQUEST);
  auto ok = j->append_and_wait(decision_record("d1", "u1", "grant"));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->seq, 1u);
}

TEST_F(JournalTest, OversizedRecordIsRefusedAndNothingAcceptedIsLost) {
  auto j = open(options());
  auto kept = j->append_and_wait(decision_record("d1", "u1", "grant"));
  ASSERT_TRUE(kept);
  auto big = decision_record("d1", "u2", "grant");
  big.extra = "{\"note\":\"" + std::string(1 << 20, 'x') + "\"}";
  auto r = j->append_and_wait(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(r.error().message, "journal record is larger than 1 MiB");
  auto next = j->append_and_wait(decision_record("d1", "u3", "grant"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 2u);
  EXPECT_EQ(next->prev, kept->hash);
  j.reset();
  const auto report = verify(dir_.path());
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.records, 2u);
}

TEST_F(JournalTest, ReopenContinuesTheChain) {
  std::string last_hash;
  {
    auto j = open(options());
    for (int i = 0; i < 10; ++i)
      last_hash = j->append_and_wait(decision_record("d1", "u", "grant"))->hash;
  }
  auto j = open(options());
  EXPECT_FALSE(j->last_recovery().tail_cut);
  EXPECT_EQ(j->last_recovery().last_seq, 10u);
  auto next = j->append_and_wait(decision_record("d1", "u", "grant"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 11u);
  EXPECT_EQ(next->prev, last_hash);
  j.reset();
  EXPECT_TRUE(verify(dir_.path()).ok);
}

TEST_F(JournalTest, SecondWriterOnTheSameDirectoryIsRefused) {
  auto j = open(options());
  auto second = Journal::open(options(), clock_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
}

TEST_F(JournalTest, ConcurrentAppendersGetContiguousUniqueSeqs) {
  auto j = open(options());
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::mutex mu;
  std::set<std::uint64_t> seqs;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = j->append_and_wait(decision_record(numbered("d", t), "u", "grant"));
        if (!r) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        seqs.insert(r->seq);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(seqs.size(), static_cast<std::size_t>(kThreads * kPerThread));
  EXPECT_EQ(*seqs.begin(), 1u);
  EXPECT_EQ(*seqs.rbegin(), static_cast<std::uint64_t>(kThreads * kPerThread));
  const auto stats = j->stats();
  EXPECT_EQ(stats.records, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LE(stats.batches, stats.records);
  std::uint64_t counted = 0;
  for (auto c : stats.batch_size_buckets) counted += c;
  EXPECT_EQ(counted, stats.batches);
  j.reset();
  EXPECT_TRUE(verify(dir_.path()).ok);
}

TEST_F(JournalTest, AsyncCallbacksRunOnceEach) {
  auto j = open(options());
  std::atomic<int> done{0};
  for (int i = 0; i < 500; ++i) {
    j->append(decision_record("d1", "u", "grant"), [&](Result<JournalRecord> r) {
      if (r) ++done;
    });
  }
  j.reset();  // destruction flushes what is queued
  EXPECT_EQ(done.load(), 500);
  EXPECT_TRUE(verify(dir_.path()).ok);
}

// Durability callbacks run on the flusher thread, which is named for `top -H` and perf.
// A record written alone is acknowledged by the syncer that wrote it (no hop for a lone
// appender); records written while more wait are acknowledged by the flusher, so that the
// syncer goes on writing.
TEST_F(JournalTest, CallbacksRunOnTheSyncerWhenAloneAndOnTheFlusherUnderLoad) {
  auto o = options();
  o.batch_max = 4;
  o.linger = std::chrono::microseconds(0);
  auto j = open(o);
  std::string lone;
  ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u", "grant")));  // the syncer is idle
  j->append(decision_record("d1", "u", "grant"),
            [&](Result<JournalRecord>) { lone = this_thread_name(); });
  j.reset();
  EXPECT_EQ(lone, "journal-sync");

  TempDir second;  // a fresh journal whose first write finds more sealed behind it
  o.dir = second.path();
  j = open(o);
  // Long enough for this thread to queue the other records even on a loaded machine.
  j->stall_for(std::chrono::milliseconds(1000));
  std::mutex mu;
  std::vector<std::string> names;
  for (int i = 0; i < 10; ++i) {
    j->append(decision_record("d1", "u", "grant"), [&](Result<JournalRecord>) {
      std::lock_guard lock(mu);
      names.push_back(this_thread_name());
    });
  }
  j.reset();
  ASSERT_EQ(names.size(), 10u);
  // The first batch of four was written while two more waited.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(names[i], "journal") << i;
  for (const auto& n : names) EXPECT_TRUE(n == "journal" || n == "journal-sync") << n;
}

// A disk that hangs does not hang whoever waits for a record (the server's start): the wait
// ends at its deadline with 50401, and the record is still written once the disk moves.
TEST_F(JournalTest, AWaitForARecordEndsAtItsDeadlineAndTheRecordStillLands) {
  auto j = open(options());
  j->stall_for(std::chrono::milliseconds(1500));
  auto late =
      j->append_and_wait(decision_record("d1", "u", "grant"), std::chrono::milliseconds(50));
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error().code, Code::ERR_TIMEOUT);
  EXPECT_EQ(late.error().message,
            "journal record not durable within 50 ms; it may still be written");
  auto next = j->append_and_wait(decision_record("d2", "u", "grant"));
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(next->seq, 2u);  // the one given up on took seq 1
  auto page = j->query(EventQuery{.door = "d1"});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->records.size(), 1u);
}

// The service lingers by default ([journal] linger_us): a batch after one that had company
// waits for as many records as that one held, and a lone appender never waits. The linger is
// an hour here, so only the record count can end a wait.
TEST_F(JournalTest, LingerFillsABatchLikeThePreviousOneButNeverHoldsALoneAppender) {
  auto o = options();
  o.linger = std::chrono::hours(1);
  {
    auto j = open(o);
    std::atomic<int> done{0};
    auto count = [&](Result<JournalRecord> r) {
      if (r) ++done;
    };
    // The first batch: three records (the stall leaves this thread ample time to queue them;
    // a shorter first batch would leave the linger waiting for company that never comes).
    j->stall_for(std::chrono::milliseconds(2000));
    for (int i = 0; i < 2; ++i) j->append(decision_record("d1", "u", "grant"), count);
    ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u", "grant")));
    // The second batch waits for three as well, though the first of them comes alone and the
    // others long after it (without the linger it would be a batch of its own).
    j->append(decision_record("d1", "u", "grant"), count);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    j->append(decision_record("d1", "u", "grant"), count);
    ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u", "grant")));
    EXPECT_EQ(done.load(), 4);
    EXPECT_EQ(j->stats().records, 6u);
    EXPECT_EQ(j->stats().batches, 2u);
  }
  auto j = open(o);  // a journal whose last batch held one record: an appender never waits
  auto lone = std::async(std::launch::async, [&] {
    for (int i = 0; i < 3; ++i) {
      if (!j->append_and_wait(decision_record("d1", "u", "grant"))) return false;
    }
    return true;
  });
  const bool answered = lone.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  if (!answered) j->close();  // ends the wait, so that the failure does not take an hour
  ASSERT_TRUE(answered) << "a lone appender waited for company";
  EXPECT_TRUE(lone.get());
  EXPECT_EQ(j->stats().batches, 3u);
}

TEST_F(JournalTest, SubscribersSeeDurableRecordsInOrder) {
  auto j = open(options());
  std::mutex mu;
  std::vector<std::uint64_t> seen;
  auto sub = j->subscribe([&](const JournalRecord& r) {
    std::lock_guard lock(mu);
    seen.push_back(r.seq);
  });
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u", "grant")));
  sub.reset();
  ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u", "grant")));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
}

TEST_F(JournalTest, RotatesBySizeAndTheChainSpansSegments) {
  auto o = options(4096);
  o.batch_max = 4;
  auto j = open(o);
  append_all(*j, numbered_records(100));
  j.reset();
  auto segments = list_segments(dir_.path());
  ASSERT_TRUE(segments);
  EXPECT_GT(segments->size(), 3u);
  auto report = verify(dir_.path());
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.records, 100u);
}

TEST_F(JournalTest, RetentionBySizeKeepsAVerifiableChain) {
  auto o = options(4096);
  o.batch_max = 4;
  o.retention_bytes = 12 * 1024;
  auto j = open(o);
  append_all(*j, numbered_records(200));
  j.reset();
  auto segments = list_segments(dir_.path());
  ASSERT_TRUE(segments);
  EXPECT_GT(segments->front().first_seq, 1u);  // old segments are gone
  auto report = verify(dir_.path());
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.first_seq, segments->front().first_seq);
  EXPECT_EQ(report.last_seq, 200u);
  // Reopening keeps going from the retained chain.
  auto again = open(o);
  auto next = again->append_and_wait(decision_record("d1", "u", "grant"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 201u);
}

TEST_F(JournalTest, RetentionKeepsTheQueryIndexRightWithoutRewritingItEachTime) {
  auto o = options(4096);
  o.batch_max = 4;
  o.retention_bytes = 12 * 1024;
  const auto count_decisions = [](Journal& j) {
    std::size_t n = 0;
    EventQuery q{.kind = RecordKind::decision, .limit = 1000};
    do {
      auto page = j.query(q);
      EXPECT_TRUE(page);
      if (!page) return n;
      n += page->records.size();
      q.cursor = page->next_cursor;
    } while (!q.cursor.empty());
    return n;
  };
  auto j = open(o);
  append_all(*j, numbered_records(400));
  // The index's memory follows what is retained, not what was ever written.
  EXPECT_LT(j->stats().index_bytes, 400u * 64);
  j.reset();  // retention runs after a batch is acknowledged: let it finish
  auto report = verify(dir_.path());
  ASSERT_TRUE(report.ok) << report.message;
  ASSERT_GT(report.first_seq, 1u);
  // The file's dropped prefix is a hole: its disk space follows what is retained (give or
  // take the first block, kept for the header, and a partial block at each end).
  EXPECT_LE(allocated_bytes(dir_.file("index.dat")), 16 + report.records * 64 + 3 * 4096);
  EXPECT_GT(std::filesystem::file_size(dir_.file("index.dat")), 16 + 400 * 64 - 1)
      << "nothing was copied: the file keeps its size";
  // Reopened (from a file with a dropped prefix), the index serves exactly the retained
  // records, also after more segments were dropped.
  auto again = open(o);
  EXPECT_FALSE(again->last_recovery().index_rebuilt) << "a dropped prefix is skipped, not rebuilt";
  EXPECT_EQ(count_decisions(*again), report.records);
  append_all(*again, numbered_records(100));
  again.reset();
  report = verify(dir_.path());
  ASSERT_TRUE(report.ok) << report.message;
  auto third = open(o);
  EXPECT_EQ(count_decisions(*third), report.records);
  EXPECT_EQ(third->stats().index_bytes, report.records * 64);
}

// Retention drops from the front of the index without copying what stays: the memory of the
// dropped entries goes at once, and their part of the file becomes a hole.
TEST(EventIndex, ADroppedPrefixLeavesMemoryAndDiskWithoutACopy) {
  TempDir dir;
  bool rebuilt = false;
  auto index = EventIndex::load(dir.path(), {}, 0, rebuilt);
  ASSERT_TRUE(index);
  std::vector<IndexEntry> entries(1000);
  for (std::size_t i = 0; i < entries.size(); ++i) entries[i].seq = i + 1;
  index->append(entries);
  index->append_to_file(entries);
  const auto path = dir.file("index.dat");
  const auto before = allocated_bytes(path);
  ASSERT_GE(before, 16u + 1000 * 64);
  index->drop_before(601);
  index->compact_file();
  EXPECT_EQ(index->entries().size(), 400u);
  EXPECT_EQ(index->entries().front().seq, 601u);
  EXPECT_EQ(std::filesystem::file_size(path), 16u + 1000 * 64) << "not rewritten";
  // Give or take the first block (kept for the header) and a partial block at each end.
  EXPECT_LE(allocated_bytes(path), 16u + 400 * 64 + 3 * 4096) << "the prefix was punched out";
  const std::vector<IndexEntry> last{IndexEntry{.seq = 1001}};
  index->append(last);
  index->append_to_file(last);
  EXPECT_EQ(std::filesystem::file_size(path), 16u + 1001 * 64) << "appends go on at the end";
}

// Damage made of bytes that look like frame lengths at every offset (a crafted or garbled
// tail) is scanned in one pass: before the CRC, a frame's seq must fit where it lies. The
// 4 MiB tail below took minutes before (a CRC of up to 1 MiB at each offset); frames written
// after damage are still found.
TEST(SegmentScan, LengthLikeBytesAfterDamageAreScannedOnceAndRealFramesAfterThemFound) {
  std::string bytes(kSegmentHeaderBytes, '\0');
  for (int i = 0; i < (4 << 20) / 4; ++i) bytes.append("\x0f\0\0\0", 4);
  const IntactAfter none = scan_intact_after(bytes, kSegmentHeaderBytes, 0);
  EXPECT_EQ(none.last_seq, 0u);
  EXPECT_FALSE(none.later_batch);

  std::string damaged(kSegmentHeaderBytes, '\0');
  damaged.append(300, '\x5a');  // the torn frame of seq 1 and what followed it
  append_frame(damaged, 2, "{}", true);
  append_frame(damaged, 3, "{}", true);
  const IntactAfter after = scan_intact_after(damaged, kSegmentHeaderBytes, 0);
  EXPECT_EQ(after.last_seq, 3u);
  EXPECT_TRUE(after.later_batch);
}

TEST_F(JournalTest, AClosedJournalRefusesAppendsButStillAnswersQueries) {
  auto j = open(options());
  ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u1", "grant")));
  j->close();
  auto late = j->append_and_wait(decision_record("d1", "u2", "grant"));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().code, Code::ERR_UNAVAILABLE);
  auto page = j->query(EventQuery{.kind = RecordKind::decision});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->records.size(), 1u);
}

TEST_F(JournalTest, RetentionByAgeDropsOnlySegmentsOlderThanTheLimit) {
  auto o = options(4096);
  o.batch_max = 4;
  o.retention_age = std::chrono::hours(24);
  auto j = open(o);
  append_all(*j, numbered_records(60));
  const auto before = list_segments(dir_.path())->size();
  clock_.advance(std::chrono::hours(25));
  append_all(*j, numbered_records(60));
  j.reset();
  auto segments = *list_segments(dir_.path());
  EXPECT_GT(before, 2u);
  EXPECT_GT(segments.front().first_seq, 1u);
  EXPECT_LE(segments.front().first_seq, 61u);  // nothing written after the jump is dropped
  auto report = verify(dir_.path());
  EXPECT_TRUE(report.ok) << report.message;
}

TEST_F(JournalTest, StallDelaysButLosesNothing) {
  auto j = open(options());
  j->stall_for(std::chrono::milliseconds(50));
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    j->append(decision_record("d1", "u", "grant"), [&](Result<JournalRecord> r) {
      if (r) ++done;
    });
  }
  ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u", "grant")));
  EXPECT_EQ(done.load(), 20);
}

// Records sealed while the writer is busy wait in batches of at most batch_max; each batch is
// one write whose last frame alone carries the batch-end mark recovery relies on.
TEST_F(JournalTest, EachWriteIsABatchWhoseLastFrameAloneIsMarked) {
  auto o = options();
  o.batch_max = 4;
  o.linger = std::chrono::microseconds(0);
  auto j = open(o);
  j->stall_for(std::chrono::milliseconds(1000));  // ample time to queue the ten below
  for (int i = 0; i < 10; ++i) j->append(decision_record("d1", "u", "grant"), [](auto) {});
  auto last = j->append_and_wait(decision_record("d1", "u", "grant"));
  ASSERT_TRUE(last);
  ASSERT_EQ(last->seq, 11u);
  EXPECT_EQ(j->stats().batches, 3u);
  j.reset();

  const std::string bytes = testing::slurp(dir_.path() + "/" + segment_file_name(1));
  std::vector<std::uint64_t> marked;
  std::uint64_t frames = 0;
  for (std::uint64_t offset = kSegmentHeaderBytes;;) {
    const FrameRead f = read_frame(bytes, offset);
    if (f.status != FrameStatus::ok) break;
    ++frames;
    if (f.batch_end) marked.push_back(f.seq);
    offset = f.next_offset;
  }
  EXPECT_EQ(frames, 11u);
  EXPECT_EQ(marked, (std::vector<std::uint64_t>{4, 8, 11}));
}

TEST_F(JournalTest, FsyncHistogramCountsEveryBatch) {
  auto j = open(options());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u", "grant")));
  const auto stats = j->stats();
  std::uint64_t fsyncs = 0;
  for (auto c : stats.fsync_seconds_buckets) fsyncs += c;
  EXPECT_EQ(fsyncs, stats.batches);
  EXPECT_EQ(stats.last_seq, 3u);
  EXPECT_GT(stats.bytes, 3u * 300);
  EXPECT_TRUE(stats.healthy);
  EXPECT_TRUE(stats.last_error.empty());
}

}  // namespace
}  // namespace castellan::journal

namespace castellan::journal {
namespace {

TEST(JournalOptionsFromConfig, MapsEveryKey) {
  Config config;
  config.journal.dir = "/var/lib/castellan/journal";
  config.journal.segment_bytes = 1 << 20;
  config.journal.batch_max = 32;
  config.journal.linger_us = 50;
  config.journal.retention_days = 7;
  config.journal.retention_bytes = 1LL << 30;
  const auto o = journal_options(config);
  EXPECT_EQ(o.dir, "/var/lib/castellan/journal");
  EXPECT_EQ(o.segment_bytes, 1u << 20);
  EXPECT_EQ(o.batch_max, 32u);
  EXPECT_EQ(o.linger, std::chrono::microseconds(50));
  EXPECT_EQ(o.retention_age, std::chrono::hours(7 * 24));
  EXPECT_EQ(o.retention_bytes, 1ULL << 30);
}

}  // namespace
}  // namespace castellan::journal
