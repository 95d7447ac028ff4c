// Helpers shared by the journal tests: a temporary directory and a record factory.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

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

}  // namespace castellan::journal::testing
