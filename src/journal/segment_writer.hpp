// SegmentWriter: the journal's one open segment file, written only by the flusher thread.
//
// write_and_sync() writes a whole batch at the current end with pwrite and makes it durable
// with one fdatasync. If either fails, the file is cut back to its last durable size so no
// partial batch stays behind, and the error is returned; the next batch simply tries again.
// If even the cut fails, the writer is `broken` and refuses further writes (a restart
// recovers the file).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "journal/file_io.hpp"
#include "journal/segment.hpp"

namespace castellan::journal {

class SegmentWriter {
 public:
  SegmentWriter() = default;

  // Continues an existing segment whose intact data ends at `size`.
  static Result<SegmentWriter> open_existing(const SegmentFile& segment, std::uint64_t size);
  // Creates DIR/seg-<first_seq>.cjl with its header, fdatasyncs it and fsyncs the directory.
  static Result<SegmentWriter> create(const std::string& dir, const SegmentHeader& header);

  Result<void> write_and_sync(std::string_view bytes);

  bool is_open() const { return fd_.valid(); }
  bool broken() const { return broken_; }
  bool has_records() const { return size_ > kSegmentHeaderBytes; }
  std::uint64_t size() const { return size_; }
  std::uint64_t first_seq() const { return first_seq_; }
  const std::string& path() const { return path_; }

 private:
  Fd fd_;
  std::string path_;
  std::uint64_t first_seq_ = 0;
  std::uint64_t size_ = 0;  // durable size
  bool broken_ = false;
};

}  // namespace castellan::journal
