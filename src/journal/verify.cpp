#include "journal/verify.hpp"

#include <filesystem>

#include "journal/file_io.hpp"
#include "journal/index.hpp"
#include "journal/live_tail.hpp"
#include "journal/record.hpp"
#include "journal/segment.hpp"

namespace castellan::journal {
namespace {

// A segment retention drops while it is being listed and read: start again at most this often.
constexpr int kMaxRestarts = 8;

// Walks the chain; stops at the first problem.
class ChainChecker {
 public:
  ChainChecker(std::string dir, VerifyOptions options) : dir_(std::move(dir)), options_(options) {}

  VerifyReport run() {
    // Read before the segments: an entry is added only after its record is synced, so every
    // seq listed now must be in the segments read next, even in a running journal's directory.
    const std::uint64_t indexed = highest_indexed_seq(dir_);
    auto segments = list_segments(dir_);
    if (!segments) {
      fail(0, segments.error().message);
      return report_;
    }
    if (segments->empty() && indexed > 0) {
      fail(1, "no segment files in " + dir_ + ", but its index.dat lists records up to seq " +
                  std::to_string(indexed) + ": the segments were removed");
      return report_;
    }
    if (segments->empty()) {
      report_.ok = true;
      report_.message = "no segments in " + dir_ + " (empty journal)";
      return report_;
    }
    for (std::size_t i = 0; i < segments->size(); ++i) {
      const SegmentFile& segment = (*segments)[i];
      auto bytes = read_to_end(segment.path);
      const bool checked = bytes ? check_segment(segment, *bytes, i == 0, i + 1 == segments->size())
                                 : fail(expected_seq_, bytes.error().message);
      if (checked) continue;
      if (restarts_ < kMaxRestarts && retired_by_retention(segment)) {
        // Everything up to this segment has been dropped since the listing: verify what is
        // left, from its oldest segment's anchor, as a later run would.
        ++restarts_;
        report_ = VerifyReport{};
        return run();
      }
      return report_;
    }
    if (indexed > report_.last_seq && indexed >= expected_seq_) {
      // Listed as written (so acknowledged), and not in the segments: lost from their end.
      fail(expected_seq_, "index.dat lists records up to seq " + std::to_string(indexed) +
                              ", but the segments end at seq " + std::to_string(expected_seq_ - 1) +
                              ": acknowledged records are missing (the newest segments removed "
                              "or cut short)");
      return report_;
    }
    if (report_.records == 0) {
      report_.first_seq = 0;
    }
    report_.ok = true;
    report_.message = "intact: " + std::to_string(report_.records) + " record(s), seq " +
                      std::to_string(report_.first_seq) + ".." + std::to_string(report_.last_seq) +
                      " in " + std::to_string(segments->size()) + " segment(s)";
    return report_;
  }

 private:
  // The segment is gone and every segment left starts after it: retention, which drops the
  // oldest first, not a file removed from the middle (which stays a gap in seq).
  bool retired_by_retention(const SegmentFile& segment) const {
    std::error_code ec;
    if (std::filesystem::exists(segment.path, ec) || ec) return false;
    auto now = list_segments(dir_);
    return now && (now->empty() || now->front().first_seq > segment.first_seq);
  }

