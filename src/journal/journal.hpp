// Journal: the append-only, tamper-evident, durable access log (contract §5).
//
// Appenders on any thread call append(), which validates the record, encodes its members and
// seals it onto the chain (seq, ts, prev, hash, frame) at once, on the caller's thread. A
// syncer thread writes what is sealed, oldest first, up to `batch_max` records per write with
// one fdatasync each (with a non-zero `linger` and concurrent appends it first waits at most
// that long for as many records as the previous batch had); records sealed meanwhile form the
// next batch. A flusher thread then indexes the batch, shows it to subscribers (the SSE stream)
// in seq order and runs each appender's callback: a record is acknowledged only once it is on
// disk, while the next batch is already on its way; a batch with nothing behind it is
// acknowledged by the syncer itself (journal_impl.hpp).
//
// A failed write or fdatasync (disk full, I/O error) fails the whole batch with 50301, and every
// record sealed after it (they chain onto it); cuts the segment back to its last durable size,
// rewinds the chain to it, and marks the journal unhealthy; every later batch
// tries again and the journal is healthy again as soon as one succeeds. While unhealthy and
// idle, the syncer itself tries every `outage_retry` to write the record of the outage's end,
// so a journal that nobody appends to still finds out that the disk has room again (readiness,
// and the API changes that wait for it). Acknowledged records are never touched.
//
// Opening runs recovery (see recovery.hpp): a torn or CRC-failing tail of the last segment is
// cut, reported in last_recovery(), and recorded as a `resilience` record of its own.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/result.hpp"
#include "journal/record.hpp"

namespace castellan::runtime {
class TaskRegistry;
}

namespace castellan::journal {

struct JournalOptions {
  std::string dir;                            // created if missing
  std::uint64_t segment_bytes = 64ULL << 20;  // rotate once a segment reaches this size
  std::size_t batch_max = 256;                // records per fdatasync at most
  // How long a batch may wait to fill up. 0 (default): write as soon as the syncer is free;
  // the records sealed during one fdatasync form the next batch (docs/benchmarks.md). The
  // service's configuration sets 600 µs by default (core/config.hpp).
  std::chrono::microseconds linger{0};
  std::chrono::seconds retention_age{0};  // 0: keep forever; else drop older whole segments
  std::uint64_t retention_bytes = 0;      // 0: unlimited; else drop oldest segments above it
  // How often an unhealthy, idle journal tries to write again (see above).
  std::chrono::milliseconds outage_retry{1000};
  // Where the syncer and flusher threads register as daemon tasks (runtime/thread_task.hpp):
  // the service passes its registry, so a hung fdatasync shows as a stuck task. Null: none.
  runtime::TaskRegistry* tasks = nullptr;
};

// The [journal] section of the configuration (resolve_default_paths() fills journal.dir).
JournalOptions journal_options(const Config& config);

// What recovery found when the journal was last opened.
struct RecoveryReport {
  bool tail_cut = false;
  std::string segment;           // file name of the segment that was cut
  std::uint64_t cut_offset = 0;  // where the segment now ends
  std::uint64_t bytes_cut = 0;
  std::uint64_t first_cut_seq = 0;  // seq range of the (partial) records cut
  std::uint64_t last_cut_seq = 0;
  std::uint64_t last_seq = 0;  // last intact record after recovery (0: none)
  std::size_t segments = 0;
  bool index_rebuilt = false;   // the query index was missing or stale
  std::string summary() const;  // one human sentence
};

// Bucket upper bounds for the histograms in JournalStats (the last bucket is +Inf).
inline constexpr std::array<double, 10> kBatchSizeBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
inline constexpr std::array<double, 12> kFsyncSecondsBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};

