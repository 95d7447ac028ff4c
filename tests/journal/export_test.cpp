#include "journal/export.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <sstream>
#include <thread>

#include "core/clock.hpp"
#include "journal/journal.hpp"
#include "segment_bytes.hpp"
#include "test_support.hpp"

namespace castellan::journal {
namespace {

using namespace castellan::journal::testing;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    JournalOptions o;
    o.dir = dir_.path();
    o.segment_bytes = 4096;
    o.batch_max = 4;
    auto j = Journal::open(o, clock_);
    ASSERT_TRUE(j);
    std::vector<JournalRecord> records;
    for (int i = 0; i < 30; ++i) {
      auto r = decision_record("d1", numbered("u", i), "grant");
      r.ts = start_ + std::chrono::minutes(i);
      records.push_back(r);
    }
    written_ = append_all(**j, records);
  }

  TempDir dir_;
  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  TimePoint start_ = *parse_utc("2026-11-22T08:00:00.250Z");
  std::vector<JournalRecord> written_;
};

TEST_F(ExportTest, OneLinePerRecordExactlyAsWritten) {
  std::ostringstream out;
  auto n = export_jsonl(dir_.path(), {}, out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 30u);
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 30u);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], to_json_line(written_[i]));
    auto parsed = parse_json_line(lines[i]);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->hash, compute_hash(*parsed));
  }
  EXPECT_EQ(
      lines[0].rfind("{\"seq\":1,\"ts\":\"2026-11-22T08:00:00.250Z\",\"kind\":\"decision\",", 0),
      0u);
}

TEST_F(ExportTest, FromAndToAreInclusive) {
  std::ostringstream out;
  ExportOptions options{start_ + std::chrono::minutes(5), start_ + std::chrono::minutes(7)};
  ASSERT_TRUE(export_jsonl(dir_.path(), options, out));
  auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], to_json_line(written_[5]));
  EXPECT_EQ(lines[2], to_json_line(written_[7]));
}

TEST_F(ExportTest, StopsAtATornTail) {
  auto segments = *list_segments(dir_.path());
  const auto& last = segments.back();
  spit(last.path, data_of(last.path) + "\x05\x00\x00\x00garbage");
  std::ostringstream out;
  auto n = export_jsonl(dir_.path(), {}, out);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 30u);
}

// Damage with intact records after it is not a torn tail: the export says where it stopped
// and fails, after the lines before it, instead of ending quietly as if the journal ended there.
TEST_F(ExportTest, DamageBeforeTheEndFailsNamingWhereItStopped) {
  auto segments = *list_segments(dir_.path());
  ASSERT_GE(segments.size(), 3u);
  const auto& second = segments[1];
  std::string bytes = slurp(second.path);
  const auto frames = frames_of(bytes);
  ASSERT_GE(frames.size(), 2u);
  bytes[frames[1].offset + frames[1].size / 2] ^= 0x01;  // a bit flip in its second record
  spit(second.path, bytes);

  std::ostringstream out;
  auto n = export_jsonl(dir_.path(), {}, out);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_NE(n.error().message.find(second.path), std::string::npos) << n.error().message;
  EXPECT_NE(n.error().message.find("after seq " + std::to_string(frames[0].seq)), std::string::npos)
      << n.error().message;
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), frames[0].seq) << "every record before the damage was exported";
  EXPECT_EQ(lines.back(), to_json_line(written_[frames[0].seq - 1]));
}

// Retention has left one segment, and its first record is damaged while later batches are
// intact: those were acknowledged, so the export fails at the damage instead of ending as if
// the tail were torn. (Nothing was read before the damage, so the scan that looks past it must
// start from the segment's own first seq, not from 0.)
TEST(ExportAfterRetention, DamageInTheFirstRecordOfTheOnlySegmentLeftFailsTheExport) {
  TempDir dir;
  FakeClock clock{*parse_utc("2026-11-22T03:00:00Z")};
  {
    JournalOptions o;
    o.dir = dir.path();
    o.segment_bytes = 4096;
    o.batch_max = 2;
    auto j = Journal::open(o, clock);
    ASSERT_TRUE(j);
    // Seqs well above the bytes of a segment, and a newest segment of a few batches.
    for (int i = 0; i < 400; i += 2) {
      append_all(**j, {decision_record("d1", numbered("u", i), "grant"),
                       decision_record("d1", numbered("u", i + 1), "grant")});
      if (i < 200) continue;
      const auto now = *list_segments(dir.path());
      if (frames_of(slurp(now.back().path)).size() >= 5) break;
    }
  }
  auto segments = *list_segments(dir.path());
  ASSERT_GE(segments.size(), 2u);
  for (std::size_t i = 0; i + 1 < segments.size(); ++i) std::filesystem::remove(segments[i].path);
  const auto& last = segments.back();
  ASSERT_GT(last.first_seq, 100u);
  std::string bytes = slurp(last.path);
  const auto frames = frames_of(bytes);
  ASSERT_GE(frames.size(), 4u) << "batches of 2 after the first";
  bytes[frames[0].offset + frames[0].size / 2] ^= 0x01;
  spit(last.path, bytes);

  std::ostringstream out;
  auto n = export_jsonl(dir.path(), {}, out);
  ASSERT_FALSE(n) << "exported " << *n << " line(s) as if the tail were torn";
  EXPECT_NE(n.error().message.find(last.path), std::string::npos) << n.error().message;
}

