// Journal::Impl: the state and the flusher thread behind Journal (journal.hpp). Private to
// src/journal/; split out of journal.cpp only to keep files small.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "core/writer_first_mutex.hpp"
#include "journal/file_io.hpp"
#include "journal/index.hpp"
#include "journal/journal.hpp"
#include "journal/query.hpp"
#include "journal/recovery.hpp"
#include "journal/segment_writer.hpp"
#include "runtime/thread_task.hpp"

namespace castellan::journal {
namespace detail {

struct Pending {
  JournalRecord record;
  std::string members;  // encode_members(record)
  DurableCallback done;
  bool outage_end = false;  // the record of a write outage's end
};

struct SegmentInfo {
  std::uint64_t first_seq = 0;
  std::int64_t created_ms = 0;
  std::uint64_t size = 0;
  std::string path;
};

template <std::size_t N>
inline void observe(std::array<std::uint64_t, N + 1>& buckets, const std::array<double, N>& bounds,
                    double value) {
  std::size_t i = 0;
  while (i < N && value > bounds[i]) ++i;
  ++buckets[i];
}

// What appenders hear when their records could not be written.
inline Error write_failed(const Error& cause) {
  return make_error(Code::ERR_UNAVAILABLE, "journal write failed: " + cause.message);
}

inline Error closing_error() {
  return make_error(Code::ERR_UNAVAILABLE, "journal is closing; record not written");
}

}  // namespace detail

using detail::closing_error;
using detail::observe;
using detail::Pending;
using detail::SegmentInfo;
using detail::write_failed;

// Appenders, a syncer thread and a flusher thread form a pipeline that keeps the disk busy
// with fdatasyncs back to back:
//  - an appender seals its record (seq, ts, prev, hash, frame) onto the chain at once, under
//    mu_, into the chunk that the next fdatasync will take;
//  - the syncer ("journal-sync") takes the oldest sealed chunk, writes it with one pwrite and
//    makes it durable with one fdatasync (a "batch"), starting a new segment first when the
//    chunk begins one, and hands it to the flusher;
//  - the flusher ("journal") indexes, publishes and acknowledges durable chunks, and applies
//    retention, while the syncer writes the next one.
// When nothing else is sealed and the flusher is idle, the syncer acknowledges the chunk
// itself: there is no next write to overlap, and a lone appender is spared a thread hop.
// Whoever acknowledges holds `acking_`, so chunks are acknowledged one at a time, in order.
// Sealing runs ahead of the disk. If a write fails, every chunk sealed after the last durable
// one chains onto records that were lost: all of them fail, and the chain (seq, hash, offset)
// is rewound to the durable end, in one step under mu_.
class Journal::Impl {
 public:
  // Sealed records that one fdatasync makes durable.
  struct Chunk {
    std::vector<Pending> batch;
    std::string bytes;           // their frames
    std::size_t last_frame = 0;  // offset in `bytes` of the last frame
    std::vector<IndexEntry> entries;
    std::uint64_t end = 0;  // where the segment's data ends once the chunk is written
    std::optional<SegmentHeader> new_segment;  // the chunk begins this segment
    std::optional<SegmentInfo> opened;         // set by the syncer once it created new_segment
    Result<void> result;                       // set by the syncer
    bool outage_end = false;                   // holds the record of a write outage's end
  };

  Impl(JournalOptions options, Clock& clock) : options_(std::move(options)), clock_(clock) {}

  void start() {
    durable_next_seq_ = next_seq_;
    durable_hash_ = last_hash_;
    tail_ = writer_.size();
    segment_first_seq_ = writer_.first_seq();
    syncer_ = std::thread([this] {
      name_this_thread("journal-sync");
      const runtime::ThreadTask task(options_.tasks, "journal syncer", "journal");
      sync_loop(task.ref());
    });
    flusher_ = std::thread([this] {
      name_this_thread("journal");
      const runtime::ThreadTask task(options_.tasks, "journal flusher", "journal");
      run(task.ref());
    });
  }

  // Writes and acknowledges everything sealed, then ends both threads.
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    sync_cv_.notify_all();
    if (syncer_.joinable()) syncer_.join();
    {
      std::lock_guard lock(mu_);
      syncer_done_ = true;
    }
    cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
  }

