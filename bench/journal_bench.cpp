// Journal durability benchmarks (issue 4): durable appends/s and acknowledgement latency with
// 1, 8 and 64 concurrent appenders, against two baselines measured in the same run on the
// same disk:
//   raw:    a loop writing the same frames in batches of the journal's mean batch size, one
//           fdatasync per batch, into a zero-filled file as the journal's segments are
//           ("rawpre": the device limit for that batch size, baseline a of the goal) and,
//           for reference, into a growing file ("raw");
//   sqlite: SQLite in WAL mode, synchronous=FULL, inserting the same records in transactions
//           of the same batch size.
// Each case runs for CASTELLAN_BENCH_SECONDS (default 3) seconds in a temp dir under TMPDIR,
// with the default options (CASTELLAN_BENCH_LINGER_US sets JournalOptions::linger).
// Also: CRC32C table vs SSE4.2 and the per-record encode+hash cost.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "journal/crc32c.hpp"
#include "journal/file_io.hpp"
#include "journal/index.hpp"
#include "journal/journal.hpp"
#include "journal/segment.hpp"

namespace {

using namespace castellan;
using namespace castellan::journal;
using Steady = std::chrono::steady_clock;

double run_seconds() {
  const char* v = std::getenv("CASTELLAN_BENCH_SECONDS");
  return v != nullptr ? std::atof(v) : 3.0;
}

std::string make_temp_dir() {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "castellan-journal-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

// "d" + std::to_string(n) trips g++ 12's -Wrestrict false positive at -O3; append does not.
std::string prefixed(const char* prefix, int n) {
  return std::string(prefix).append(std::to_string(n));
}

JournalRecord sample_record(int n) {
  JournalRecord r;
  r.kind = RecordKind::decision;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.site = "hq";
  r.door = prefixed("d", n % 8);
  r.req = prefixed("r-", n);
  r.card_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  r.user = prefixed("u", n % 50);
  r.decision = "grant";
  r.code = 0;
  r.source = "mqtt";
  r.gateway_ip = "127.0.0.1";
  r.latency_us = 180;
  return r;
}

// A fully formed record line (seq, hashes) as the journal writes it.
std::string sample_line(int n) {
  JournalRecord r = sample_record(n);
  r.seq = static_cast<std::uint64_t>(n) + 1;
  r.ts = *parse_utc("2026-11-22T03:04:05.123Z");
  r.prev = std::string(64, 'a');
  r.hash = compute_hash(r);
  return to_json_line(r);
}

struct JournalResult {
  std::string name;  // "64 threads", "64 async"
  double appends_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  double mean_batch = 1;
  double frame_bytes = 0;
  double fsync_us = 0;      // mean time of one fdatasync (the journal's own histogram sum)
  double raw = 0;           // baseline (a), growing file
  double raw_prealloc = 0;  // baseline (a), zero-filled file
  double sqlite = 0;        // baseline (b)
};
// One entry per journal case, in run order; the baselines that follow a case fill its row.
std::vector<JournalResult> g_cases;

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

// JournalOptions's linger (0) unless CASTELLAN_BENCH_LINGER_US sets one.
std::chrono::microseconds bench_linger() {
  const char* v = std::getenv("CASTELLAN_BENCH_LINGER_US");
  return v ? std::chrono::microseconds(std::atoi(v)) : JournalOptions{}.linger;
}

std::unique_ptr<Journal> open_journal(benchmark::State& state, const std::string& dir) {
  JournalOptions options;
  options.dir = dir;
  options.linger = bench_linger();
  auto journal = Journal::open(options, SystemClock::instance());
  if (!journal) {
    state.SkipWithError(journal.error().message.c_str());
    return nullptr;
  }
  return std::move(*journal);
}

void report(benchmark::State& state, Journal& journal, std::string name, double seconds,
            std::vector<double>& latencies) {
  state.SetIterationTime(seconds);
  const auto stats = journal.stats();
  JournalResult res;
  res.name = std::move(name);
  res.appends_per_s = static_cast<double>(stats.records) / seconds;
  res.p50_us = percentile(latencies, 0.50);
  res.p99_us = percentile(latencies, 0.99);
  res.mean_batch = static_cast<double>(stats.records) / static_cast<double>(stats.batches);
  res.frame_bytes = static_cast<double>(stats.bytes) / static_cast<double>(stats.records);
  res.fsync_us = 1e6 * stats.fsync_seconds_sum / static_cast<double>(stats.batches);
  state.counters["appends_per_s"] = res.appends_per_s;
  state.counters["p50_us"] = res.p50_us;
  state.counters["p99_us"] = res.p99_us;
  state.counters["mean_batch"] = res.mean_batch;
  state.counters["frame_bytes"] = res.frame_bytes;
  state.counters["fsync_us"] = res.fsync_us;
  g_cases.push_back(std::move(res));
}

// range(0) threads, each calling append_and_wait in a loop: every acknowledgement wakes a
// blocked thread.
void BM_JournalDurableAppend(benchmark::State& state) {
  const int appenders = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const std::string dir = make_temp_dir();
    auto journal = open_journal(state, dir);
    if (!journal) return;
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::vector<double> latencies;
    std::vector<std::thread> threads;
    const auto started = Steady::now();
    for (int t = 0; t < appenders; ++t) {
      threads.emplace_back([&, t] {
        std::vector<double> mine;
        for (int i = 0; !stop.load(std::memory_order_relaxed); ++i) {
          const auto t0 = Steady::now();
          auto r = journal->append_and_wait(sample_record(t * 1000003 + i));
          if (!r) std::abort();
          mine.push_back(std::chrono::duration<double, std::micro>(Steady::now() - t0).count());
        }
        std::lock_guard lock(mu);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(run_seconds()));
    stop = true;
    for (auto& t : threads) t.join();
    const double seconds = std::chrono::duration<double>(Steady::now() - started).count();
    report(state, *journal, std::to_string(appenders) + " threads", seconds, latencies);
    journal.reset();
    std::filesystem::remove_all(dir);
  }
}

// range(0) appends in flight from one client thread, as the service appends: a swipe's
// coroutine appends with a callback and does not block a thread. Each durable callback hands
// its completion to the client thread (one wake per batch, like a post to an io_context),
// which appends that chain's next record.
void BM_JournalAsyncAppend(benchmark::State& state) {
  const int in_flight = static_cast<int>(state.range(0));
  for (auto _ : state) {
    const std::string dir = make_temp_dir();
    auto journal = open_journal(state, dir);
    if (!journal) return;
    struct Done {
      int chain;
      Steady::time_point sent;
    };
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Done> done;
    std::vector<double> latencies;
    int outstanding = 0;  // client thread only
    int next = 0;
    auto append = [&](int chain) {
      const auto sent = Steady::now();
      ++outstanding;
      journal->append(sample_record(chain * 1000003 + next++),
                      [&, chain, sent](Result<JournalRecord> r) {
                        if (!r) std::abort();
                        std::lock_guard lock(mu);
                        done.push_back({chain, sent});
                        if (done.size() == 1) cv.notify_one();
                      });
    };
    const auto started = Steady::now();
    const auto until = started + std::chrono::duration<double>(run_seconds());
    for (int c = 0; c < in_flight; ++c) append(c);
    std::vector<Done> mine;
    while (outstanding > 0) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !done.empty(); });
        mine.swap(done);
      }
      const auto now = Steady::now();
      for (const Done& d : mine) {
        --outstanding;
        latencies.push_back(std::chrono::duration<double, std::micro>(now - d.sent).count());
        if (now < until) append(d.chain);
      }
      mine.clear();
    }
    const double seconds = std::chrono::duration<double>(Steady::now() - started).count();
    report(state, *journal, std::to_string(in_flight) + " async", seconds, latencies);
    journal.reset();
    std::filesystem::remove_all(dir);
  }
}

