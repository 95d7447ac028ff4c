#include "core/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace castellan {

Result<pid_t> spawn_supervised(const std::vector<std::string>& argv,
                               const std::string& output_path) {
  if (argv.empty()) return make_error(Code::ERR_BAD_REQUEST, "no program to start");
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> copies = argv;
  std::vector<char*> args;
  args.reserve(copies.size() + 1);
  for (auto& a : copies) args.push_back(a.data());
  args.push_back(nullptr);
  const char* output = output_path.empty() ? nullptr : output_path.c_str();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "cannot start " + argv[0] + ": fork: " + std::strerror(errno));
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGXFSZ}) ::signal(sig, SIG_DFL);
    const int in = ::open("/dev/null", O_RDONLY);
    if (in < 0) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    if (output != nullptr) {
      const int out = ::open(output, O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (out < 0) ::_exit(126);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace castellan
