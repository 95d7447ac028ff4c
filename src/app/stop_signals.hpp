// SIGINT/SIGTERM handling shared by `castellan server` and `castellan demo`: both block the
// two signals before starting any thread (every thread inherits the mask) and then receive
// them synchronously with sigwait/sigtimedwait, so no signal handler runs inside library code.
#pragma once

#include <signal.h>

namespace castellan::app {

// Blocks SIGINT and SIGTERM in the calling thread and returns the set to wait on.
sigset_t block_stop_signals();

}  // namespace castellan::app
