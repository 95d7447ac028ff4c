#include "journal/export.hpp"

#include <fcntl.h>

#include <filesystem>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "journal/file_io.hpp"
#include "journal/live_tail.hpp"
#include "journal/record.hpp"
#include "journal/segment.hpp"

namespace castellan::journal {

namespace {

Error damaged(const SegmentFile& segment, std::uint64_t offset, std::uint64_t last_seq,
              std::string_view what) {
  return make_error(Code::ERR_UNAVAILABLE,
                    fmt::format("{} in segment {} at offset {} (after seq {}); the export stops "
                                "there: run `castellan journal verify`",
                                what, segment.path, offset, last_seq));
}

// Every listed segment, opened. A segment that retention (oldest first) drops between the
// listing and its opening makes it list and open again: the files opened then hold all that
// is left, without a gap.
Result<std::vector<Fd>> open_segments(const std::string& dir, std::vector<SegmentFile>& segments) {
  for (int attempt = 0;; ++attempt) {
    auto listed = list_segments(dir);
    if (!listed) return listed.error();
    segments = std::move(*listed);
    std::vector<Fd> files;
    files.reserve(segments.size());
    std::optional<Error> failed;
    for (const SegmentFile& segment : segments) {
      auto fd = open_file(segment.path, O_RDONLY);
      if (!fd) {
        failed = fd.error();
        break;
      }
      files.push_back(std::move(*fd));
    }
    if (!failed) return files;
    std::error_code ec;
    if (attempt == 8 || std::filesystem::exists(segments[files.size()].path, ec) || ec) {
      return *failed;
    }
  }
}

}  // namespace

Result<std::uint64_t> export_jsonl(const std::string& dir, const ExportOptions& options,
                                   std::ostream& out) {
  // Every segment is opened before any is read: a running server's retention may delete one
  // while an earlier one is exported, and an open file is still read whole.
  std::vector<SegmentFile> segments;
  auto files = open_segments(dir, segments);
  if (!files) return files.error();
  std::uint64_t lines = 0;
  std::uint64_t last_seq = 0;
  for (std::size_t s = 0; s < segments.size(); ++s) {
    const SegmentFile& segment = segments[s];
    const bool newest = s + 1 == segments.size();
    auto bytes = read_to_end((*files)[s], segment.path);
    if (!bytes) return bytes.error();
    LiveTail tail(*options.clock, options.settle);
    auto header = decode_segment_header(*bytes);
    while (!header && newest && tail.reread(segment.path, 0, *bytes)) {
      header = decode_segment_header(*bytes);  // a segment being created
    }
    // Created and never given its header (a crash then): it holds no record.
    if (!header && newest && bytes->size() < kSegmentHeaderBytes) break;
    if (!header) return damaged(segment, 0, last_seq, "a bad header");
    // Seqs run on without a gap from the first segment kept (retention drops the oldest).
    if (last_seq != 0 && header->first_seq != last_seq + 1) {
      return damaged(segment, 0, last_seq,
                     "a gap: the segment starts at seq " + std::to_string(header->first_seq));
    }
    std::uint64_t expected_seq = header->first_seq;
    // The newest segment's frames after its last batch-end mark (version 2) belong to a batch
    // not wholly written (being copied in, or torn by a crash): held back until their mark.
    const bool marks_batches = newest && header->version >= 2;
    std::string held;
    std::uint64_t held_lines = 0;
    auto write_held = [&] {
      out << held;
      lines += held_lines;
      held.clear();
      held_lines = 0;
    };
    std::uint64_t offset = kSegmentHeaderBytes;
    FrameRead frame;
    for (;;) {
      frame = read_frame(*bytes, offset);
      if (frame.status == FrameStatus::end && held_lines != 0 &&
          tail.reread(segment.path, offset, *bytes)) {
        continue;  // a batch still being written: wait for its mark
      }
      if (frame.status == FrameStatus::end) break;
      // At the newest segment's end, perhaps a batch that was being written: look again.
      if (frame.status != FrameStatus::ok && newest && tail.reread(segment.path, offset, *bytes))
        continue;
      if (frame.status != FrameStatus::ok) break;
      auto record = parse_json_line(frame.payload);
      if (!record) {
        write_held();  // the intact lines before the damage, as for any damage
        return damaged(segment, offset, last_seq, "a record that cannot be read");
      }
      if (frame.seq != expected_seq || record->seq != frame.seq) {
        write_held();  // as for any damage
        return damaged(segment, offset, last_seq,
                       "seq " + std::to_string(record->seq) + " where seq " +
                           std::to_string(expected_seq) + " belongs (a record missing or moved)");
      }
      ++expected_seq;
      offset = frame.next_offset;
      last_seq = record->seq;
      const bool wanted = !(options.from && record->ts < *options.from) &&
                          !(options.to && record->ts > *options.to);
      if (wanted) {
        held.append(frame.payload).push_back('\n');
        ++held_lines;
      }
      if (!marks_batches || frame.batch_end) write_held();
    }
    if (frame.status == FrameStatus::end) continue;
    // A torn tail of the last segment holds records that were never acknowledged: a live
    // journal's batch in flight, or what recovery cuts at the next start. As in recovery, only
    // a complete batch after the damage (version 2; any intact record in version 1) shows it
    // to be in acknowledged records; otherwise the held lines of the torn batch are left out.
    // The seq before the damage: the last one read, or the segment's own start when its first
    // frame is the damaged one (retention may have left it first: last_seq is still 0 then).
    const std::uint64_t before =
        segment.first_seq > 0 ? std::max(last_seq, segment.first_seq - 1) : last_seq;
    const IntactAfter after = scan_intact_after(*bytes, offset, before);
    const bool torn_tail =
        newest && (header->version >= 2 ? !after.later_batch : after.last_seq == 0);
    if (!torn_tail) {
      write_held();  // a later batch was written, so this one had been acknowledged
      return damaged(segment, offset, last_seq, "damage");
    }
  }
  return lines;
}

}  // namespace castellan::journal
