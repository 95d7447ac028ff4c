// Names the calling thread, so that `top -H`, `ps -L`, perf and gdb show what each thread of
// the service is (io-0, journal, mqtt, ...) instead of "castellan" for all of them.
#pragma once

#include <string>
#include <string_view>

namespace castellan {

// Linux keeps at most 15 characters; longer names are cut. Best effort: failures are ignored.
void name_this_thread(std::string_view name);

// The calling thread's name as the kernel has it ("" if it cannot be read).
std::string this_thread_name();

}  // namespace castellan