struct JournalStats {
  std::uint64_t records = 0;  // records made durable since open
  std::uint64_t batches = 0;  // fdatasyncs that succeeded
  std::uint64_t bytes = 0;    // bytes written (frames and segment headers)
  std::uint64_t failed_batches = 0;
  std::uint64_t failed_records = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t segments = 0;  // segment files on disk
  // Memory the query index holds: 64 bytes per retained record, never released while the
  // records are kept (docs/operations.md, "Journal size, memory and restart time").
  std::uint64_t index_bytes = 0;
  // Non-cumulative counts: batch_size_buckets[i] counts batches with size in
  // (bounds[i-1], bounds[i]]; the extra last element is the +Inf bucket.
  std::array<std::uint64_t, kBatchSizeBounds.size() + 1> batch_size_buckets{};
  std::array<std::uint64_t, kFsyncSecondsBounds.size() + 1> fsync_seconds_buckets{};
  double fsync_seconds_sum = 0;
  bool healthy = true;
  std::string last_error;  // empty while nothing failed since open
};

inline constexpr std::size_t kMaxQueryLimit = 1000;  // records per query page

struct EventQuery {
  std::string door;  // empty = any
  std::string user;
  std::optional<RecordKind> kind;
  std::string decision;
  std::optional<TimePoint> from;  // inclusive
  std::optional<TimePoint> to;    // inclusive
  std::size_t limit = 100;        // 1..kMaxQueryLimit
  std::string cursor;             // next_cursor of the previous page; empty = newest
};

struct EventPage {
  std::vector<JournalRecord> records;  // newest first
  std::string next_cursor;             // empty: no more records
};

using DurableCallback = std::function<void(Result<JournalRecord>)>;
using RecordCallback = std::function<void(const JournalRecord&)>;

class Journal {
 public:
  // Opens (creating) the journal in options.dir and runs recovery. Fails with 50301 when the
  // directory cannot be used, or when a segment is damaged *before* intact records (that is
  // not a torn tail; cutting would drop acknowledged records, so an operator must look).
  static Result<std::unique_ptr<Journal>> open(JournalOptions options, Clock& clock);

  ~Journal();  // close()
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Writes what is sealed (running its callbacks), then stops both threads: later appends fail
  // with 50301. Queries and unsubscribing keep working until the object is destroyed.
  void close();

  // Seals a record. `on_durable` runs on a journal thread once the record is fsynced, with
  // seq/ts/prev/hash filled, or with 50301 when it could not be written (disk full, I/O
  // error). An invalid record (bad UTF-8, bad extra, over 1 MiB: 40001) or an append to a
  // closing journal (50301) fails at once, on the calling thread.
  void append(JournalRecord record, DurableCallback on_durable);

  // append() and wait for the outcome, at most `timeout`: a disk that hangs (at start, where
  // the server journals its tail cut and recovered changes) then gives 50401 and a log line
  // instead of a start that hangs without a word. The record may still be written later.
  static constexpr std::chrono::milliseconds kAppendWait{30000};
  Result<JournalRecord> append_and_wait(JournalRecord record,
                                        std::chrono::milliseconds timeout = kAppendWait);

  class Subscription {
   public:
    Subscription() = default;
    ~Subscription();
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    void reset();  // unsubscribes; after it returns the callback is never called again

   private:
    friend class Journal;
    Subscription(Journal* journal, std::uint64_t id) : journal_(journal), id_(id) {}
    Journal* journal_ = nullptr;
    std::uint64_t id_ = 0;
  };

  // `callback` runs on a journal thread for every record made durable after this call, in
  // seq order, before the appenders' own callbacks for that batch. Keep it short and non-blocking;
  // do not subscribe, or destroy the Subscription, from inside it. The Subscription must not
  // outlive the Journal.
  [[nodiscard]] Subscription subscribe(RecordCallback callback);

  // Records matching every given filter, newest first. 40001 for a bad limit or cursor.
  Result<EventPage> query(const EventQuery& query) const;
  // The seqs of the oldest and the newest record a query can find (retention moves the
  // oldest up); {0, 0} for a journal without records.
  std::pair<std::uint64_t, std::uint64_t> seq_range() const;

  bool healthy() const;
  std::string last_error() const;
  JournalStats stats() const;
  const RecoveryReport& last_recovery() const;
  const JournalOptions& options() const;

  // Fault injection: the syncer pauses `ms` before its next write (appends queue up).
  void stall_for(std::chrono::milliseconds ms);

  class Impl;

 private:
  explicit Journal(std::unique_ptr<Impl> impl);
  void unsubscribe(std::uint64_t id);
  std::unique_ptr<Impl> impl_;
};

}  // namespace castellan::journal
