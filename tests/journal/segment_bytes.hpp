// Reading and rewriting raw segment files, for the tamper and recovery tests.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "journal/segment.hpp"

namespace castellan::journal::testing {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Writes `bytes` over the file from its start without truncating it first, as the journal's
// writer copies a batch in: a concurrent reader never sees the file shorter than before (with
// spit(), it could find it cut at a frame boundary and take that for the end).
inline void write_in_place(const std::string& path, const std::string& bytes) {
  std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

struct FrameSpan {
  std::uint64_t seq;
  std::size_t offset;
  std::size_t size;  // whole frame
  std::string payload;
};

inline std::vector<FrameSpan> frames_of(const std::string& bytes) {
  std::vector<FrameSpan> out;
  std::uint64_t offset = kSegmentHeaderBytes;
  for (;;) {
    auto f = read_frame(bytes, offset);
    if (f.status != FrameStatus::ok) break;
    out.push_back({f.seq, static_cast<std::size_t>(offset),
                   static_cast<std::size_t>(f.next_offset - offset), std::string(f.payload)});
    offset = f.next_offset;
  }
  return out;
}

// The segment's bytes up to the end of its last intact frame (without the zeros the writer
// grows the file by).
inline std::string data_of(const std::string& path) {
  std::string bytes = slurp(path);
  auto frames = frames_of(bytes);
  bytes.resize(frames.empty() ? kSegmentHeaderBytes : frames.back().offset + frames.back().size);
  return bytes;
}

inline std::string frame_bytes(std::uint64_t seq, const std::string& payload,
                               bool batch_end = false) {
  std::string out;
  append_frame(out, seq, payload, batch_end);
  return out;
}

}  // namespace castellan::journal::testing