// The baselines write batches of the mean size the journal case just before them reached.
int batch_for_last_case() {
  return g_cases.empty() ? 1 : std::max(1, static_cast<int>(g_cases.back().mean_batch + 0.5));
}

// Baseline (a): the same frames, same batch size, one pwrite + fdatasync per batch; range(0)
// = 1 writes into a file zero-filled beforehand (no metadata in the fdatasync, like the
// journal's segments), 0 appends to a growing file.
void BM_RawWriteFdatasync(benchmark::State& state) {
  const bool prealloc = state.range(0) != 0;
  const int batch = batch_for_last_case();
  std::vector<std::string> batches;
  for (int b = 0; b < 64; ++b) {
    std::string bytes;
    for (int i = 0; i < batch; ++i) append_frame(bytes, 1, sample_line(b * batch + i));
    batches.push_back(std::move(bytes));
  }
  for (auto _ : state) {
    const std::string dir = make_temp_dir();
    const std::string path = dir + "/raw.dat";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    // The writes wrap around inside the zero-filled part, so that the whole run measures
    // writes that change no file size (a fast run writes more than it holds).
    constexpr std::uint64_t kPreallocBytes = 256ULL << 20;
    if (prealloc) {
      const std::string zeros(1 << 20, '\0');
      for (std::uint64_t mb = 0; mb < (kPreallocBytes >> 20); ++mb) {
        if (::write(fd, zeros.data(), zeros.size()) != static_cast<ssize_t>(zeros.size())) {
          std::abort();
        }
      }
      ::fdatasync(fd);
    }
    std::uint64_t offset = 0;
    std::uint64_t records = 0;
    const auto started = Steady::now();
    const auto until = started + std::chrono::duration<double>(run_seconds());
    for (std::size_t b = 0; Steady::now() < until; ++b) {
      const std::string& bytes = batches[b % batches.size()];
      if (prealloc && offset + bytes.size() > kPreallocBytes) offset = 0;
      if (::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) !=
              static_cast<ssize_t>(bytes.size()) ||
          ::fdatasync(fd) != 0) {
        std::abort();
      }
      offset += bytes.size();
      records += static_cast<std::uint64_t>(batch);
    }
    const double seconds = std::chrono::duration<double>(Steady::now() - started).count();
    state.SetIterationTime(seconds);
    ::close(fd);
    double& slot = prealloc ? g_cases.back().raw_prealloc : g_cases.back().raw;
    slot = static_cast<double>(records) / seconds;
    state.counters["records_per_s"] = slot;
    state.counters["batch"] = batch;
    std::filesystem::remove_all(dir);
  }
}

