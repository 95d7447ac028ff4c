// Recovery on open: torn tails are cut and recorded; damage in the middle is refused.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <sstream>

#include "core/clock.hpp"
#include "journal/export.hpp"
#include "journal/journal.hpp"
#include "journal/recovery.hpp"
#include "journal/verify.hpp"
#include "segment_bytes.hpp"
#include "test_support.hpp"

namespace castellan::journal {
namespace {

using namespace castellan::journal::testing;

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto j = open();
    for (int i = 0; i < 10; ++i) {
      auto r = j->append_and_wait(decision_record("d1", numbered("u", i), "grant"));
      ASSERT_TRUE(r);
      hashes_.push_back(r->hash);
    }
  }
  std::unique_ptr<Journal> open() {
    JournalOptions o;
    o.dir = dir_.path();
    auto j = Journal::open(o, clock_);
    EXPECT_TRUE(j) << (j ? "" : j.error().message);
    return j ? std::move(*j) : nullptr;
  }
  std::string segment_path() const { return dir_.file(segment_file_name(1)); }
  // The damage these tests make stands for a torn write, never acknowledged, so never in
  // index.dat (which lists only synced records; it is rebuilt at the next open). Left as it
  // is, index.dat would show the cut records to have been acknowledged, and lost.
  void forget_index() const { std::filesystem::remove(dir_.file("index.dat")); }
  // The journal's `resilience` records, newest first.
  static std::vector<JournalRecord> resilience_of(const Journal& j) {
    auto page = j.query(EventQuery{.kind = RecordKind::resilience});
    EXPECT_TRUE(page);
    return page ? page->records : std::vector<JournalRecord>{};
  }

  // Reopens, expects a cut of `bytes` starting at seq 11 (or `first_cut`), and checks the
  // resilience record that reports it.
  void expect_cut(std::uint64_t bytes, std::uint64_t first_cut = 11) {
    forget_index();
    auto j = open();
    ASSERT_TRUE(j);
    const auto& report = j->last_recovery();
    EXPECT_TRUE(report.tail_cut);
    EXPECT_EQ(report.bytes_cut, bytes);
    EXPECT_EQ(report.first_cut_seq, first_cut);
    EXPECT_EQ(report.last_seq, first_cut - 1);
    EXPECT_NE(report.summary().find("tail cut"), std::string::npos);
    const auto records = resilience_of(*j);
    ASSERT_EQ(records.size(), 1u);
    const auto& r = records[0];
    EXPECT_EQ(r.seq, first_cut);
    EXPECT_NE(r.extra.find("\"event\":\"journal_tail_cut\""), std::string::npos) << r.extra;
    EXPECT_NE(r.extra.find(numbered("\"bytes\":", static_cast<long long>(bytes))),
              std::string::npos)
        << r.extra;
    j.reset();
    auto verified = verify(dir_.path());
    EXPECT_TRUE(verified.ok) << verified.message;
  }

  TempDir dir_;
  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  std::vector<std::string> hashes_;
};

TEST_F(RecoveryTest, CleanReopenCutsNothing) {
  auto j = open();
  EXPECT_FALSE(j->last_recovery().tail_cut);
  EXPECT_EQ(j->last_recovery().last_seq, 10u);
}

TEST_F(RecoveryTest, TornFrameAtTheEndIsCutAndRecorded) {
  auto bytes = data_of(segment_path());
  const std::string partial = frame_bytes(11, std::string(200, 'x')).substr(0, 57);
  spit(segment_path(), bytes + partial);
  expect_cut(57);
  EXPECT_EQ(data_of(segment_path()).substr(0, bytes.size()), bytes);  // intact part untouched
}

