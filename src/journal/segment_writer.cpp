#include "journal/segment_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace castellan::journal {

Result<SegmentWriter> SegmentWriter::open_existing(const SegmentFile& segment, std::uint64_t size) {
  auto fd = open_file(segment.path, O_RDWR);
  if (!fd) return fd.error();
  SegmentWriter w;
  w.fd_ = std::move(*fd);
  w.path_ = segment.path;
  w.first_seq_ = segment.first_seq;
  w.size_ = size;
  struct stat st {};
  w.allocated_ = ::fstat(w.fd_.get(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : size;
  w.allocated_ = std::max(w.allocated_, size);
  return w;
}

Result<SegmentWriter> SegmentWriter::create(const std::string& dir, const SegmentHeader& header) {
  SegmentWriter w;
  w.path_ = dir + "/" + segment_file_name(header.first_seq);
  w.first_seq_ = header.first_seq;
  // A file of this name can only be a leftover of a creation that failed: it holds no record.
  auto fd = open_file(w.path_, O_RDWR | O_CREAT | O_TRUNC);
  if (!fd) return fd.error();
  auto fail = [&](Error e) -> Result<SegmentWriter> {
    ::unlink(w.path_.c_str());
    return e;
  };
  auto written = pwrite_all(fd->get(), encode_segment_header(header), 0, w.path_);
  if (!written) return fail(written.error());
  if (::fdatasync(fd->get()) != 0) return fail(io_error("cannot fdatasync", w.path_, errno));
  auto synced = fsync_dir(dir);
  if (!synced) return fail(synced.error());
  w.fd_ = std::move(*fd);
  w.size_ = kSegmentHeaderBytes;
  w.allocated_ = kSegmentHeaderBytes;
  return w;
}

Result<void> SegmentWriter::write_and_sync(std::string_view bytes) {
  if (broken_) {
    return make_error(Code::ERR_UNAVAILABLE, "journal segment " + path_ +
                                                 " could not be restored after a write error; "
                                                 "restart to recover it");
  }
  // Grow the file by zeros a chunk at a time, ahead of the data: a batch written inside the
  // file's size needs no metadata in its fdatasync (no size change, no new blocks), which
  // roughly halves its cost on ext4. Best effort: if the zeros do not fit (disk full, size
  // limit) the batch is written on its own, extending the file as before.
  const std::uint64_t end = size_ + bytes.size();
  const std::uint64_t old_allocated = allocated_;
  if (end > allocated_ && preallocate_) {
    const std::uint64_t target = std::max(end, allocated_ + kPreallocateBytes);
    const std::string zeros(static_cast<std::size_t>(target - allocated_), '\0');
    if (pwrite_all(fd_.get(), zeros, allocated_, path_)) {
      allocated_ = target;
    } else {
      preallocate_ = false;  // for this segment: do not pay for it on every batch
      if (::ftruncate(fd_.get(), static_cast<off_t>(old_allocated)) != 0) {
        broken_ = true;
        return io_error("cannot truncate", path_, errno);
      }
    }
  }
  auto result = pwrite_all(fd_.get(), bytes, size_, path_);
  if (result && ::fdatasync(fd_.get()) != 0) result = io_error("cannot fdatasync", path_, errno);
  if (result) {
    size_ = end;
    allocated_ = std::max(allocated_, end);
    return result;
  }
  // Nothing of a failed batch may stay behind: cut the file back to its durable data.
  allocated_ = size_;
  if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
    broken_ = true;
  } else {
    // Best effort: make the cut durable at once, so that a power cut before the next batch
    // cannot bring back records whose appenders were told the write failed.
    (void)::fdatasync(fd_.get());
  }
  return result;
}

void SegmentWriter::trim() {
  if (fd_.valid() && !broken_ && allocated_ > size_ &&
      ::ftruncate(fd_.get(), static_cast<off_t>(size_)) == 0) {
    allocated_ = size_;
  }
}

}  // namespace castellan::journal
