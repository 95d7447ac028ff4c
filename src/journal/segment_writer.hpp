// SegmentWriter: the journal's one open segment file, written only by its syncer thread.
//
// write_and_sync() writes a whole batch at the end of the data with pwrite and makes it
// durable with one fdatasync. The file is grown with zeros 1 MiB ahead of the data (a zero
// frame length followed only by zeros is a clean end of a segment, see segment.hpp). If either
// fails, the file is cut back to its last durable size so no partial batch stays behind, and the
// error is returned; the next batch simply tries again. If even the cut fails, the writer is
// `broken` and refuses further writes (a restart recovers the file).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "journal/file_io.hpp"
#include "journal/segment.hpp"

namespace castellan::journal {

class SegmentWriter {
 public:
  // How far ahead of the data the file is grown with zeros.
  static constexpr std::uint64_t kPreallocateBytes = 1ULL << 20;

  SegmentWriter() = default;

  // Continues an existing segment whose intact data ends at `size`.
  static Result<SegmentWriter> open_existing(const SegmentFile& segment, std::uint64_t size);
  // Creates DIR/seg-<first_seq>.cjl with its header, fdatasyncs it and fsyncs the directory.
  static Result<SegmentWriter> create(const std::string& dir, const SegmentHeader& header);

  Result<void> write_and_sync(std::string_view bytes);
  // Drops the zeros grown ahead of the data (when the segment is retired). Best effort: left
  // behind, they still read as a clean end.
  void trim();

  bool is_open() const { return fd_.valid(); }
  bool broken() const { return broken_; }
  std::uint64_t size() const { return size_; }
  std::uint64_t first_seq() const { return first_seq_; }
  const std::string& path() const { return path_; }

 private:
  Fd fd_;
  std::string path_;
  std::uint64_t first_seq_ = 0;
  std::uint64_t size_ = 0;       // end of the durable data
  std::uint64_t allocated_ = 0;  // file size: data, then zeros written ahead
  bool broken_ = false;
  bool preallocate_ = true;
};

}  // namespace castellan::journal
