#include "core/secrets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace castellan {
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return make_error(Code::ERR_UNAVAILABLE, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<void> ensure_private_dir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return make_error(Code::ERR_UNAVAILABLE, "cannot create " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0700);
  return {};
}

Result<void> write_secret_file(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", tmp);
  ::fchmod(fd, 0600);  // umask may have narrowed it; it must be exactly 0600
  std::size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto err = io_error("cannot write", tmp);
      ::close(fd);
      return err;
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto err = io_error("cannot fsync", tmp);
    ::close(fd);
    return err;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("cannot rename to", path);
  return {};
}

Result<std::string> load_or_create_secret_file(const std::string& path,
                                               const std::string& new_content) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return io_error("cannot stat", path);
    if (auto w = write_secret_file(path, new_content); !w) return w.error();
    return new_content;
  }
  return read_secret_file(path);
}

Result<std::string> read_secret_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return io_error("cannot stat", path);
  if ((st.st_mode & 077) != 0) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "secret file " + path + " is readable by group or others; chmod 600 it");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot read", path);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace castellan
