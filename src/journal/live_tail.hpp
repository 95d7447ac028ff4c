// Reading the newest segment of a journal that a running server may be writing.
//
// verify and export take no lock. A reader can meet a batch half-written at the end of the
// newest segment (a frame not whole yet, zeros where a frame is still being copied in, or a
// file just created without its header yet): that is not damage. LiveTail reads the file again
// from where the doubt starts, after pauses that grow from 1 ms to 50 ms, until the answer is
// clear or its time (`settle`) is spent; what is still wrong then is reported.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/clock.hpp"

namespace castellan::journal {

class LiveTail {
 public:
  LiveTail(const Clock& clock, std::chrono::milliseconds settle);

  // After a pause, replaces `bytes` from `offset` on with the file's bytes from there (what
  // comes before was read already). False once the time is spent or the file cannot be read.
  bool reread(const std::string& path, std::uint64_t offset, std::string& bytes);

 private:
  const Clock& clock_;
  Clock::Monotonic until_;
  std::chrono::milliseconds pause_;
};

}  // namespace castellan::journal
