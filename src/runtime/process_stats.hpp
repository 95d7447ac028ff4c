// Process resource readings from /proc/self (Linux): open file descriptors and resident set
// size, and what the open fds point at (for the fd-leak report).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace castellan::runtime {

// Number of entries in /proc/self/fd, or -1 when it cannot be read.
long count_open_fds();
// Resident set size in bytes from /proc/self/statm, or -1 when it cannot be read.
long resident_set_bytes();
// Open fds grouped by the kind of their target ("socket", "pipe", "anon_inode:[eventfd]", or
// the file path), largest group first.
std::vector<std::pair<std::string, int>> open_fd_kinds();

}  // namespace castellan::runtime
