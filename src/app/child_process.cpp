#include "app/child_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/subprocess.hpp"

namespace castellan::app {

ChildProcess::~ChildProcess() {
  stop();
}

Result<void> ChildProcess::start(const std::vector<std::string>& argv,
                                 const std::string& log_path) {
  if (running()) return make_error(Code::ERR_CONFLICT, "process already running");
  auto pid = spawn_supervised(argv, log_path);
  if (!pid) return pid.error();
  pid_ = *pid;
  exit_code_ = -1;
  return {};
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  exit_code_ = (r == pid_ && WIFEXITED(status)) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pid_ = -1;
  return false;
}

void ChildProcess::stop(std::chrono::milliseconds grace) {
  if (!running()) return;
  ::kill(pid_, SIGTERM);
  const auto step = std::chrono::milliseconds(20);
  for (auto waited = std::chrono::milliseconds(0); waited < grace; waited += step) {
    if (!running()) return;
    std::this_thread::sleep_for(step);
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_code_ = 128 + SIGKILL;
  pid_ = -1;
}

std::string self_executable() {
  return std::filesystem::read_symlink("/proc/self/exe").string();
}

}  // namespace castellan::app
