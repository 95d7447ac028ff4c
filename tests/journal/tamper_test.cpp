// Every kind of damage `verify` must find, each reported with the right seq.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "core/clock.hpp"
#include "journal/journal.hpp"
#include "journal/verify.hpp"
#include "segment_bytes.hpp"
#include "test_support.hpp"

namespace castellan::journal {
namespace {

using namespace castellan::journal::testing;

class TamperTest : public ::testing::Test {
 protected:
  void SetUp() override { write_records(10, 1 << 20); }

  void write_records(int n, std::uint64_t segment_bytes) {
    JournalOptions o;
    o.dir = dir_.path();
    o.segment_bytes = segment_bytes;
    o.batch_max = 4;  // rotation happens between batches: keep segments near their size
    auto j = Journal::open(o, clock_);
    ASSERT_TRUE(j);
    // One at a time: each record is a batch of its own, so the batch a tail cut would take is
    // known.
    for (auto& r : numbered_records(n)) ASSERT_TRUE((*j)->append_and_wait(std::move(r)));
  }
  std::string segment_path() const { return dir_.file(segment_file_name(1)); }

  void expect_bad(std::uint64_t seq, const std::string& why) {
    auto report = verify(dir_.path());
    EXPECT_FALSE(report.ok);
    EXPECT_EQ(report.first_bad_seq, seq) << report.message;
    EXPECT_NE(report.message.find(why), std::string::npos) << report.message;
  }

  TempDir dir_;
  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
};

TEST_F(TamperTest, IntactJournalVerifies) {
  auto report = verify(dir_.path());
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.records, 10u);
  EXPECT_EQ(report.first_seq, 1u);
  EXPECT_EQ(report.last_seq, 10u);
}

TEST_F(TamperTest, BitFlipInARecord) {
  auto bytes = data_of(segment_path());
  const auto frames = frames_of(bytes);
  bytes[frames[4].offset + 40] ^= 0x04;  // inside seq 5's payload
  spit(segment_path(), bytes);
  expect_bad(5, "CRC");
}

TEST_F(TamperTest, BitFlipInAFrameHeader) {
  auto bytes = data_of(segment_path());
  const auto frames = frames_of(bytes);
  bytes[frames[6].offset + 8] ^= 0x01;  // the framed seq of record 7
  spit(segment_path(), bytes);
  expect_bad(7, "CRC");
}

TEST_F(TamperTest, TruncationInsideARecord) {
  auto bytes = data_of(segment_path());
  const auto frames = frames_of(bytes);
  spit(segment_path(), bytes.substr(0, frames[7].offset + frames[7].size / 2));
  expect_bad(8, "torn");
}

// What a reader can see while a running server writes a batch: the frame's first bytes, then
// the zeros the writer grew the file by. verify must wait for it, not report it.
TEST_F(TamperTest, AFrameBeingWrittenAtTheTailIsReadAgainNotReported) {
  const std::string whole = slurp(segment_path());
  const auto frames = frames_of(whole);
  std::string partial = whole;
  std::fill(partial.begin() + static_cast<std::ptrdiff_t>(frames[9].offset + 20), partial.end(),
            '\0');
  spit(segment_path(), partial);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    write_in_place(segment_path(), whole);
  });
  // A settle far beyond the writer's 100 ms: verify returns as soon as the frame is whole.
  auto report = verify(dir_.path(), VerifyOptions{std::chrono::seconds(30)});
  writer.join();
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.last_seq, 10u);
  // The same bytes left as they are (a crash's torn tail, or an edit) are damage.
  spit(segment_path(), partial);
  auto torn = verify(dir_.path(), VerifyOptions{std::chrono::milliseconds(100)});
  EXPECT_FALSE(torn.ok);
  EXPECT_EQ(torn.first_bad_seq, 10u) << torn.message;
  EXPECT_NE(torn.message.find("CRC"), std::string::npos) << torn.message;
}

