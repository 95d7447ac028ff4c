// journal_fill DIR COUNT [HOURS]: appends COUNT decision records to the journal in DIR (created
// if missing), their times spread evenly over the last HOURS (default 24) hours, as a busy site
// would have journaled them. For bench/startup_load.sh: what a start reads back is the
// decisions of the anti-passback window (12 h by default).
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "core/clock.hpp"
#include "journal/journal.hpp"

using namespace castellan;
using namespace castellan::journal;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: journal_fill DIR COUNT [HOURS]\n";
    return 2;
  }
  JournalOptions options;
  options.dir = argv[1];
  const long count = std::atol(argv[2]);
  const long hours = argc > 3 ? std::atol(argv[3]) : 24;
  auto journal = Journal::open(options, SystemClock::instance());
  if (!journal) {
    std::cerr << "journal_fill: " << journal.error().message << "\n";
    return 1;
  }
  const TimePoint first = SystemClock::instance().now() - std::chrono::hours(hours);
  const double step_ms = static_cast<double>(hours) * 3'600'000.0 / static_cast<double>(count);
  std::atomic<long> in_flight{0};
  std::atomic<long> failed{0};
  for (long i = 0; i < count; ++i) {
    while (in_flight.load() >= 256) std::this_thread::yield();
    JournalRecord r;
    r.kind = RecordKind::decision;
    r.ts = first + std::chrono::milliseconds(static_cast<long>(static_cast<double>(i) * step_ms));
    r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    r.site = "hq";
    r.door = fmt::format("d{}", i % 8 + 1);
    r.req = fmt::format("fill-{}", i);
    r.card_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    r.user = fmt::format("u{}", i % 50);
    r.decision = "grant";
    r.code = 0;
    r.source = "mqtt";
    r.gateway_ip = "127.0.0.1";
    r.latency_us = 180;
    r.dir = i % 2 == 0 ? "in" : "out";
    in_flight.fetch_add(1);
    (*journal)->append(std::move(r), [&](Result<JournalRecord> done) {
      if (!done) failed.fetch_add(1);
      in_flight.fetch_sub(1);
    });
  }
  (*journal)->close();
  if (failed.load() > 0) {
    std::cerr << "journal_fill: " << failed.load() << " appends failed\n";
    return 1;
  }
  std::cout << "journal_fill: " << count << " decisions, last seq " << (*journal)->stats().last_seq
            << "\n";
  return 0;
}
