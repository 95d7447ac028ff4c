// FUZZ_CHECK: an invariant a harness expects of every input. A broken one says which and
// aborts, and both libFuzzer and replay_main.cpp take an abort for a failing input (they save it).
// A macro, not a function taking std::source_location: clang 14 cannot use that with libstdc++ 12.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                                \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      std::fprintf(stderr, "fuzz: invariant broken at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, \
                   #condition);                                                                    \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)
