#include "app/journal_metrics.hpp"

#include <fmt/format.h>

namespace castellan::app {
namespace {

template <std::size_t N, std::size_t M>
void histogram(std::string& out, const char* name, const char* help,
               const std::array<double, N>& bounds, const std::array<std::uint64_t, M>& buckets,
               double sum) {
  static_assert(M == N + 1);
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += buckets[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bounds[i], cumulative);
  }
  cumulative += buckets[N];
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative,
                     name, sum, name, cumulative);
}

void counter(std::string& out, const char* name, const char* help, std::uint64_t value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
}

void gauge(std::string& out, const char* name, const char* help, double value) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n{} {}\n", name, help, name, name, value);
}

}  // namespace

std::string journal_metrics_text(const journal::JournalStats& s) {
  std::string out;
  double batch_sum = 0;  // the journal keeps no exact sum of batch sizes: records per batch
  batch_sum = static_cast<double>(s.records);
  histogram(out, "castellan_journal_batch_size", "Records per fdatasync batch.",
            journal::kBatchSizeBounds, s.batch_size_buckets, batch_sum);
  counter(out, "castellan_journal_bytes_total", "Bytes written to journal segments.", s.bytes);
  counter(out, "castellan_journal_failed_batches_total", "Batches whose write or fdatasync failed.",
          s.failed_batches);
  histogram(out, "castellan_journal_fsync_seconds", "Duration of one fdatasync.",
            journal::kFsyncSecondsBounds, s.fsync_seconds_buckets, s.fsync_seconds_sum);
  gauge(out, "castellan_journal_healthy", "1 while the journal accepts writes, 0 after a failure.",
        s.healthy ? 1 : 0);
  gauge(out, "castellan_journal_index_bytes",
        "Memory held by the journal's query index (64 bytes per retained record).",
        static_cast<double>(s.index_bytes));
  gauge(out, "castellan_journal_last_seq", "Sequence number of the last durable record.",
        static_cast<double>(s.last_seq));
  counter(out, "castellan_journal_records_total", "Records made durable since start.", s.records);
  gauge(out, "castellan_journal_segments", "Segment files on disk.",
        static_cast<double>(s.segments));
  return out;
}

}  // namespace castellan::app
