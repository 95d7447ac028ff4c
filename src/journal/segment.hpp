// On-disk layout of journal segments.
//
// A journal directory holds segment files "seg-<first seq, 20 digits>.cjl". Each starts with
// a 64-byte header, then frames back to back. All integers are little-endian.
//
//   header: "CSTLJNL1" | u32 version (2; 1 is still read) | u64 first_seq | 32 bytes anchor
//           (the SHA-256 the first record's prev must equal; zeros at the genesis)
//           | i64 created (Unix ms) | u32 CRC32C of the preceding 60 bytes
//   frame:  u32 payload length (bit 31 set on the last frame of a write batch) |
//           u32 CRC32C(seq bytes + payload) | u64 seq | payload
//
// The batch-end bit lets recovery tell a torn last batch from damage to synced records: the
// writer writes a batch only after the previous one's fdatasync returned, so a power cut can
// scramble only the last batch (its pages may reach the disk in any order, leaving intact
// frames after a damaged one). Damage followed by a complete later batch is not a torn tail.
//
// The payload is the record's export line (record.hpp), so what is hashed is what is stored.
// The writer grows a segment with zeros ahead of its data; a frame length of 0 followed only
// by zeros up to the end of the file is the clean end of the data.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace castellan::journal {

inline constexpr std::size_t kSegmentHeaderBytes = 64;
inline constexpr std::size_t kFrameHeaderBytes = 16;
inline constexpr std::uint32_t kMaxPayloadBytes = 1U << 20;
inline constexpr std::uint32_t kBatchEndFlag = 1U << 31;

// The payload length of a frame's first header field (without the batch-end bit).
inline std::uint32_t payload_length(std::uint32_t length_field) {
  return length_field & ~kBatchEndFlag;
}

struct SegmentHeader {
  std::uint64_t first_seq = 1;
  std::string anchor;  // hex SHA-256 (64 chars)
  std::int64_t created_unix_ms = 0;
  std::uint32_t version = 2;  // 1: written before frames carried the batch-end bit
};

std::string encode_segment_header(const SegmentHeader& header);
// 40001 with the reason when the bytes are not a valid header.
Result<SegmentHeader> decode_segment_header(std::string_view bytes);

std::string segment_file_name(std::uint64_t first_seq);
std::optional<std::uint64_t> parse_segment_file_name(std::string_view name);

struct SegmentFile {
  std::string path;
  std::string name;
  std::uint64_t first_seq = 0;  // from the file name
  std::uint64_t size = 0;
};

// Segment files of `dir`, ordered by first seq. 50301 if the directory cannot be read.
Result<std::vector<SegmentFile>> list_segments(const std::string& dir);

// Appends one frame to `out`; `batch_end` marks the last frame of a write batch.
void append_frame(std::string& out, std::uint64_t seq, std::string_view payload,
                  bool batch_end = false);
// Sets the batch-end mark of the frame at `frame_offset` in `frames` (the mark is outside the
// CRC, so a frame can be sealed before the writer knows it ends a batch).
void mark_batch_end(std::string& frames, std::size_t frame_offset);

enum class FrameStatus {
  ok,
  end,         // clean end of data (end of file, or only zeros up to it)
  torn,        // a frame that runs past the end of the data
  bad_length,  // a length of 0 or above kMaxPayloadBytes
  bad_crc,
};

struct FrameRead {
  FrameStatus status = FrameStatus::end;
  std::uint64_t offset = 0;       // where the frame starts
  std::uint64_t next_offset = 0;  // where the next frame starts (status ok)
  std::uint64_t seq = 0;          // as framed (trustworthy only when ok)
  std::string_view payload;       // status ok
  bool batch_end = false;         // status ok: the last frame of its write batch
};

// Reads the frame at `offset` of a whole segment's bytes.
FrameRead read_frame(std::string_view segment, std::uint64_t offset);

// Reads the frame that starts at `offset` of an open segment file: its header, then as many
// payload bytes as the header says; empty when the header holds no plausible length. Check
// the bytes with read_frame(bytes, 0).
Result<std::string> pread_frame(int fd, std::uint64_t offset, const std::string& path);

// What follows damage at `offset`: the intact frames with seq > `after_seq` that start
// anywhere past it. `after_seq` must be the seq just before the damaged frame (the last intact
// one, or the segment's first seq - 1): a frame whose seq could not lie where it starts is
// skipped without its CRC. `last_seq` tells a torn tail (nothing intact follows) from damage with
// intact records after it. `later_batch`: a batch-end frame among them has a further intact
// frame after it, so a whole write batch followed; a batch is written only once the one
// before is synced, so damage before that is not a torn tail (version 2).
struct IntactAfter {
  std::uint64_t last_seq = 0;  // 0: none
  bool later_batch = false;
};
IntactAfter scan_intact_after(std::string_view segment, std::uint64_t offset,
                              std::uint64_t after_seq);

std::string_view frame_status_name(FrameStatus status);

// 32 raw bytes <-> 64 hex chars.
std::string hex_to_raw32(std::string_view hex);

}  // namespace castellan::journal
