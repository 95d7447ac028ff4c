// Offline integrity check of a journal directory (`castellan journal verify DIR`).
//
// Walks every segment in order and checks: segment headers (magic, CRC), each frame's length
// and CRC32C, seq continuity (within and across segments), each record's canonical encoding,
// its prev = the previous record's hash (the first remaining segment's anchor for the first
// record), and its hash. Any edit, deletion, reordering or truncation inside a record shows up
// as the first seq that is not what it should be.
//
// It takes no lock, so it may run next to a server that is writing. Two things a writer does
// look like damage for an instant, and are read again before they are reported: the end of the
// newest segment while a batch is written (live_tail.hpp), and a segment that vanished between
// the listing and its reading (dropped by retention, oldest first: verification starts again
// at the oldest one left).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/clock.hpp"

namespace castellan::journal {

struct VerifyReport {
  bool ok = false;
  std::uint64_t first_bad_seq = 0;  // when !ok: the first seq whose record is missing or wrong
  std::string message;              // what is wrong (or a summary when ok)
  std::uint64_t records = 0;        // intact records before the first problem
  std::uint64_t first_seq = 0;      // first record present (retention may have dropped older)
  std::uint64_t last_seq = 0;       // last intact record
};

struct VerifyOptions {
  // How long a frame that is not whole at the end of the newest segment may take to become
  // whole before it is reported. A running server finishes writing a batch in microseconds;
  // a torn tail that stays (a crash's, or an edit's) is reported after this wait.
  std::chrono::milliseconds settle{1000};
  const Clock* clock = &SystemClock::instance();  // times the settle
};

VerifyReport verify(const std::string& dir, VerifyOptions options = {});

}  // namespace castellan::journal
