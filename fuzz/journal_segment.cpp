// Fuzzes the reading of journal segment bytes that recovery and `castellan journal verify`
// share (segment.hpp): read_frame() walking the frames from the header on and, at the first
// frame that is not intact, scan_intact_after() looking for intact frames behind the damage.
// All in memory; journal_directory.cpp runs recovery and verify themselves on a segment file.
// The input is the segment after its header (segment_input.hpp).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "journal/record.hpp"
#include "journal/segment.hpp"
#include "segment_input.hpp"

using namespace castellan::journal;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string segment = castellan::fuzz::segment_from_input(data, size);
  const auto header = decode_segment_header(segment);
  FUZZ_CHECK(header.ok(), "the header made for the input decodes");

  // The walk of recover_journal() and of verify's chain check.
  std::uint64_t offset = kSegmentHeaderBytes;
  std::uint64_t last_seq = header->first_seq - 1;
  FrameRead frame;
  for (;;) {
    frame = read_frame(segment, offset);
    FUZZ_CHECK(frame.offset == offset, "a frame is read where it was asked for");
    if (frame.status != FrameStatus::ok) break;
    FUZZ_CHECK(!frame.payload.empty() && frame.payload.size() <= kMaxPayloadBytes,
               "an intact frame's payload has a valid length");
    FUZZ_CHECK(frame.payload.data() == segment.data() + offset + kFrameHeaderBytes,
               "an intact frame's payload follows its header");
    FUZZ_CHECK(frame.next_offset == offset + kFrameHeaderBytes + frame.payload.size() &&
                   frame.next_offset <= segment.size(),
               "an intact frame ends within the segment, where the next one starts");
    (void)parse_json_line(frame.payload);
    last_seq = frame.seq;
    offset = frame.next_offset;
  }
  if (frame.status == FrameStatus::end) {
    FUZZ_CHECK(segment.find_first_not_of('\0', offset) == std::string::npos,
               "the clean end of the data has only zeros after it");
    return 0;
  }

  // Damage at `offset`: what recovery asks to tell a torn tail from damaged synced records.
  const IntactAfter after = scan_intact_after(segment, offset, last_seq);
  FUZZ_CHECK(after.last_seq == 0 || after.last_seq > last_seq,
             "frames found after the damage come after the last intact one");
  FUZZ_CHECK(!after.later_batch || after.last_seq != 0, "a later batch has intact frames");
  if (after.last_seq != 0 && segment.size() <= 4096) {
    // Small enough to look at every offset: the frame it reports is there.
    bool found = false;
    for (std::uint64_t at = offset + 1; at < segment.size() && !found; ++at) {
      const FrameRead f = read_frame(segment, at);
      found = f.status == FrameStatus::ok && f.seq == after.last_seq;
    }
    FUZZ_CHECK(found, "the last intact seq found after the damage is an intact frame there");
  }
  return 0;
}
