// Start-up cost of rebuilding anti-passback positions from the journal (app/passback_replay).
// One journal of 200,000 decision records (a busy campus's 12 hours: 10 % at anti-passback
// doors, in and out alternating, 1 % failure denies), built once per run in a temp dir.
//
//   BM_PassbackReplay  replay_passback() over the journal: it reads the decisions of the
//                      anti-passback doors (decisions_read, 10 % of them); seconds, and those
//                      records per second
//   BM_ExportBaseline  export_jsonl() of the same journal to nowhere: reading and parsing every
//                      record once, the floor for anything that replays the journal
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>

#include "access/dataset.hpp"
#include "access/engine.hpp"
#include "access/snapshot.hpp"
#include "app/passback_replay.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "journal/export.hpp"
#include "journal/journal.hpp"

namespace {

using namespace castellan;

constexpr int kRecords = 200'000;
constexpr int kDoors = 100;  // every tenth is an anti-passback door

// prefix + decimal n, built with append: g++ 12 at -O3 warns (-Wstringop-overflow, a false
// positive) on "d" + std::to_string(n).
std::string numbered(const char* prefix, int n) {
  return std::string(prefix).append(std::to_string(n));
}

struct ReplayWorld {
  std::string dir;
  access::Dataset data;
  access::PassUseLedger ledger;
  std::shared_ptr<const access::Snapshot> snapshot;
  std::unique_ptr<journal::Journal> journal;

  ReplayWorld() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "castellan-replay-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    data.sites["hq"] = access::Site{"hq", "HQ", "UTC", 12, false};
    for (int d = 0; d < kDoors; ++d) {
      access::Door door;
      door.id = numbered("d", d);
      door.site = "hq";
      door.name = door.id;
      door.controller = "ctl";
      door.apb = d % 10 == 0;
      data.doors[door.id] = door;
    }
    snapshot = access::build_snapshot(data, ledger, 1);
    journal::JournalOptions options;
    options.dir = dir + "/journal";
    auto opened = journal::Journal::open(options, SystemClock::instance());
    if (!opened) throw std::runtime_error(opened.error().message);
    journal = std::move(*opened);
    fill();
  }
  ~ReplayWorld() {
    journal.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  void fill() {
    std::vector<std::future<void>> waits;
    auto last = std::make_shared<std::promise<void>>();
    for (int i = 0; i < kRecords; ++i) {
      journal::JournalRecord r;
      r.kind = journal::RecordKind::decision;
      // The apb door d0 never got the grant just before: its failure deny carries that grant's
      // trace_id, door and card (app/decision_scan.hpp).
      const bool failure = i % 100 == 1;
      const int of = failure ? i - 1 : i;
      r.trace_id = to_hex(sha256(numbered("trace", of))).substr(0, 32);
      r.site = "hq";
      r.door = numbered("d", of % kDoors);
      r.req = numbered("r-", i);
      r.card_hash = to_hex(sha256(numbered("card", of % 5'000)));
      r.user = numbered("u", of % 5'000);
      r.decision = failure ? "deny" : "grant";
      r.code = failure ? 50401 : 0;
      r.source = "mqtt";
      r.latency_us = 180;
      r.dir = (of / kDoors) % 2 == 0 ? "in" : "out";
      const bool is_last = i + 1 == kRecords;
      journal->append(std::move(r), [last, is_last](Result<journal::JournalRecord> done) {
        if (!done) throw std::runtime_error(done.error().message);
        if (is_last) last->set_value();
      });
    }
    last->get_future().wait();  // records become durable in seq order
  }
};

ReplayWorld& world() {
  static ReplayWorld w;
  return w;
}

void BM_PassbackReplay(benchmark::State& state) {
  auto& w = world();
  app::PassbackReplay report;
  for (auto _ : state) {
    access::AntiPassbackTracker tracker;
    auto r = app::replay_passback(*w.journal, *w.snapshot, tracker, SystemClock::instance().now());
    if (!r) {
      state.SkipWithError(r.error().message.c_str());
      return;
    }
    report = *r;
  }
  state.counters["records_per_s"] = benchmark::Counter(
      static_cast<double>(report.decisions_read) * state.iterations(), benchmark::Counter::kIsRate);
  state.counters["decisions_read"] = static_cast<double>(report.decisions_read);
  state.counters["grants_applied"] = static_cast<double>(report.grants_applied);
  state.counters["grants_skipped"] = static_cast<double>(report.grants_skipped);
}
BENCHMARK(BM_PassbackReplay)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

struct NullBuffer : std::streambuf {
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

void BM_ExportBaseline(benchmark::State& state) {
  auto& w = world();
  NullBuffer sink;
  std::ostream out(&sink);
  std::uint64_t lines = 0;
  for (auto _ : state) {
    auto n = journal::export_jsonl(w.journal->options().dir, {}, out);
    if (!n) {
      state.SkipWithError(n.error().message.c_str());
      return;
    }
    lines = *n;
  }
  state.counters["records_per_s"] = benchmark::Counter(
      static_cast<double>(lines) * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ExportBaseline)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
