#include "journal/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace castellan::journal {

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Error io_error(std::string_view what, const std::string& path, int err) {
  std::string message(what);
  message += " ";
  message += path;
  message += ": ";
  message += std::strerror(err);
  return make_error(Code::ERR_UNAVAILABLE, std::move(message));
}

Result<Fd> open_file(const std::string& path, int flags, int mode) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return io_error("cannot open", path, errno);
  return Fd(fd);
}

Result<void> pwrite_all(int fd, std::string_view data, std::uint64_t offset,
                        const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

Result<std::string> pread_exact(int fd, std::uint64_t offset, std::size_t size,
                                const std::string& path) {
  std::string out(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", path, errno);
    }
    if (n == 0) {
      return make_error(Code::ERR_UNAVAILABLE, "cannot read " + path + ": file ends early");
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

Result<std::string> read_to_end(const std::string& path, std::uint64_t from) {
  auto fd = open_file(path, O_RDONLY);
  if (!fd) return fd.error();
  return read_to_end(*fd, path, from);
}

Result<std::string> read_to_end(const Fd& fd, const std::string& path, std::uint64_t from) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("cannot stat", path, errno);
  // Up to the end of the file, not exactly its size at fstat: a running writer may shorten a
  // segment it retires (dropping the zeros grown ahead of its data) while it is read.
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::string out(static_cast<std::size_t>(size > from ? size - from : 0), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd.get(), out.data() + done, out.size() - done, static_cast<off_t>(from + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read", path, errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return out;
}

Result<void> fsync_dir(const std::string& dir) {
  auto fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return fd.error();
  if (::fsync(fd->get()) != 0) return io_error("cannot fsync directory", dir, errno);
  return {};
}

Result<void> make_dirs(const std::string& dir) {
  std::filesystem::path prefix;
  for (const auto& part : std::filesystem::path(dir)) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), 0700) == 0) {
      ::chmod(prefix.c_str(), 0700);  // exactly 0700, whatever the umask
    } else if (errno != EEXIST) {
      return io_error("cannot create directory", prefix.string(), errno);
    }
  }
  return {};
}

}  // namespace castellan::journal
