#include "journal/export.hpp"

#include "journal/file_io.hpp"
#include "journal/record.hpp"
#include "journal/segment.hpp"

namespace castellan::journal {

Result<std::uint64_t> export_jsonl(const std::string& dir, const ExportOptions& options,
                                   std::ostream& out) {
  auto segments = list_segments(dir);
  if (!segments) return segments.error();
  std::uint64_t lines = 0;
  for (const auto& segment : *segments) {
    auto bytes = read_whole_file(segment.path);
    if (!bytes) return bytes.error();
    if (!decode_segment_header(*bytes)) return lines;
    std::uint64_t offset = kSegmentHeaderBytes;
    FrameRead frame;
    for (;;) {
      frame = read_frame(*bytes, offset);
      if (frame.status != FrameStatus::ok) break;
      offset = frame.next_offset;
      auto record = parse_json_line(frame.payload);
      if (!record) return lines;
      if (options.from && record->ts < *options.from) continue;
      if (options.to && record->ts > *options.to) continue;
      out << frame.payload << '\n';
      ++lines;
    }
    // Damaged: nothing after it is trustworthy.
    if (frame.status != FrameStatus::end) return lines;
  }
  return lines;
}

}  // namespace castellan::journal
