#include "journal/segment_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

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
  return w;
}

Result<void> SegmentWriter::write_and_sync(std::string_view bytes) {
  if (broken_) {
    return make_error(Code::ERR_UNAVAILABLE, "journal segment " + path_ +
                                                 " could not be restored after a write error; "
                                                 "restart to recover it");
  }
  auto result = pwrite_all(fd_.get(), bytes, size_, path_);
  if (result && ::fdatasync(fd_.get()) != 0) result = io_error("cannot fdatasync", path_, errno);
  if (result) {
    size_ += bytes.size();
    return result;
  }
  if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) broken_ = true;
  return result;
}

}  // namespace castellan::journal