TEST_F(TamperTest, AChainThatDoesNotStartAtTheGenesisIsDamage) {
  auto bytes = data_of(segment_path());
  auto header = decode_segment_header(bytes);
  ASSERT_TRUE(header);
  header->anchor = std::string(64, 'a');  // seq 1's prev must be 64 zeros
  spit(segment_path(), encode_segment_header(*header) + bytes.substr(kSegmentHeaderBytes));
  expect_bad(1, "does not start at the genesis");
}

TEST(TamperEmpty, AnIndexWithoutEntriesAndNoSegmentIsAnEmptyJournal) {
  // What a first open that could not create its first segment leaves behind.
  TempDir dir;
  FakeClock clock{*parse_utc("2026-11-22T03:00:00Z")};
  {
    JournalOptions o;
    o.dir = dir.path();
    ASSERT_TRUE(Journal::open(o, clock));
  }
  const auto segments = list_segments(dir.path());
  ASSERT_TRUE(segments);
  for (const auto& segment : *segments) std::filesystem::remove(segment.path);
  ASSERT_TRUE(std::filesystem::exists(dir.file("index.dat")));
  const auto report = verify(dir.path());
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_NE(report.message.find("empty journal"), std::string::npos) << report.message;
}

TEST_F(TamperTest, DeletedMiddleRecord) {
  auto bytes = data_of(segment_path());
  const auto frames = frames_of(bytes);
  bytes.erase(frames[4].offset, frames[4].size);
  spit(segment_path(), bytes);
  expect_bad(5, "found seq 6");
}

TEST_F(TamperTest, SwappedPair) {
  auto bytes = data_of(segment_path());
  const auto f = frames_of(bytes);
  const std::string a = bytes.substr(f[3].offset, f[3].size);
  const std::string b = bytes.substr(f[4].offset, f[4].size);
  bytes.replace(f[3].offset, a.size() + b.size(), b + a);
  spit(segment_path(), bytes);
  expect_bad(4, "found seq 5");
}

TEST_F(TamperTest, EditWithRecomputedCrcBreaksTheHash) {
  auto bytes = data_of(segment_path());
  const auto f = frames_of(bytes);
  auto record = *parse_json_line(f[5].payload);
  record.decision = "deny";
  bytes.replace(f[5].offset, f[5].size, frame_bytes(6, to_json_line(record)));
  spit(segment_path(), bytes);
  expect_bad(6, "hash does not match");
}

TEST_F(TamperTest, EditWithRecomputedHashBreaksTheNextPrev) {
  auto bytes = data_of(segment_path());
  const auto f = frames_of(bytes);
  auto record = *parse_json_line(f[5].payload);
  record.user = "mallory";
  record.hash = compute_hash(record);
  bytes.replace(f[5].offset, f[5].size, frame_bytes(6, to_json_line(record)));
  spit(segment_path(), bytes);
  expect_bad(7, "prev does not match");
}

TEST_F(TamperTest, RenumberedRecordsBreakTheHash) {
  // Delete record 5 and renumber the rest with valid CRCs: the chain still breaks at 5.
  auto bytes = data_of(segment_path());
  const auto f = frames_of(bytes);
  std::string rebuilt = bytes.substr(0, f[4].offset);
  for (std::size_t i = 5; i < f.size(); ++i) {
    auto record = *parse_json_line(f[i].payload);
    record.seq -= 1;
    rebuilt += frame_bytes(record.seq, to_json_line(record));
  }
  spit(segment_path(), rebuilt);
  expect_bad(5, "prev does not match");
}

TEST_F(TamperTest, NonCanonicalEditIsDetected) {
  auto bytes = data_of(segment_path());
  const auto f = frames_of(bytes);
  std::string payload = f[2].payload;
  payload.insert(1, " ");  // same JSON value, different bytes
  bytes.replace(f[2].offset, f[2].size, frame_bytes(3, payload));
  spit(segment_path(), bytes);
  expect_bad(3, "canonical");
}

