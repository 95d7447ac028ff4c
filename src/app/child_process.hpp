// A child process owned by RAII: started with spawn_supervised (core/subprocess.hpp: its own
// process group, SIGTERM when this thread dies), stopped with SIGTERM and, after a grace
// period, SIGKILL; always reaped. `castellan demo` supervises the server and the simulator
// with it, so neither Ctrl-C nor a killed demo leaves a process behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace castellan::app {

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // argv[0] is the executable path. stdout/stderr go to `log_path` when non-empty.
  Result<void> start(const std::vector<std::string>& argv, const std::string& log_path = "");

  // True while the child has not exited (reaps it if it has).
  bool running();
  pid_t pid() const { return pid_; }
  // Exit status once it has exited (-1 while running or never started).
  int exit_code() const { return exit_code_; }

  // SIGTERM, wait up to `grace`, then SIGKILL; reaps. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// Path of the running executable (/proc/self/exe).
std::string self_executable();

}  // namespace castellan::app
