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
#include <shared_mutex>
#include <thread>

#include "core/log.hpp"
#include "core/thread_name.hpp"
#include "journal/file_io.hpp"
#include "journal/index.hpp"
#include "journal/journal.hpp"
#include "journal/query.hpp"
#include "journal/recovery.hpp"
#include "journal/segment_writer.hpp"

namespace castellan::journal {
namespace detail {

struct Pending {
  JournalRecord record;
  std::string members;  // encode_members(record)
  DurableCallback done;
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

inline Error closing_error() {
  return make_error(Code::ERR_UNAVAILABLE, "journal is closing; record not written");
}

}  // namespace detail

using detail::closing_error;
using detail::observe;
using detail::Pending;
using detail::SegmentInfo;

class Journal::Impl {
 public:
  Impl(JournalOptions options, Clock& clock) : options_(std::move(options)), clock_(clock) {}

  void start() {
    flusher_ = std::thread([this] {
      name_this_thread("journal");
      run();
    });
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (flusher_.joinable()) flusher_.join();
  }

  void enqueue(Pending pending) {
    {
      std::unique_lock lock(mu_);
      if (!stopping_) {
        queue_.push_back(std::move(pending));
        // While the flusher lingers for a batch, waking it for every record would cost a
        // context switch per record: wake it when the batch it waits for is complete.
        const bool wake = queue_.size() >= wake_at_;
        lock.unlock();
        if (wake) cv_.notify_one();
        return;
      }
    }
    pending.done(closing_error());
  }

  // Flusher thread: take a batch, write it, acknowledge it; drain the queue before stopping.
  void run() {
    std::vector<Pending> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        // Linger only when appends are concurrent (the last batch had company), and only
        // until as many records wait as the last batch held: appenders that were just
        // acknowledged come back within microseconds, and a lone appender never waits for
        // records that are not coming.
        const std::size_t want = std::min(last_batch_size_, options_.batch_max);
        if (options_.linger.count() > 0 && want > 1 && queue_.size() < want && !stopping_) {
          wake_at_ = want;
          cv_.wait_for(lock, options_.linger, [&] { return queue_.size() >= want || stopping_; });
          wake_at_ = 1;
        }
        const std::size_t n = std::min(queue_.size(), options_.batch_max);
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        const auto stall = std::chrono::milliseconds(stall_ms_.exchange(0));
        if (stall.count() > 0) cv_.wait_for(lock, stall, [&] { return stopping_; });
      }
      last_batch_size_ = batch.size();
      write_batch(batch);
    }
  }

  void write_batch(std::vector<Pending>& batch) {
    // A segment that could not be cut back after a failed write may hold a partial batch
    // past its durable end: never rotate away from it (it would stop being the last segment,
    // where recovery looks for torn tails). A restart repairs it.
    if (writer_.broken()) {
      return fail_batch(batch, make_error(Code::ERR_UNAVAILABLE,
                                          "segment " + writer_.path() +
                                              " could not be restored after a write error; "
                                              "restart to recover it"));
    }
    if (!writer_.is_open() || (writer_.has_records() && writer_.size() >= options_.segment_bytes)) {
      auto rotated = rotate();
      if (!rotated) return fail_batch(batch, rotated.error());
    }
    std::string bytes;
    bytes.reserve(batch.size() * 400);
    std::vector<IndexEntry> entries;
    entries.reserve(batch.size());
    std::string prev = last_hash_;
    for (std::size_t i = 0; i < batch.size(); ++i) {
      JournalRecord& r = batch[i].record;
      r.seq = next_seq_ + i;
      if (r.ts == TimePoint{}) r.ts = clock_.now();
      r.ts = std::chrono::floor<std::chrono::milliseconds>(r.ts);
      r.prev = std::move(prev);
      const std::string line = seal(r, batch[i].members);
      prev = r.hash;
      entries.push_back(make_index_entry(r, writer_.first_seq(), writer_.size() + bytes.size()));
      append_frame(bytes, r.seq, line, i + 1 == batch.size());
    }
    const auto started = clock_.monotonic();
    auto written = writer_.write_and_sync(bytes);
    const double seconds = std::chrono::duration<double>(clock_.monotonic() - started).count();
    if (!written) return fail_batch(batch, written.error());

    next_seq_ += batch.size();
    last_hash_ = std::move(prev);
    segments_.back().size = writer_.size();
    {
      std::unique_lock lock(index_mu_);
      index_.append(entries);
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.records += batch.size();
      stats_.batches += 1;
      stats_.bytes += bytes.size();
      stats_.last_seq = next_seq_ - 1;
      observe(stats_.batch_size_buckets, kBatchSizeBounds, static_cast<double>(batch.size()));
      observe(stats_.fsync_seconds_buckets, kFsyncSecondsBounds, seconds);
      stats_.fsync_seconds_sum += seconds;
      stats_.healthy = true;
    }
    if (!healthy_.exchange(true)) spdlog::info("journal writes succeed again");
    {
      // Subscribers first: by the time an appender hears "durable", the stream has it too.
      std::lock_guard lock(subs_mu_);
      for (const auto& p : batch) {
        for (auto& [id, callback] : subscribers_) callback(p.record);
      }
    }
    for (auto& p : batch) p.done(p.record);
    // After the acknowledgements: dropping old segments must not delay the batch that rotated.
    if (retention_due_) {
      retention_due_ = false;
      apply_retention();
    }
  }

  void fail_batch(std::vector<Pending>& batch, const Error& error) {
    const Error e = make_error(Code::ERR_UNAVAILABLE, "journal write failed: " + error.message);
    {
      std::lock_guard lock(stats_mu_);
      stats_.failed_batches += 1;
      stats_.failed_records += batch.size();
      stats_.healthy = false;
      stats_.last_error = e.message;
    }
    if (healthy_.exchange(false)) spdlog::error("{}", e.message);
    for (auto& p : batch) p.done(e);
  }

  Result<void> rotate() {
    SegmentHeader header{next_seq_, last_hash_, to_unix_ms(clock_.now())};
    auto created = SegmentWriter::create(options_.dir, header);
    if (!created) return created.error();
    writer_.trim();
    writer_ = std::move(*created);
    segments_.push_back({header.first_seq, header.created_unix_ms, writer_.size(), writer_.path()});
    {
      std::lock_guard lock(stats_mu_);
      stats_.bytes += kSegmentHeaderBytes;
    }
    retention_due_ = true;
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

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::size_t wake_at_ = 1;  // enqueue wakes the flusher once the queue holds this many
  bool stopping_ = false;
  std::thread flusher_;
  std::atomic<std::int64_t> stall_ms_{0};

  // Owned by the flusher thread once started.
  SegmentWriter writer_;
  std::vector<SegmentInfo> segments_;
  bool retention_due_ = false;  // a rotation happened: apply retention after the batch
  std::uint64_t next_seq_ = 1;
  std::string last_hash_;
  std::size_t last_batch_size_ = 0;

  mutable std::shared_mutex index_mu_;
  EventIndex index_;

  mutable std::mutex stats_mu_;
  JournalStats stats_;
  std::atomic<bool> healthy_{true};

  std::mutex subs_mu_;
  std::map<std::uint64_t, RecordCallback> subscribers_;
  std::uint64_t next_subscriber_ = 1;
};

}  // namespace castellan::journal
