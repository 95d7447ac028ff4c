// The journal segment the two segment harnesses read, made from a fuzz input: a valid header
// (first seq 1, the genesis anchor) followed by the input's bytes after its first one. A fuzzer
// could hardly keep a header's CRC right; the frames behind it are where the damage is read.
//
// The first byte holds flags:
//   bit 0  a version 1 header (frames without batch-end marks) instead of version 2
//   bit 1  the frames' CRCs are recomputed for as long as their lengths chain through the bytes,
//          so that a mutated payload gets past its CRC to the record checks behind it
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "journal/crc32c.hpp"
#include "journal/record.hpp"
#include "journal/segment.hpp"

namespace castellan::fuzz {

inline constexpr std::uint8_t kVersion1Flag = 1;
inline constexpr std::uint8_t kResealFlag = 2;

inline void reseal_frames(std::string& segment) {
  using namespace castellan::journal;
  std::size_t at = kSegmentHeaderBytes;
  while (at + kFrameHeaderBytes <= segment.size()) {
    std::uint32_t field = 0;
    for (int i = 3; i >= 0; --i) field = (field << 8) | static_cast<unsigned char>(segment[at + i]);
    const std::uint32_t len = payload_length(field);
    if (len == 0 || len > kMaxPayloadBytes || at + kFrameHeaderBytes + len > segment.size()) {
      return;
    }
    const std::uint32_t crc = crc32c(std::string_view(segment).substr(at + 8, 8 + len));
    for (int i = 0; i < 4; ++i) segment[at + 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
    at += kFrameHeaderBytes + len;
  }
}

inline std::string segment_from_input(const std::uint8_t* data, std::size_t size) {
  using namespace castellan::journal;
  const std::uint8_t flags = size > 0 ? data[0] : 0;
  SegmentHeader header;
  header.first_seq = 1;
  header.anchor = genesis_hash();
  header.created_unix_ms = 1'764'547'200'000;  // 2025-12-01
  header.version = (flags & kVersion1Flag) != 0 ? 1 : 2;
  std::string segment = encode_segment_header(header);
  if (size > 1) segment.append(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((flags & kResealFlag) != 0) reseal_frames(segment);
  return segment;
}

}  // namespace castellan::fuzz