// Baseline (b): SQLite WAL, synchronous=FULL, transactions of the same batch size.
void BM_SqliteWalFull(benchmark::State& state) {
  const int batch = batch_for_last_case();
  std::vector<std::string> lines;
  for (int i = 0; i < 1024; ++i) lines.push_back(sample_line(i));
  for (auto _ : state) {
    const std::string dir = make_temp_dir();
    sqlite3* db = nullptr;
    if (sqlite3_open((dir + "/bench.db").c_str(), &db) != SQLITE_OK) std::abort();
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE events(seq INTEGER PRIMARY KEY, ts INTEGER, kind TEXT, door TEXT,"
                 " user TEXT, decision TEXT, line TEXT NOT NULL);",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* insert = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO events VALUES(?,?,?,?,?,?,?)", -1, &insert, nullptr);
    std::int64_t seq = 0;
    const auto started = Steady::now();
    const auto until = started + std::chrono::duration<double>(run_seconds());
    while (Steady::now() < until) {
      sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
      for (int i = 0; i < batch; ++i) {
        ++seq;
        const std::string& line = lines[static_cast<std::size_t>(seq) % lines.size()];
        sqlite3_bind_int64(insert, 1, seq);
        sqlite3_bind_int64(insert, 2, 1795000000000 + seq);
        sqlite3_bind_text(insert, 3, "decision", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 4, "d1", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 5, "u1", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 6, "grant", -1, SQLITE_STATIC);
        sqlite3_bind_text(insert, 7, line.data(), static_cast<int>(line.size()), SQLITE_STATIC);
        if (sqlite3_step(insert) != SQLITE_DONE) std::abort();
        sqlite3_reset(insert);
      }
      if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) std::abort();
    }
    const double seconds = std::chrono::duration<double>(Steady::now() - started).count();
    state.SetIterationTime(seconds);
    sqlite3_finalize(insert);
    sqlite3_close(db);
    g_cases.back().sqlite = static_cast<double>(seq) / seconds;
    state.counters["records_per_s"] = g_cases.back().sqlite;
    state.counters["batch"] = batch;
    std::filesystem::remove_all(dir);
  }
}

void BM_Crc32cTable(benchmark::State& state) {
  const std::string line = sample_line(1);
  for (auto _ : state) benchmark::DoNotOptimize(crc32c_table(line));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * line.size()));
}

void BM_Crc32cSse42(benchmark::State& state) {
  if (!crc32c_sse42_available()) {
    state.SkipWithError("no SSE4.2");
    return;
  }
  const std::string line = sample_line(1);
  for (auto _ : state) benchmark::DoNotOptimize(crc32c_sse42(line));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * line.size()));
}

// What the flusher does per record before writing: SHA-256 chain hash, line, frame (CRC).
void BM_RecordEncodeHashFrame(benchmark::State& state) {
  JournalRecord r = sample_record(7);
  r.seq = 42;
  r.ts = *parse_utc("2026-11-22T03:04:05.123Z");
  r.prev = std::string(64, 'a');
  std::string out;
  for (auto _ : state) {
    out.clear();
    append_frame(out, r.seq, seal(r));
    benchmark::DoNotOptimize(out.data());
  }
}

// Each journal case is followed by its baselines, which use the mean batch size it reached.
void register_case(const std::string& name, void (*journal_case)(benchmark::State&), int n) {
  auto manual = [](benchmark::internal::Benchmark* b) {
    b->UseManualTime()->Iterations(1)->Unit(benchmark::kSecond);
  };
  manual(benchmark::RegisterBenchmark(("BM_Journal/" + name).c_str(), journal_case)->Arg(n));
  manual(
      benchmark::RegisterBenchmark(("BM_RawWriteFdatasync/" + name).c_str(), BM_RawWriteFdatasync)
          ->ArgName("prealloc")
          ->Arg(0));
  manual(
      benchmark::RegisterBenchmark(("BM_RawWriteFdatasync/" + name).c_str(), BM_RawWriteFdatasync)
          ->ArgName("prealloc")
          ->Arg(1));
  manual(benchmark::RegisterBenchmark(("BM_SqliteWalFull/" + name).c_str(), BM_SqliteWalFull));
}

