// The `castellan` binary of this build, reading a file whole and asking whether a process is
// alive: for the tests that run the binary as a user would (cli_test, the demo tests,
// server_kill_test).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace castellan::app::testing {

inline const std::string kBinary = std::string(CASTELLAN_BINARY_DIR) + "/src/app/castellan";

// The file's content; "" when it cannot be read.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Alive and not a zombie (an orphan's zombie waits for a reaper that may be slow in a container).
inline bool process_alive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) return false;
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto state = stat.rfind(") ");
  return state != std::string::npos && stat.substr(state + 2, 1) != "Z";
}

}  // namespace castellan::app::testing