// A record or a whole segment missing from the middle, or two records swapped: the lines
// would not be the journal in seq order, so the export fails at the gap.
TEST_F(ExportTest, AGapOrASwapInTheSeqsFailsTheExport) {
  auto segments = *list_segments(dir_.path());
  ASSERT_GE(segments.size(), 3u);
  const std::string first = slurp(segments[0].path);
  const auto frames = frames_of(first);
  ASSERT_GE(frames.size(), 3u);
  struct Damage {
    std::string bytes;
    std::string what;
  };
  std::string without_second = first;
  without_second.erase(frames[1].offset, frames[1].size);
  std::string swapped = first.substr(0, frames[1].offset) +
                        first.substr(frames[2].offset, frames[2].size) +
                        first.substr(frames[1].offset, frames[1].size) +
                        first.substr(frames[2].offset + frames[2].size);
  for (const auto& [bytes, what] : {Damage{without_second, "seq 3 where seq 2 belongs"},
                                    Damage{swapped, "seq 3 where seq 2 belongs"}}) {
    spit(segments[0].path, bytes);
    std::ostringstream out;
    auto n = export_jsonl(dir_.path(), {}, out);
    ASSERT_FALSE(n) << what;
    EXPECT_NE(n.error().message.find(what), std::string::npos) << n.error().message;
    EXPECT_EQ(lines_of(out.str()).size(), 1u) << "seq 1 only";
  }
  spit(segments[0].path, first);
  std::filesystem::remove(segments[1].path);
  std::ostringstream out;
  auto n = export_jsonl(dir_.path(), {}, out);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("a gap: the segment starts at seq " +
                                   std::to_string(segments[2].first_seq)),
            std::string::npos)
      << n.error().message;
  EXPECT_EQ(lines_of(out.str()).size(), segments[1].first_seq - 1);
}

TEST_F(ExportTest, ASegmentWithABadHeaderFails) {
  auto segments = *list_segments(dir_.path());
  std::string bytes = slurp(segments[0].path);
  bytes[0] ^= 0xff;
  spit(segments[0].path, bytes);
  std::ostringstream out;
  auto n = export_jsonl(dir_.path(), {}, out);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("a bad header in segment " + segments[0].path),
            std::string::npos)
      << n.error().message;
  EXPECT_TRUE(out.str().empty());
}

TEST_F(ExportTest, ABatchBeingWrittenAtTheTailIsReadAgain) {
  // What a reader can meet while a running server writes a batch: the end of one frame copied
  // in, the start of it still zeros, an intact frame after it. Not damage, and nothing lost.
  auto segments = *list_segments(dir_.path());
  const std::string path = segments.back().path;
  const std::string whole = slurp(path);
  const auto frames = frames_of(whole);
  ASSERT_GE(frames.size(), 2u);
  std::string partial = whole;
  const auto& half = frames[frames.size() - 2];
  std::fill_n(partial.begin() + static_cast<std::ptrdiff_t>(half.offset), half.size / 2, '\0');
  spit(path, partial);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    write_in_place(path, whole);
  });
  std::ostringstream out;
  ExportOptions options;
  options.settle = std::chrono::seconds(30);  // returns as soon as the batch is whole
  auto n = export_jsonl(dir_.path(), options, out);
  writer.join();
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 30u);
}

TEST_F(ExportTest, ANewestSegmentWithoutItsHeaderYetEndsQuietly) {
  // A running server creates a segment, then writes its header: it holds no record yet.
  auto segments = *list_segments(dir_.path());
  spit(dir_.file(segment_file_name(31)), "");
  std::ostringstream out;
  auto n = export_jsonl(dir_.path(), {}, out);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 30u);
  // Not the newest: the same empty file is damage.
  spit(segments.back().path, "");
  n = export_jsonl(dir_.path(), {}, out);
  ASSERT_FALSE(n);
  EXPECT_NE(n.error().message.find("a bad header"), std::string::npos) << n.error().message;
}

// A running server with retention drops old segments and writes new ones while export reads:
// every run must succeed with a gapless run of records.
TEST(LiveJournalExport, AJournalBeingWrittenAndTrimmedAlwaysExports) {
  BusyJournal busy;
  const auto checks = repeat_for(std::chrono::seconds(3), [&]() -> std::string {
    std::ostringstream out;
    auto n = export_jsonl(busy.dir(), {}, out);
    if (!n) return n.error().message;
    std::uint64_t expected = 0;
    for (const auto& line : lines_of(out.str())) {
      auto r = parse_json_line(line);
      if (!r || (expected != 0 && r->seq != expected)) return "gap or bad line before " + line;
      expected = r->seq + 1;
    }
    return "";
  });
  EXPECT_EQ(checks.failed, 0) << "of " << checks.runs << " runs; first: " << checks.first_failure;
  EXPECT_GT(checks.runs, 10);
}

TEST_F(ExportTest, MissingDirectoryIsAnError) {
  std::ostringstream out;
  auto n = export_jsonl(dir_.file("nope"), {}, out);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code, Code::ERR_UNAVAILABLE);
}

}  // namespace
}  // namespace castellan::journal