  // Appender's thread: seals the record onto the chain for the next fdatasync.
  void enqueue(Pending pending) {
    std::unique_lock lock(mu_);
    if (stopping_) {
      lock.unlock();
      return pending.done(closing_error());
    }
    if (sealed_.empty() || sealed_.back().batch.size() >= options_.batch_max || rotation_due()) {
      sealed_.emplace_back();
      if (rotation_due()) {
        sealed_.back().new_segment = SegmentHeader{next_seq_, last_hash_, to_unix_ms(clock_.now())};
        segment_first_seq_ = next_seq_;
        tail_ = kSegmentHeaderBytes;
      }
    }
    Chunk& chunk = sealed_.back();
    JournalRecord& r = pending.record;
    r.seq = next_seq_++;
    if (r.ts == TimePoint{}) r.ts = clock_.now();
    r.ts = std::chrono::floor<std::chrono::milliseconds>(r.ts);
    r.prev = std::move(last_hash_);
    const std::string line = seal(r, pending.members);
    last_hash_ = r.hash;
    chunk.entries.push_back(make_index_entry(r, segment_first_seq_, tail_));
    chunk.last_frame = chunk.bytes.size();
    append_frame(chunk.bytes, r.seq, line);
    tail_ += chunk.bytes.size() - chunk.last_frame;
    chunk.end = tail_;
    chunk.outage_end = chunk.outage_end || pending.outage_end;
    chunk.batch.push_back(std::move(pending));
    // A syncer that lingers for a fuller batch is woken once it is full; an idle one at once.
    const bool wake = syncer_waiting_ && sealed_.front().batch.size() >= sync_wake_at_;
    lock.unlock();
    if (wake) sync_cv_.notify_one();
  }

  // Under mu_. A full segment's successor begins with the next sealed record.
  bool rotation_due() const {
    return tail_ > kSegmentHeaderBytes && tail_ >= options_.segment_bytes;
  }

  // Syncer thread: writes the sealed chunks, oldest first, one batch each; once stopping,
  // returns when none is left.
  void sync_loop(runtime::TaskRef self) {
    for (;;) {
      Chunk chunk;
      {
        std::unique_lock lock(mu_);
        syncer_waiting_ = true;
        {
          const runtime::WaitMarker idle(self, "journal: next record", runtime::WaitKind::kIdle);
          const auto work = [&] { return !sealed_.empty() || stopping_; };
          if (healthy_.load()) {
            sync_cv_.wait(lock, work);
          } else if (!sync_cv_.wait_for(lock, options_.outage_retry, work)) {
            syncer_waiting_ = false;  // failing and idle: try the outage's end record
            lock.unlock();
            record_outage_end(/*retry=*/true);
            continue;
          }
          // Linger only when appends are concurrent (the last batch had company), and only
          // until as many records wait as the last batch held: appenders that were just
          // acknowledged come back within microseconds, and a lone appender never waits for
          // records that are not coming.
          const std::size_t want = std::min(last_batch_size_, options_.batch_max);
          if (options_.linger.count() > 0 && want > 1 && !stopping_ &&
              sealed_.front().batch.size() < want) {
            sync_wake_at_ = want;
            sync_cv_.wait_for(lock, options_.linger,
                              [&] { return sealed_.front().batch.size() >= want || stopping_; });
            sync_wake_at_ = 1;
          }
        }
        syncer_waiting_ = false;
        if (sealed_.empty()) return;  // stopping, and everything is written
        const auto stall = std::chrono::milliseconds(stall_ms_.exchange(0));
        if (stall.count() > 0) {
          const runtime::WaitMarker stalled(self, "journal: injected stall");
          sync_cv_.wait_for(lock, stall, [&] { return stopping_; });
        }
        chunk = std::move(sealed_.front());
        sealed_.pop_front();
      }
      last_batch_size_ = chunk.batch.size();
      {
        const runtime::WaitMarker writing(self, "journal: write and fdatasync");
        chunk.result = write(chunk);
      }
      bool ack_here = false;
      {
        std::lock_guard lock(mu_);
        if (chunk.result) {
          durable_next_seq_ = chunk.batch.back().record.seq + 1;
          durable_hash_ = chunk.batch.back().record.hash;
          ack_here = sealed_.empty() && synced_.empty() && !acking_;
          if (ack_here) {
            acking_ = true;
          } else {
            synced_.push_back(std::move(chunk));
          }
        } else {
          rewind_after(std::move(chunk));
        }
      }
      if (ack_here) {
        acknowledge(chunk);
        std::lock_guard lock(mu_);
        acking_ = false;
      }
      cv_.notify_one();
    }
  }

