#include "runtime/process_stats.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

namespace castellan::runtime {
namespace fs = std::filesystem;

long count_open_fds() {
  std::error_code ec;
  fs::directory_iterator it("/proc/self/fd", ec);
  if (ec) return -1;
  long n = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return -1;
    ++n;
  }
  // The iterator's own directory fd was listed too.
  return n > 0 ? n - 1 : 0;
}

long resident_set_bytes() {
  std::ifstream statm("/proc/self/statm");
  long size = 0, resident = 0;
  if (!(statm >> size >> resident)) return -1;
  return resident * sysconf(_SC_PAGESIZE);
}

std::vector<std::pair<std::string, int>> open_fd_kinds() {
  std::map<std::string, int> kinds;
  std::error_code ec;
  for (fs::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code link_ec;
    std::string target = fs::read_symlink(it->path(), link_ec).string();
    if (link_ec) continue;  // the iterator's own fd, already closed
    // "socket:[123]" -> "socket"; "anon_inode:[eventfd]" stays whole (it names the kind).
    if (auto colon = target.find(":[");
        colon != std::string::npos && target.rfind("anon_inode", 0) != 0) {
      target.resize(colon);
    }
    ++kinds[target];
  }
  std::vector<std::pair<std::string, int>> out(kinds.begin(), kinds.end());
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return out;
}

}  // namespace castellan::runtime