// A number edited out of range (CRC recomputed) is reported with its seq; nothing throws, and
// the journal still opens (recovery and the index rebuild read every record too).
TEST_F(TamperTest, AnIntegerEditedOutOfRangeIsReportedWithItsSeq) {
  auto bytes = data_of(segment_path());
  const auto f = frames_of(bytes);
  std::string payload = f[3].payload;
  const std::string was = "\"latency_us\":180";
  const auto at = payload.find(was);
  ASSERT_NE(at, std::string::npos) << payload;
  payload.replace(at, was.size(), "\"latency_us\":18446744073709551615");
  bytes.replace(f[3].offset, f[3].size, frame_bytes(4, payload));
  spit(segment_path(), bytes);
  ASSERT_NO_THROW(expect_bad(4, "out of range"));
  std::filesystem::remove(dir_.file("index.dat"));  // the next open rebuilds it
  JournalOptions o;
  o.dir = dir_.path();
  ASSERT_NO_THROW({
    auto reopened = Journal::open(o, clock_);
    EXPECT_TRUE(reopened.ok()) << "recovery checks frames; the chain is verify's job";
  });
}

class SegmentTamperTest : public TamperTest {
 protected:
  void SetUp() override { write_records(120, 4096); }
};

TEST_F(SegmentTamperTest, DeletedMiddleSegment) {
  auto segments = *list_segments(dir_.path());
  ASSERT_GT(segments.size(), 3u);
  std::filesystem::remove(segments[1].path);
  expect_bad(segments[1].first_seq, "records missing");
}

TEST_F(SegmentTamperTest, ForgedAnchorInALaterSegment) {
  auto segments = *list_segments(dir_.path());
  auto bytes = slurp(segments[2].path);
  auto header = *decode_segment_header(bytes);
  header.anchor = std::string(64, 'f');
  bytes.replace(0, kSegmentHeaderBytes, encode_segment_header(header));
  spit(segments[2].path, bytes);
  expect_bad(segments[2].first_seq, "anchor");
}

TEST_F(SegmentTamperTest, ANewestSegmentBeingCreatedIsReadAgainNotReported) {
  // A rotation creates the file, then writes its header: a reader may find it empty.
  auto segments = *list_segments(dir_.path());
  const std::string newest = segments.back().path;
  const std::string whole = slurp(newest);
  spit(newest, "");
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    write_in_place(newest, whole);
  });
  auto report = verify(dir_.path(), VerifyOptions{std::chrono::seconds(30)});
  writer.join();
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.last_seq, 120u);
  // An older segment is never being written: an empty one is damage at once.
  spit(segments[1].path, "");
  expect_bad(segments[1].first_seq, "header");
}

// A running server with retention drops old segments and writes new ones while verify reads:
// every run must report an intact chain (from whatever oldest segment is left).
TEST(LiveJournalVerify, AJournalBeingWrittenAndTrimmedAlwaysVerifies) {
  BusyJournal busy;
  const auto checks = repeat_for(std::chrono::seconds(3), [&]() -> std::string {
    auto report = verify(busy.dir());
    return report.ok ? "" : report.message;
  });
  EXPECT_EQ(checks.failed, 0) << "of " << checks.runs << " runs; first: " << checks.first_failure;
  EXPECT_GT(checks.runs, 10);
}

TEST_F(SegmentTamperTest, DroppedOldSegmentsStillVerifyFromTheAnchor) {
  auto segments = *list_segments(dir_.path());
  std::filesystem::remove(segments[0].path);
  std::filesystem::remove(segments[1].path);
  auto report = verify(dir_.path());
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_EQ(report.first_seq, segments[2].first_seq);
  EXPECT_EQ(report.last_seq, 120u);
}

}  // namespace
}  // namespace castellan::journal
