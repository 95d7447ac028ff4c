#include "core/secrets.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"

namespace castellan {
namespace {

Error io_error(const std::string& what, const std::string& path) {
  return make_error(Code::ERR_UNAVAILABLE, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<void> ensure_private_dir(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return make_error(Code::ERR_BAD_REQUEST, "empty directory path");
  // Each missing directory is made 0700 here; one that exists keeps its mode (chmod-ing a
  // shared directory such as /tmp to 0700 would break every other user of it).
  fs::path prefix;
  for (const auto& part : fs::path(path)) {
    prefix /= part;
    if (::mkdir(prefix.c_str(), 0700) == 0) {
      ::chmod(prefix.c_str(), 0700);  // umask may have narrowed it; it must be exactly 0700
    } else if (errno != EEXIST) {
      return io_error("cannot create", prefix.string());
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return io_error("cannot stat", path);
  if (!S_ISDIR(st.st_mode)) {
    return make_error(Code::ERR_UNAVAILABLE, path + " exists and is not a directory");
  }
  if ((st.st_mode & 022) != 0) {
    // Whoever may write here could replace a secret file with one of their own.
    return make_error(Code::ERR_UNAVAILABLE, "directory " + path +
                                                 " is writable by group or others; use a private "
                                                 "directory (chmod 700 it)");
  }
  return {};
}

Result<void> write_secret_file(const std::string& path, const std::string& content) {
  return write_file_durably(path, content, 0600);
}

Result<void> write_file_durably(const std::string& path, const std::string& content, mode_t mode) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return io_error("cannot create", tmp);
  ::fchmod(fd, mode);  // umask may have narrowed it; it must be exactly `mode`
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
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return io_error("cannot open the directory of", path);
  const bool synced = ::fsync(dir_fd) == 0;
  ::close(dir_fd);
  if (!synced) return io_error("cannot fsync the directory of", path);
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

Result<std::string> load_or_create_key_file(const std::string& path) {
  auto content = load_or_create_secret_file(path, to_hex(random_bytes(32)));
  if (!content) return content;
  // A newline that an editor or `echo` added when the file was restored is not part of the
  // key: keeping it would change every card hash, or every token signature, without a word.
  const auto first = content->find_first_not_of(" \t\r\n");
  const auto last = content->find_last_not_of(" \t\r\n");
  std::string key = first == std::string::npos ? "" : content->substr(first, last - first + 1);
  const bool hex =
      std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isxdigit(c) != 0; });
  if (key.size() != 64 || !hex) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "key file " + path + " must hold 64 hex digits (a 32-byte key), found " +
                          std::to_string(key.size()) + " characters" +
                          (hex ? "" : ", not all hex") +
                          "; restore it from a backup (a new key changes every card hash)");
  }
  return key;
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
