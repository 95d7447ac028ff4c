// Small POSIX file helpers for the journal: an owning descriptor, whole writes and reads, and
// the fsyncs that make a new file's directory entry durable. Errors come back as 50301 with the
// path and strerror text, ready to show an operator.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace castellan::journal {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// "<what> <path>: <strerror(err)>" as a 50301 error.
Error io_error(std::string_view what, const std::string& path, int err);

// Files are created 0600: the journal names users and card hashes (who went through which door).
Result<Fd> open_file(const std::string& path, int flags, int mode = 0600);
// Writes all of `data` at `offset` (retrying short writes and EINTR).
Result<void> pwrite_all(int fd, std::string_view data, std::uint64_t offset,
                        const std::string& path);
// Reads exactly `size` bytes at `offset`; fails on a short read.
Result<std::string> pread_exact(int fd, std::uint64_t offset, std::size_t size,
                                const std::string& path);
// The file from `from` up to its end when read (it may have shrunk since it was opened);
// empty when it ends before `from`.
Result<std::string> read_to_end(const std::string& path, std::uint64_t from = 0);
// The same through a descriptor opened before (`path` names it in errors): a file unlinked
// since is still read whole.
Result<std::string> read_to_end(const Fd& fd, const std::string& path, std::uint64_t from = 0);
Result<void> fsync_dir(const std::string& dir);
// Creates each missing directory of `dir` 0700 (one that exists keeps its mode).
Result<void> make_dirs(const std::string& dir);

}  // namespace castellan::journal
