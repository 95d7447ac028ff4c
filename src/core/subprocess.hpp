// Starting a supervised child process: `castellan demo` starts the broker, the server and the
// simulator this way, and the tests start brokers and the demo.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/result.hpp"

namespace castellan {

// fork + execv(argv[0], argv), with the child:
//  - sent SIGTERM when the calling *thread* dies (PR_SET_PDEATHSIG), so a supervisor killed
//    with SIGKILL or crashed leaves no child behind; call it from a thread that outlives the
//    child (the main thread);
//  - in a process group of its own, so a terminal's Ctrl-C reaches only the supervisor, which
//    then stops its children in order;
//  - with an empty signal mask and default handlers (the supervisor may block the stop
//    signals to sigwait for them, and a mask survives exec);
//  - stdin from /dev/null; stdout and stderr appended to `output_path` (mode 0600) when it is
//    not empty, else the supervisor's.
// 50301 when the process cannot be forked. A failed exec ends the child with status 127.
Result<pid_t> spawn_supervised(const std::vector<std::string>& argv,
                               const std::string& output_path = "");

}  // namespace castellan
