#include "journal/verify.hpp"

#include "journal/file_io.hpp"
#include "journal/record.hpp"
#include "journal/segment.hpp"

namespace castellan::journal {
namespace {

// Walks the chain; stops at the first problem.
class ChainChecker {
 public:
  VerifyReport run(const std::string& dir) {
    auto segments = list_segments(dir);
    if (!segments) {
      fail(0, segments.error().message);
      return report_;
    }
    if (segments->empty()) {
      report_.ok = true;
      report_.message = "no segments in " + dir + " (empty journal)";
      return report_;
    }
    for (std::size_t i = 0; i < segments->size(); ++i) {
      if (!check_segment((*segments)[i], i == 0)) return report_;
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
  bool check_segment(const SegmentFile& segment, bool first) {
    auto bytes = read_whole_file(segment.path);
    if (!bytes) return fail(expected_seq_, bytes.error().message);
    auto header = decode_segment_header(*bytes);
    if (!header)
      return fail(first ? segment.first_seq : expected_seq_,
                  segment.name + ": " + header.error().message);
    if (header->first_seq != segment.first_seq) {
      return fail(segment.first_seq,
                  segment.name + ": header says first seq " + std::to_string(header->first_seq));
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
    for (;;) {
      const FrameRead frame = read_frame(*bytes, offset);
      if (frame.status == FrameStatus::end) return true;
      const std::string where = segment.name + " offset " + std::to_string(offset) + ": ";
      if (frame.status != FrameStatus::ok) {
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
    }
  }

  bool fail(std::uint64_t seq, std::string message) {
    report_.ok = false;
    report_.first_bad_seq = seq;
    report_.message = "seq " + std::to_string(seq) + ": " + std::move(message);
    return false;
  }

  VerifyReport report_;
  std::uint64_t expected_seq_ = 0;
  std::string expected_prev_;
};

}  // namespace

VerifyReport verify(const std::string& dir) {
  return ChainChecker().run(dir);
}

}  // namespace castellan::journal