  // Syncer thread: starts the chunk's segment if it begins one, writes and syncs it.
  Result<void> write(Chunk& chunk) {
    // A segment that could not be cut back after a failed write may hold a partial batch
    // past its durable end: never rotate away from it (it would stop being the last segment,
    // where recovery looks for torn tails). A restart repairs it.
    if (writer_.broken()) {
      return fail(chunk, make_error(Code::ERR_UNAVAILABLE,
                                    "segment " + writer_.path() +
                                        " could not be restored after a write error; "
                                        "restart to recover it"));
    }
    if (chunk.new_segment) {
      auto opened = open_segment(*chunk.new_segment);
      if (!opened) return fail(chunk, opened.error());
      chunk.opened = std::move(*opened);
    }
    // Only the last frame of a write carries the batch-end mark (see segment.hpp).
    mark_batch_end(chunk.bytes, chunk.last_frame);
    const auto started = clock_.monotonic();
    auto written = writer_.write_and_sync(chunk.bytes);
    const double seconds = std::chrono::duration<double>(clock_.monotonic() - started).count();
    if (!written) return fail(chunk, written.error());
    {
      std::lock_guard lock(stats_mu_);
      stats_.records += chunk.batch.size();
      stats_.batches += 1;
      stats_.bytes += chunk.bytes.size();
      stats_.last_seq = chunk.batch.back().record.seq;
      observe(stats_.batch_size_buckets, kBatchSizeBounds, static_cast<double>(chunk.batch.size()));
      observe(stats_.fsync_seconds_buckets, kFsyncSecondsBounds, seconds);
      stats_.fsync_seconds_sum += seconds;
      stats_.healthy = true;
    }
    if (!healthy_.exchange(true)) {
      spdlog::info("journal writes succeed again");
      if (!chunk.outage_end) record_outage_end(/*retry=*/false);
    }
    return {};
  }

  // Syncer thread, under mu_: `failed` was not written. It and every chunk sealed after it
  // fail; the next record is sealed onto the durable end.
  void rewind_after(Chunk failed) {
    const Error error = failed.result.error();
    synced_.push_back(std::move(failed));
    for (Chunk& later : sealed_) {
      note_failure(later.batch.size(), error);
      later.result = error;
      synced_.push_back(std::move(later));
    }
    sealed_.clear();
    next_seq_ = durable_next_seq_;
    last_hash_ = durable_hash_;
    tail_ = writer_.size();  // the writer cut the file back to its durable data
    segment_first_seq_ = writer_.first_seq();
  }

  // Syncer thread: counts a failed batch and returns what its appenders hear.
  Error fail(const Chunk& chunk, const Error& cause) {
    Error error = write_failed(cause);
    note_failure(chunk.batch.size() - (chunk.outage_end ? 1 : 0), error);  // refused ones
    return error;
  }

  // Counts a failed batch and marks the journal unhealthy.
  void note_failure(std::size_t records, const Error& error) {
    {
      std::lock_guard lock(stats_mu_);
      stats_.failed_batches += 1;
      stats_.failed_records += records;
      stats_.healthy = false;
      stats_.last_error = error.message;
    }
    if (healthy_.exchange(false)) {
      spdlog::error("{}", error.message);
      outage_began_ = clock_.now();
      outage_failed_records_ = 0;
    }
    outage_failed_records_ += records;
    outage_error_ = error.message;
  }

  // Syncer thread, after the first write that succeeds again (or, `retry`, to find out whether
  // one would): the journal could not record its own outage while it lasted, so one
  // `resilience` record says now when it began, how many records it refused and why (contract
  // §5: degradation on/off). Defined in journal.cpp.
  void record_outage_end(bool retry);

  // Flusher thread: acknowledges what the syncer wrote; returns once the syncer has ended and
  // everything is acknowledged.
  void run(runtime::TaskRef self) {
    std::deque<Chunk> done;
    for (;;) {
      {
        std::unique_lock lock(mu_);
        const runtime::WaitMarker idle(self, "journal: next durable batch",
                                       runtime::WaitKind::kIdle);
        cv_.wait(lock, [&] { return (!synced_.empty() && !acking_) || syncer_done_; });
        if (synced_.empty()) return;  // the syncer has ended: it acknowledges nothing more
        done.swap(synced_);
        acking_ = true;
      }
      for (Chunk& chunk : done) acknowledge(chunk);
      done.clear();
      std::lock_guard lock(mu_);
      acking_ = false;
    }
  }

  // The thread holding acking_: indexes, publishes and acknowledges a durable chunk; fails a
  // failed one.
  void acknowledge(Chunk& chunk) {
    if (chunk.opened) {  // even if the write that followed failed: the file exists
      segments_.push_back(*chunk.opened);
      retention_due_ = true;
    }
    if (!chunk.result) {
      for (auto& p : chunk.batch) p.done(chunk.result.error());
      return;
    }
    {
      std::unique_lock lock(index_mu_);
      index_.append(chunk.entries);
    }
    // Not under the lock (a stalled disk would hold up every reader, /metrics on an io thread
    // among them): this thread alone writes the file.
    index_.append_to_file(chunk.entries);
    segments_.back().size = chunk.end;
    {
      // Subscribers first: by the time an appender hears "durable", the stream has it too.
      std::lock_guard lock(subs_mu_);
      for (const auto& p : chunk.batch) {
        for (auto& [id, callback] : subscribers_) callback(p.record);
      }
    }
    for (auto& p : chunk.batch) p.done(p.record);
    // After the acknowledgements: dropping old segments must not delay the batch that rotated.
    if (retention_due_) {
      retention_due_ = false;
      apply_retention();
    }
  }

