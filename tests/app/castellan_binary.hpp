// The `castellan` binary of this build, running a command, reading a file whole and asking
// whether a process is alive: for the tests that run the binary as a user would (cli_test, the
// demo tests, server_kill_test).
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace castellan::app::testing {

inline const std::string kBinary = std::string(CASTELLAN_BINARY_DIR) + "/src/app/castellan";

struct Run {
  int code = -1;  // the exit status; -1 when it did not exit normally
  std::string output;
};

// Runs `command` through the shell with stderr folded into stdout, without the caller's
// CASTELLAN_* variables (the server refuses one that matches no key, e.g. a crash-test knob).
inline Run run(const std::string& command) {
  Run r;
  const std::string clean_env =
      "unset $(env | sed -n 's/^\\(CASTELLAN_[A-Za-z0-9_]*\\)=.*/\\1/p'); ";
  FILE* p = ::popen((clean_env + command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) r.output += buf.data();
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

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