// Retention at a rotation: the query index forgets one 64-MiB segment's entries (~131 k) out
// of 2 M and frees their part of index.dat. Baseline in the same run: what that cost before,
// erasing them from the front of a vector (every rotation), and rewriting the live entries
// (once the dropped prefix outnumbered them).
constexpr std::size_t kIndexEntries = 2'000'000;
constexpr std::size_t kSegmentEntries = 131'072;

void BM_IndexRetentionDrop(benchmark::State& state) {
  const std::string dir = make_temp_dir();
  bool rebuilt = false;
  auto index = EventIndex::load(dir, {}, 0, rebuilt);
  std::vector<IndexEntry> entries(kIndexEntries + 16 * kSegmentEntries);
  for (std::size_t i = 0; i < entries.size(); ++i) entries[i].seq = i + 1;
  index->append(entries);
  std::uint64_t first = 1;
  for (auto _ : state) {
    first += kSegmentEntries;
    index->drop_before(first);
    index->compact_file();
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_IndexRetentionDrop)->Iterations(16)->Unit(benchmark::kMillisecond);

void BM_IndexRetentionDropVectorBaseline(benchmark::State& state) {
  std::vector<IndexEntry> entries(kIndexEntries + 16 * kSegmentEntries);
  for (auto _ : state) {
    entries.erase(entries.begin(), entries.begin() + kSegmentEntries);
    benchmark::DoNotOptimize(entries.data());
  }
}
BENCHMARK(BM_IndexRetentionDropVectorBaseline)->Iterations(16)->Unit(benchmark::kMillisecond);

void BM_IndexRewriteBaseline(benchmark::State& state) {
  const std::string dir = make_temp_dir();
  const std::vector<IndexEntry> entries(kIndexEntries);
  for (auto _ : state) {
    std::string bytes(16, '\0');
    bytes.append(reinterpret_cast<const char*>(entries.data()),
                 entries.size() * sizeof(IndexEntry));
    const std::string path = dir + "/index.tmp";
    auto fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC);
    if (!fd || !pwrite_all(fd->get(), bytes, 0, path)) {
      state.SkipWithError("cannot write the index copy");
    }
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_IndexRewriteBaseline)->Iterations(4)->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Crc32cTable);
BENCHMARK(BM_Crc32cSse42);
BENCHMARK(BM_RecordEncodeHashFrame);

void print_summary() {
  if (g_cases.empty()) return;
  std::printf(
      "\njournal summary (same run, same disk, TMPDIR=%s, linger %lld us; the service's\n"
      "default [journal] linger_us is 600, CASTELLAN_BENCH_LINGER_US=600 measures it)\n",
      std::filesystem::temp_directory_path().c_str(),
      static_cast<long long>(bench_linger().count()));
  std::printf("%-11s %10s %8s %8s %6s %8s %10s %12s %10s %7s %10s %9s\n", "appenders", "appends/s",
              "p50_us", "p99_us", "batch", "fsync_us", "raw rec/s", "rawpre rec/s", "sqlite/s",
              "vs raw", "vs rawpre", "vs sqlite");
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0; };
  for (const JournalResult& j : g_cases) {
    std::printf(
        "%-11s %10.0f %8.0f %8.0f %6.1f %8.0f %10.0f %12.0f %10.0f %6.0f%% %9.0f%% %8.1fx\n",
        j.name.c_str(), j.appends_per_s, j.p50_us, j.p99_us, j.mean_batch, j.fsync_us, j.raw,
        j.raw_prealloc, j.sqlite, 100 * ratio(j.appends_per_s, j.raw),
        100 * ratio(j.appends_per_s, j.raw_prealloc), ratio(j.appends_per_s, j.sqlite));
  }
  // The journal writes into segments it grew with zeros ahead of the data, so its device limit
  // is the loop over a zero-filled file; the growing file pays for a size change per
  // fdatasync and is shown for reference only.
  std::printf(
      "goals: >= 90%% of rawpre (the device limit, baseline a) at 64 appenders; "
      ">= 5x sqlite (baseline b)\n");
}

}  // namespace

int main(int argc, char** argv) {
  register_case("1_thread", BM_JournalDurableAppend, 1);
  register_case("8_threads", BM_JournalDurableAppend, 8);
  register_case("64_threads", BM_JournalDurableAppend, 64);
  register_case("8_async", BM_JournalAsyncAppend, 8);
  register_case("64_async", BM_JournalAsyncAppend, 64);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_summary();
  return 0;
}