  bool check_segment(const SegmentFile& segment, std::string& bytes, bool first, bool newest) {
    LiveTail tail(*options_.clock, options_.settle);
    // Whether what is wrong at `offset` may be a write in progress, now read again.
    auto settled = [&](std::uint64_t offset) {
      return newest && tail.reread(segment.path, offset, bytes);
    };
    auto header = decode_segment_header(bytes);
    while (!header && settled(0)) header = decode_segment_header(bytes);  // a new segment
    if (!header)
      return fail(first ? segment.first_seq : expected_seq_,
                  segment.name + ": " + header.error().message);
    if (header->first_seq != segment.first_seq) {
      return fail(segment.first_seq,
                  segment.name + ": header says first seq " + std::to_string(header->first_seq));
    }
    if (first && header->first_seq == 1 && header->anchor != std::string(64, '0')) {
      return fail(1, segment.name +
                         ": the chain does not start at the genesis (seq 1's prev "
                         "must be 64 zeros)");
    }
    if (first) {
      expected_seq_ = header->first_seq;
      expected_prev_ = header->anchor;
      report_.first_seq = expected_seq_;
    } else if (header->first_seq != expected_seq_) {
      return fail(expected_seq_, segment.name + " starts at seq " +
                                     std::to_string(header->first_seq) + ", expected " +
                                     std::to_string(expected_seq_) + " (records missing)");
    } else if (header->anchor != expected_prev_) {
      return fail(expected_seq_, segment.name + ": anchor does not match the hash of seq " +
                                     std::to_string(expected_seq_ - 1));
    }
    std::uint64_t offset = kSegmentHeaderBytes;
    // The newest segment's frames after its last batch-end mark (version 2) belong to a batch
    // not wholly written: still being copied in, or torn by a crash (the next start cuts it).
    const bool marks_batches = newest && header->version >= 2;
    std::uint64_t unmarked_from = 0;  // seq of the first frame after the last mark, 0 if none
    for (;;) {
      const FrameRead frame = read_frame(bytes, offset);
      if (frame.status == FrameStatus::end && unmarked_from != 0 && settled(offset)) continue;
      if (frame.status == FrameStatus::end && unmarked_from != 0) {
        report_.records -= report_.last_seq - unmarked_from + 1;  // not intact after all
        report_.last_seq = unmarked_from - 1;
        return fail(unmarked_from, segment.name + ": the last batch, from seq " +
                                       std::to_string(unmarked_from) +
                                       ", has no end mark (a torn write, never acknowledged: "
                                       "the next start cuts it)");
      }
      if (frame.status == FrameStatus::end) return true;
      const std::string where = segment.name + " offset " + std::to_string(offset) + ": ";
      if (frame.status != FrameStatus::ok) {
        if (settled(offset)) continue;  // perhaps a batch that was being written
        if (unmarked_from != 0 && !scan_intact_after(bytes, offset, report_.last_seq).later_batch) {
          // A torn last batch (no complete batch after it): never acknowledged, and the next
          // start cuts all of it, so none of its frames counts as intact.
          report_.records -= report_.last_seq - unmarked_from + 1;
          report_.last_seq = unmarked_from - 1;
          return fail(unmarked_from, where + std::string(frame_status_name(frame.status)) +
                                         " in the last batch, from seq " +
                                         std::to_string(unmarked_from) +
                                         " (a torn write, never acknowledged: the next start "
                                         "cuts it)");
        }
        return fail(expected_seq_, where + std::string(frame_status_name(frame.status)));
      }
      if (frame.seq != expected_seq_) {
        return fail(expected_seq_, where + "found seq " + std::to_string(frame.seq) +
                                       " (record missing or out of order)");
      }
      auto record = parse_json_line(frame.payload);
      if (!record) return fail(expected_seq_, where + record.error().message);
      if (record->seq != frame.seq) return fail(expected_seq_, where + "seq differs from frame");
      if (to_json_line(*record) != frame.payload) {
        return fail(expected_seq_, where + "record is not in canonical form (edited)");
      }
      if (record->prev != expected_prev_) {
        return fail(expected_seq_, where + "prev does not match the hash of the record before");
      }
      if (compute_hash(*record) != record->hash) {
        return fail(expected_seq_, where + "hash does not match the record's content");
      }
      expected_prev_ = record->hash;
      report_.last_seq = expected_seq_;
      ++expected_seq_;
      ++report_.records;
      offset = frame.next_offset;
      if (marks_batches && frame.batch_end) {
        unmarked_from = 0;
      } else if (marks_batches && unmarked_from == 0) {
        unmarked_from = frame.seq;
      }
    }
  }

  bool fail(std::uint64_t seq, std::string message) {
    report_.ok = false;
    report_.first_bad_seq = seq;
    report_.message = "seq " + std::to_string(seq) + ": " + std::move(message);
    return false;
  }

  const std::string dir_;
  const VerifyOptions options_;
  int restarts_ = 0;
  VerifyReport report_;
  std::uint64_t expected_seq_ = 0;
  std::string expected_prev_;
};

}  // namespace

VerifyReport verify(const std::string& dir, VerifyOptions options) {
  return ChainChecker(dir, options).run();
}

}  // namespace castellan::journal