  // Creates the segment `header` begins and makes it the one written; the one before is
  // trimmed. Before start() or on the syncer thread.
  Result<SegmentInfo> open_segment(const SegmentHeader& header) {
    auto created = SegmentWriter::create(options_.dir, header);
    if (!created) return created.error();
    writer_.trim();
    writer_ = std::move(*created);
    {
      std::lock_guard lock(stats_mu_);
      stats_.bytes += kSegmentHeaderBytes;
    }
    return SegmentInfo{header.first_seq, header.created_unix_ms, writer_.size(), writer_.path()};
  }

  // Before start(): begins a new segment after the last record.
  Result<void> rotate() {
    auto opened = open_segment(SegmentHeader{next_seq_, last_hash_, to_unix_ms(clock_.now())});
    if (!opened) return opened.error();
    segments_.push_back(*opened);
    return {};
  }

  // Drops whole old segments (never the active one) past the age or size limit. The first
  // remaining segment's header carries the anchor its first record chains from.
  void apply_retention() {
    const std::int64_t now_ms = to_unix_ms(clock_.now());
    const std::int64_t age_ms = options_.retention_age.count() * 1000;
    std::uint64_t total = 0;
    for (const auto& s : segments_) total += s.size;
    std::size_t drop = 0;
    while (drop + 1 < segments_.size()) {
      // Every record of a segment was written before the next segment was created.
      const std::int64_t next_created = segments_[drop + 1].created_ms;
      const bool too_old = age_ms > 0 && next_created > 0 && next_created < now_ms - age_ms;
      const bool too_big = options_.retention_bytes > 0 && total > options_.retention_bytes;
      if (!too_old && !too_big) break;
      total -= segments_[drop].size;
      ++drop;
    }
    if (drop > 0) {
      {
        std::unique_lock lock(index_mu_);
        index_.drop_before(segments_[drop].first_seq);
      }
      // Not under the lock: queries only read the entries, and this thread alone changes them.
      index_.compact_file();
      for (std::size_t i = 0; i < drop; ++i) ::unlink(segments_[i].path.c_str());
      spdlog::info("journal retention removed {} segment(s) before seq {}", drop,
                   segments_[drop].first_seq);
      segments_.erase(segments_.begin(), segments_.begin() + static_cast<std::ptrdiff_t>(drop));
    }
    if (drop > 0) (void)fsync_dir(options_.dir);
    std::lock_guard lock(stats_mu_);
    stats_.segments = segments_.size();
  }

  JournalOptions options_;
  Clock& clock_;
  Fd lock_file_;
  RecoveryReport recovery_;

  // Under mu_: the chain as sealed (ahead of the disk) and the pipeline.
  std::mutex mu_;
  std::condition_variable sync_cv_;  // wakes the syncer
  std::condition_variable cv_;       // wakes the flusher
  bool stopping_ = false;
  bool syncer_done_ = false;
  bool syncer_waiting_ = false;
  bool acking_ = false;           // a thread is acknowledging chunks (see the class comment)
  std::size_t sync_wake_at_ = 1;  // a waiting syncer is woken once a chunk holds this many
  std::deque<Chunk> sealed_;      // waiting for the syncer, oldest first
  std::deque<Chunk> synced_;      // written (or failed), waiting for the flusher
  std::uint64_t next_seq_ = 1;
  std::string last_hash_;
  std::uint64_t tail_ = 0;  // where the active segment's data ends once all sealed is written
  std::uint64_t segment_first_seq_ = 0;  // of the segment the next record goes to
  std::uint64_t durable_next_seq_ = 1;   // the chain's durable end
  std::string durable_hash_;

  // The syncer's once started.
  SegmentWriter writer_;
  std::size_t last_batch_size_ = 0;
  std::atomic<std::int64_t> stall_ms_{0};

  // The acknowledging thread's (acking_) once started.
  std::vector<SegmentInfo> segments_;
  bool retention_due_ = false;  // a segment began: apply retention after its first batch

  std::thread syncer_;
  std::thread flusher_;

  // Writer first: the acknowledging thread adds each batch under it, queries read under it.
  mutable WriterFirstMutex index_mu_;
  EventIndex index_;

  mutable std::mutex stats_mu_;
  JournalStats stats_;
  std::atomic<bool> healthy_{true};
  // The current write outage (syncer thread only): when it began, what it refused, why.
  TimePoint outage_began_{};
  std::uint64_t outage_failed_records_ = 0;
  std::string outage_error_;

  std::mutex subs_mu_;
  std::map<std::uint64_t, RecordCallback> subscribers_;
  std::uint64_t next_subscriber_ = 1;
};

}  // namespace castellan::journal
