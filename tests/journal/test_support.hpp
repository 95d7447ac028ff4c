// Helpers shared by the journal tests: a temporary directory, a record factory, and a journal
// kept busy by a writer thread.
#pragma once

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "journal/journal.hpp"
#include "journal/record.hpp"

namespace castellan::journal::testing {

// prefix + decimal n. (`"u" + std::to_string(n)` trips g++ 12's -Wrestrict false positive
// at -O3, which the release preset builds tests with.)
inline std::string numbered(const char* prefix, long long n) {
  return std::string(prefix).append(std::to_string(n));
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "castellan-journal-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline JournalRecord decision_record(std::string door, std::string user, std::string decision,
                                     int code = 0) {
  JournalRecord r;
  r.kind = RecordKind::decision;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.site = "hq";
  r.door = std::move(door);
  r.req = "r-42";
  r.card_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  r.user = std::move(user);
  r.decision = std::move(decision);
  r.code = code;
  r.source = "mqtt";
  r.gateway_ip = "127.0.0.1";
  r.latency_us = 180;
  return r;
}

// Appends all records without waiting for each (so they share fsyncs), then waits for all;
// returns them as written, in order. Any failure throws: the tests using it expect none.
inline std::vector<JournalRecord> append_all(Journal& journal, std::vector<JournalRecord> records) {
  std::vector<std::future<Result<JournalRecord>>> futures;
  for (auto& r : records) {
    auto promise = std::make_shared<std::promise<Result<JournalRecord>>>();
    futures.push_back(promise->get_future());
    journal.append(std::move(r), [promise](Result<JournalRecord> result) {
      promise->set_value(std::move(result));
    });
  }
  std::vector<JournalRecord> out;
  for (auto& f : futures) {
    auto result = f.get();
    if (!result) throw std::runtime_error("append failed: " + result.error().message);
    out.push_back(std::move(*result));
  }
  return out;
}

inline std::vector<JournalRecord> numbered_records(int n, const std::string& door = "d1") {
  std::vector<JournalRecord> out;
  for (int i = 0; i < n; ++i) out.push_back(decision_record(door, numbered("u", i), "grant"));
  return out;
}

// A journal that a thread keeps appending to, with small segments and size retention: what a
// reader from outside (verify, export) meets next to a running server — batches being written,
// segments being created and dropped.
class BusyJournal {
 public:
  BusyJournal() {
    JournalOptions o;
    o.dir = dir_.path();
    o.segment_bytes = 4096;
    o.retention_bytes = 4 * 4096;
    auto opened = Journal::open(o, clock_);
    if (!opened) throw std::runtime_error(opened.error().message);
    journal_ = std::move(*opened);
    appender_ = std::thread([this] {
      while (!stop_) append_all(*journal_, numbered_records(4));
    });
  }
  ~BusyJournal() {
    stop_ = true;
    appender_.join();
  }
  BusyJournal(const BusyJournal&) = delete;
  BusyJournal& operator=(const BusyJournal&) = delete;
  const std::string& dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  std::unique_ptr<Journal> journal_;
  std::atomic<bool> stop_{false};
  std::thread appender_;
};

// Runs `check` (empty: fine; else what is wrong) again and again for `duration`.
struct RepeatedChecks {
  int runs = 0;
  int failed = 0;
  std::string first_failure;
};
inline RepeatedChecks repeat_for(std::chrono::milliseconds duration,
                                 const std::function<std::string()>& check, int min_runs = 11) {
  RepeatedChecks out;
  // On a slow machine (a sanitizer build) it runs on past `duration` until `min_runs` are
  // done, within a minute: the tests ask for a number of runs, not for a speed.
  const auto started = std::chrono::steady_clock::now();
  for (auto elapsed = std::chrono::steady_clock::duration::zero();
       elapsed < duration || (out.runs < min_runs && elapsed < std::chrono::minutes(1));
       ++out.runs, elapsed = std::chrono::steady_clock::now() - started) {
    std::string why = check();
    if (!why.empty() && out.failed++ == 0) out.first_failure = std::move(why);
  }
  return out;
}

}  // namespace castellan::journal::testing