TEST_F(RecoveryTest, ACutWhoseRecordCannotBeWrittenIsJournaledAtTheNextOpen) {
  const std::string intact = data_of(segment_path());
  spit(segment_path(), intact + frame_bytes(11, std::string(200, 'x')).substr(0, 57));
  const std::string pending = dir_.file(kPendingCutsFile);
  {
    // Right after the crash the disk is full (a file size limit stands in): the cut is made,
    // but its resilience record cannot be appended.
    rlimit old{};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit tiny = old;
    tiny.rlim_cur = intact.size();  // the segment cannot grow past its intact records
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
    auto j = open();
    const bool opened = j != nullptr;
    std::size_t recorded = 0;
    if (opened) recorded = resilience_of(*j).size();
    j.reset();
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    std::signal(SIGXFSZ, SIG_DFL);
    ASSERT_TRUE(opened);
    EXPECT_EQ(recorded, 0u);
  }
  EXPECT_TRUE(std::filesystem::exists(pending)) << "the report waits in its note";
  // Space is back: the next open journals the cut and drops the note.
  auto j = open();
  ASSERT_TRUE(j);
  EXPECT_FALSE(j->last_recovery().tail_cut);
  const auto records = resilience_of(*j);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_NE(records[0].extra.find("\"bytes\":57"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(pending));
  j.reset();
  EXPECT_TRUE(verify(dir_.path()).ok);
}

TEST_F(RecoveryTest, ACutIsMadeAndJournaledEvenWhenItsNoteCannotBeWritten) {
  const std::string intact = data_of(segment_path());
  spit(segment_path(), intact + frame_bytes(11, std::string(200, 'x')).substr(0, 57));
  std::filesystem::create_directory(dir_.file(kPendingCutsFile));  // cannot be written
  expect_cut(57);
}

TEST_F(RecoveryTest, ALineTornInTheNoteDoesNotSwallowTheNextCut) {
  spit(dir_.file(kPendingCutsFile), R"({"event":"journal_tail_cut","segm)");  // a crash mid-write
  spit(segment_path(),
       data_of(segment_path()) + frame_bytes(11, std::string(200, 'x')).substr(0, 57));
  expect_cut(57);
  EXPECT_FALSE(std::filesystem::exists(dir_.file(kPendingCutsFile)));
}

TEST_F(RecoveryTest, AVersion1SegmentIsNotContinued) {
  // An older binary wrote it: new frames (with batch marks) go to a new version 2 segment.
  std::string bytes = data_of(segment_path());
  auto header = decode_segment_header(bytes);
  ASSERT_TRUE(header);
  header->version = 1;
  bytes = encode_segment_header(*header) + bytes.substr(kSegmentHeaderBytes);
  spit(segment_path(), bytes);
  auto j = open();
  ASSERT_TRUE(j);
  ASSERT_TRUE(j->append_and_wait(decision_record("d1", "u", "grant")));
  j.reset();
  EXPECT_EQ(slurp(segment_path()), bytes);
  const std::string next = dir_.file(segment_file_name(11));
  ASSERT_TRUE(std::filesystem::exists(next));
  EXPECT_EQ(decode_segment_header(slurp(next))->version, 2u);
  auto verified = verify(dir_.path());
  EXPECT_TRUE(verified.ok) << verified.message;
  EXPECT_EQ(verified.records, 11u);
}

// A version 1 segment that holds no record has the name the next record's new segment takes:
// the new one replaces it. Kept as a second entry, it was dropped by retention a day later, and
// its unlink deleted the new segment's records while they were still within retention.
TEST(Version1Segment, AnEmptyOneIsReplacedNotKeptForRetentionToDeleteItsSuccessor) {
  TempDir dir;
  FakeClock clock{*parse_utc("2026-11-22T00:00:00Z")};
  SegmentHeader header{1, std::string(64, '0'), to_unix_ms(clock.now()) - 3600 * 1000, 1};
  spit(dir.file(segment_file_name(1)), encode_segment_header(header));
  JournalOptions o;
  o.dir = dir.path();
  o.segment_bytes = 4096;
  o.retention_age = std::chrono::hours(24);
  auto j = Journal::open(o, clock);
  ASSERT_TRUE(j) << j.error().message;
  auto append = [&](int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_TRUE((*j)->append_and_wait(decision_record("d1", "u", "grant")));
  };
  append(5);
  clock.advance(std::chrono::hours(23));
  append(20);  // a new segment, created at 23 h
  clock.advance(std::chrono::hours(2));
  append(20);  // another: retention looks again at 25 h
  j->reset();
  auto segments = *list_segments(dir.path());
  ASSERT_FALSE(segments.empty());
  EXPECT_EQ(segments.front().first_seq, 1u) << "seq 1.. were written 25 h ago at most";
  auto verified = verify(dir.path(), VerifyOptions{std::chrono::milliseconds(50)});
  EXPECT_TRUE(verified.ok) << verified.message;
  EXPECT_EQ(verified.first_seq, 1u);
  EXPECT_EQ(verified.records, 45u);
}

TEST_F(RecoveryTest, TornFrameHeaderIsCut) {
  spit(segment_path(), data_of(segment_path()) + std::string("\x10\x00\x00", 3));
  // Its zero bytes cannot be told from the zeros a segment is grown by: only the data up to
  // the last non-zero byte is reported as cut.
  expect_cut(1);
}

TEST_F(RecoveryTest, ZeroFilledTailIsACleanEnd) {
  // The writer grows segments with zeros ahead of the data: that is not damage.
  spit(segment_path(), data_of(segment_path()) + std::string(4096, '\0'));
  auto j = open();
  EXPECT_FALSE(j->last_recovery().tail_cut);
  auto next = j->append_and_wait(decision_record("d1", "u", "grant"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 11u);
  j.reset();
  auto verified = verify(dir_.path());
  EXPECT_TRUE(verified.ok) << verified.message;
  EXPECT_EQ(verified.records, 11u);
}

TEST_F(RecoveryTest, TornFrameInsideZeroPaddingIsCut) {
  const std::string intact = data_of(segment_path());
  const std::string partial = frame_bytes(11, std::string(200, 'x')).substr(0, 100);
  spit(segment_path(), intact + partial + std::string(4096, '\0'));
  expect_cut(100);  // the zeros after it are not counted as cut
}

TEST_F(RecoveryTest, ZeroLengthBeforeDataIsDamageNotAnEnd) {
  const std::string intact = data_of(segment_path());
  spit(segment_path(), intact + std::string(16, '\0') + "junk");
  expect_cut(20);
}

TEST_F(RecoveryTest, CrcFailingLastRecordIsCut) {
  auto bytes = data_of(segment_path());
  const auto frames = frames_of(bytes);
  bytes[frames.back().offset + 30] ^= 0x20;
  spit(segment_path(), bytes);
  expect_cut(frames.back().size, 10);
  // The chain continues from record 9.
  std::ostringstream out;
  ASSERT_TRUE(export_jsonl(dir_.path(), {}, out));
  EXPECT_NE(out.str().find("\"prev\":\"" + hashes_[8] + "\""), std::string::npos);
}

TEST_F(RecoveryTest, DamageBeforeIntactRecordsIsRefused) {
  auto bytes = data_of(segment_path());
  const auto frames = frames_of(bytes);
  bytes[frames[4].offset + 30] ^= 0x20;
  spit(segment_path(), bytes);
  JournalOptions o;
  o.dir = dir_.path();
  auto j = Journal::open(o, clock_);
  ASSERT_FALSE(j);
  EXPECT_EQ(j.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_NE(j.error().message.find("refusing to cut acknowledged records"), std::string::npos)
      << j.error().message;
  EXPECT_EQ(slurp(segment_path()), bytes);  // nothing was cut
}

// Records 11-13 as one write batch whose middle frame never reached the disk: a power cut
// during its fdatasync, with the segment's pages (preallocated zeros) written out of order.
class TornBatchTest : public RecoveryTest {
 protected:
  void SetUp() override {
    RecoveryTest::SetUp();
    {
      auto j = open();
      for (int i = 0; i < 3; ++i)
        ASSERT_TRUE(j->append_and_wait(decision_record("d1", "v", "grant")));
    }
    const std::string bytes = data_of(segment_path());
    frames_ = frames_of(bytes);
    ASSERT_EQ(frames_.size(), 13u);
    synced_ = bytes.substr(0, frames_[10].offset);  // records 1-10, each its own synced batch
    forget_index();
  }
  std::string torn_batch() const {
    return frame_bytes(11, frames_[10].payload) + std::string(frames_[11].size, '\0') +
           frame_bytes(13, frames_[12].payload, true);
  }
  // What verify and export make of the damaged tail before a start cuts it: records 11 on
  // were never acknowledged, so neither takes them for intact; verify says `why`.
  void expect_read_as_torn_from_11(const std::string& why) {
    const auto verified = verify(dir_.path(), VerifyOptions{std::chrono::milliseconds(50)});
    EXPECT_FALSE(verified.ok);
    EXPECT_EQ(verified.first_bad_seq, 11u) << verified.message;
    EXPECT_EQ(verified.records, 10u);
    EXPECT_NE(verified.message.find(why), std::string::npos) << verified.message;
    std::ostringstream exported;
    ExportOptions quick;
    quick.settle = std::chrono::milliseconds(50);
    auto lines = export_jsonl(dir_.path(), quick, exported);
    ASSERT_TRUE(lines) << lines.error().message;
    EXPECT_EQ(*lines, 10u);
    EXPECT_EQ(exported.str().find("\"seq\":11,"), std::string::npos);
  }
  std::vector<FrameSpan> frames_;
  std::string synced_;
};

// The whole torn batch is cut: its intact frames before the hole were never acknowledged
// either, and keeping them would journal decisions no door was told.
TEST_F(TornBatchTest, TheWholeTornBatchIsCut) {
  spit(segment_path(), synced_ + torn_batch() + std::string(4096, '\0'));
  expect_cut(frames_[10].size + frames_[11].size + frames_[12].size, 11);
  auto j = open();
  EXPECT_EQ(j->last_recovery().last_seq, 11u) << "10 kept, then the resilience record";
}

TEST_F(TornBatchTest, ReportsTheHighestRecordCut) {
  spit(segment_path(), synced_ + torn_batch());
  auto j = open();
  ASSERT_TRUE(j);
  EXPECT_EQ(j->last_recovery().first_cut_seq, 11u);
  EXPECT_EQ(j->last_recovery().last_cut_seq, 13u);
}

// The lost part of a batch began exactly at a frame boundary, so what is left reads as a
// clean end; but its last frame does not end a batch, so the batch was never synced whole.
TEST_F(TornBatchTest, ABatchWhoseEndNeverReachedTheDiskIsCut) {
  const std::string first_two =
      frame_bytes(11, frames_[10].payload) + frame_bytes(12, frames_[11].payload);
  for (const std::string& after : {std::string(4096, '\0'), std::string()}) {
    spit(segment_path(), synced_ + first_two + after);
    expect_read_as_torn_from_11("no end mark");
    auto j = open();
    ASSERT_TRUE(j);
    const auto& report = j->last_recovery();
    EXPECT_TRUE(report.tail_cut);
    EXPECT_EQ(report.first_cut_seq, 11u);
    EXPECT_EQ(report.last_cut_seq, 12u);
    EXPECT_EQ(report.bytes_cut, first_two.size());
    j.reset();
    EXPECT_TRUE(verify(dir_.path()).ok);
    std::filesystem::remove(segment_path());
    std::filesystem::remove(dir_.file("index.dat"));
    spit(segment_path(), synced_);
  }
}

// Records 11-13, one batch with a hole where 12 was: verify reports the batch from its first
// seq (the next start cuts all of it) and export leaves it out, both as recovery reads it.
TEST_F(TornBatchTest, VerifyAndExportReadATornBatchAsTheStartWillCutIt) {
  spit(segment_path(), synced_ + torn_batch());
  expect_read_as_torn_from_11("a torn write, never acknowledged");
}

TEST_F(TornBatchTest, AHoleFollowedByACompleteLaterBatchIsRefused) {
  // 13 ends its batch and 14 follows: 13's batch was synced before 14 was written, so the
  // hole is in acknowledged records.
  const std::string bytes = synced_ + torn_batch() + frame_bytes(14, frames_[12].payload, true);
  spit(segment_path(), bytes);
  JournalOptions o;
  o.dir = dir_.path();
  auto j = Journal::open(o, clock_);
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("refusing to cut acknowledged records"), std::string::npos)
      << j.error().message;
  EXPECT_EQ(slurp(segment_path()), bytes);
}

TEST_F(TornBatchTest, AVersion1SegmentRefusesAnyIntactFrameAfterAHole) {
  // Written before frames carried the batch-end bit: it cannot tell, so it keeps the strict rule.
  auto header = decode_segment_header(synced_);
  ASSERT_TRUE(header);
  header->version = 1;
  const std::string bytes =
      encode_segment_header(*header) + synced_.substr(kSegmentHeaderBytes) + torn_batch();
  spit(segment_path(), bytes);
  JournalOptions o;
  o.dir = dir_.path();
  ASSERT_FALSE(Journal::open(o, clock_));
  EXPECT_EQ(slurp(segment_path()), bytes);
}

// Records 8-10 were acknowledged (index.dat lists them) and are gone, the file cut at a batch
// boundary: no torn tail for recovery to find, yet a loss. verify reports it; the next open
// journals it, and new records take those seqs again.
TEST_F(RecoveryTest, AcknowledgedRecordsLostFromTheEndAreReportedAndJournaled) {
  const auto bytes = data_of(segment_path());
  const auto frames = frames_of(bytes);
  spit(segment_path(), bytes.substr(0, frames[7].offset));
  const auto verified = verify(dir_.path());
  EXPECT_FALSE(verified.ok);
  EXPECT_EQ(verified.first_bad_seq, 8u) << verified.message;
  EXPECT_NE(verified.message.find("index.dat lists records up to seq 10, but the segments end at "
                                  "seq 7: acknowledged records are missing"),
            std::string::npos)
      << verified.message;

  auto j = open();
  ASSERT_TRUE(j);
  EXPECT_FALSE(j->last_recovery().tail_cut);
  const auto records = resilience_of(*j);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].seq, 8u);
  EXPECT_EQ(
      records[0].extra,
      R"({"event":"journal_records_missing","first_seq":8,"last_seq":10,"segments_end_at":7})");
  j.reset();
  EXPECT_TRUE(verify(dir_.path()).ok);
  EXPECT_FALSE(std::filesystem::exists(dir_.file(kPendingCutsFile)));
  // Once on record, it is not recorded again.
  auto again = open();
  EXPECT_EQ(resilience_of(*again).size(), 1u);
}

TEST_F(RecoveryTest, SegmentThatDiedBeingCreatedIsRemoved) {
  const std::string leftover = dir_.file(segment_file_name(11));
  spit(leftover, std::string(20, '\x01'));
  auto j = open();
  ASSERT_TRUE(j);
  EXPECT_FALSE(std::filesystem::exists(leftover));
  auto next = j->append_and_wait(decision_record("d1", "u", "grant"));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->seq, 11u);
  EXPECT_EQ(next->prev, hashes_.back());
}

TEST_F(RecoveryTest, DamagedHeaderWithDataIsRefused) {
  auto bytes = data_of(segment_path());
  bytes[3] ^= 0x01;
  spit(segment_path(), bytes);
  JournalOptions o;
  o.dir = dir_.path();
  auto j = Journal::open(o, clock_);
  ASSERT_FALSE(j);
  EXPECT_NE(j.error().message.find("magic"), std::string::npos) << j.error().message;
}

}  // namespace
}  // namespace castellan::journal
