#include "journal/journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <future>

#include "core/log.hpp"
#include "journal/journal_impl.hpp"
#include "journal/query.hpp"
#include "journal/recovery.hpp"

namespace castellan::journal {
namespace {

// The `resilience` record of a tail cut; `extra` is tail_cut_extra() of its report.
Result<JournalRecord> journal_tail_cut(Journal& journal, std::string extra) {
  JournalRecord record;
  record.kind = RecordKind::resilience;
  record.source = "journal";
  record.extra = std::move(extra);
  return journal.append_and_wait(std::move(record));
}

// Journals each record noted in DIR/tail-cut.pending (tail cuts and missing records, of this
// open or an earlier one whose record could not be written), then removes the note. If an
// append fails, the note stays for the next open.
void journal_pending_cuts(Journal& journal, const std::string& dir) {
  const std::string path = dir + "/" + kPendingCutsFile;
  if (::access(path.c_str(), F_OK) != 0) return;
  auto text = read_to_end(path);
  if (!text) {
    spdlog::error("journal: cannot read {}: {}", path, text.error().message);
    return;
  }
  std::string_view rest = *text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    if (line.empty()) continue;
    auto appended = journal_tail_cut(journal, std::string(line));
    if (!appended && appended.error().code == Code::ERR_BAD_REQUEST) {
      spdlog::warn("journal: skipping a torn line of {}: {}", path, line);
    } else if (!appended) {
      spdlog::error("journal: cannot record the tail cut yet (kept in {}): {}", path,
                    appended.error().message);
      return;
    }
  }
  ::unlink(path.c_str());
  (void)fsync_dir(dir);
}

}  // namespace

Result<std::unique_ptr<Journal>> Journal::open(JournalOptions options, Clock& clock) {
  if (options.dir.empty()) return make_error(Code::ERR_UNAVAILABLE, "journal dir is not set");
  if (options.batch_max < 1) options.batch_max = 1;
  if (options.segment_bytes < 4096) options.segment_bytes = 4096;
  auto made = make_dirs(options.dir);
  if (!made) return made.error();
  auto impl = std::make_unique<Impl>(options, clock);

  // One writer per directory: a second process would interleave seqs.
  const std::string lock_path = options.dir + "/LOCK";
  auto lock = open_file(lock_path, O_RDWR | O_CREAT);
  if (!lock) return lock.error();
  if (::flock(lock->get(), LOCK_EX | LOCK_NB) != 0) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "journal " + options.dir + " is in use by another process");
  }
  impl->lock_file_ = std::move(*lock);

  auto recovered = recover_journal(options.dir);
  if (!recovered) return recovered.error();
  RecoveredState& state = *recovered;
  // index.dat lists only records whose batch was synced, so seqs it lists past the segments'
  // end were acknowledged and are gone (the newest segments deleted, a file cut short). New
  // records take those seqs again, so the loss is noted before the index forgets them, and
  // journaled below.
  auto on_lost = [&](std::uint64_t indexed) {
    spdlog::error(
        "journal {}: records seq {}..{} were acknowledged (index.dat lists them) but the segments "
        "end at seq {}; they are lost, and new records continue from seq {}",
        options.dir, state.last_seq + 1, indexed, state.last_seq, state.last_seq + 1);
    if (auto noted =
            note_pending_record(options.dir, records_missing_extra(state.last_seq + 1, indexed));
        !noted) {
      spdlog::error("journal: cannot note the missing records: {}", noted.error().message);
    }
  };
  bool rebuilt = false;
  auto index = EventIndex::load(options.dir, state.segments, state.last_seq, rebuilt, on_lost);
  if (!index) return index.error();
  impl->index_ = std::move(*index);
  impl->recovery_ = state.report;
  impl->recovery_.index_rebuilt = rebuilt;
  impl->next_seq_ = state.last_seq + 1;
  impl->last_hash_ = state.last_hash;
  for (std::size_t i = 0; i < state.segments.size(); ++i) {
    const auto& s = state.segments[i];
    impl->segments_.push_back({s.first_seq, state.created_ms[i], s.size, s.path});
  }
  // A version 1 segment is not continued: new frames carry batch marks its header does not
  // promise (and an older binary would misread them). The next record starts a new segment.
  if (!state.segments.empty() && state.active_version >= 2) {
    auto writer = SegmentWriter::open_existing(state.segments.back(), state.active_size);
    if (!writer) return writer.error();
    impl->writer_ = std::move(*writer);
    impl->apply_retention();
  } else {
    // A version 1 segment without a record has the name the new segment takes (its first seq
    // is the next one): the new file replaces it, so it must not stay listed as well.
    if (!impl->segments_.empty() && impl->segments_.back().first_seq == impl->next_seq_) {
      impl->segments_.pop_back();
    }
    auto rotated = impl->rotate();
    if (!rotated) return rotated.error();
  }
  impl->stats_.last_seq = state.last_seq;
  impl->start();
  std::unique_ptr<Journal> journal(new Journal(std::move(impl)));

  const RecoveryReport& report = journal->last_recovery();
  if (report.tail_cut) {
    spdlog::warn("{}", report.summary());
  } else if (report.index_rebuilt) {
    spdlog::info("{}", report.summary());
  }
  if (report.tail_cut && !state.cut_noted) {
    if (auto r = journal_tail_cut(*journal, tail_cut_extra(report)); !r) {
      spdlog::error("journal: cannot record the tail cut: {}", r.error().message);
    }
  }
  journal_pending_cuts(*journal, options.dir);
  return journal;
}

void Journal::Impl::record_outage_end(bool retry) {
  JournalRecord r;
  r.kind = RecordKind::resilience;
  r.source = "journal";
  r.extra = outage_end_extra(outage_began_, outage_failed_records_, outage_error_);
  auto valid = validate_and_normalize(r);
  if (!valid) {
    spdlog::error("journal outage not recorded: {}", valid.error().message);
    return;
  }
  std::string members = encode_members(r);
  // A retry that fails is the outage going on, already logged when it began.
  DurableCallback done = [retry](const Result<JournalRecord>& written) {
    if (!written && !retry) {
      spdlog::error("journal outage not recorded: {}", written.error().message);
    }
  };
  enqueue(Pending{std::move(r), std::move(members), std::move(done), /*outage_end=*/true});
}

Journal::Journal(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Journal::~Journal() {
  close();
}

void Journal::close() {
  impl_->stop();
}

void Journal::append(JournalRecord record, DurableCallback on_durable) {
  auto valid = validate_and_normalize(record);
  if (!valid) {
    on_durable(valid.error());
    return;
  }
  // Encoded here, on the appender's thread: the writer only adds seq, ts, prev and the hash.
  std::string members = encode_members(record);
  if (members.size() + kSealedLineOverhead > kMaxPayloadBytes) {
    on_durable(make_error(Code::ERR_BAD_REQUEST, "journal record is larger than 1 MiB"));
    return;
  }
  impl_->enqueue(Pending{std::move(record), std::move(members), std::move(on_durable)});
}

Result<JournalRecord> Journal::append_and_wait(JournalRecord record,
                                               std::chrono::milliseconds timeout) {
  // Shared: the callback may run after a wait that gave up has returned.
  auto promise = std::make_shared<std::promise<Result<JournalRecord>>>();
  auto future = promise->get_future();
  const RecordKind kind = record.kind;
  append(std::move(record),
         [promise](Result<JournalRecord> result) { promise->set_value(std::move(result)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    spdlog::error("journal {}: a {} record was not durable within {} ms (the disk may be stalled)",
                  impl_->options_.dir, kind_name(kind), timeout.count());
    return make_error(Code::ERR_TIMEOUT, "journal record not durable within " +
                                             std::to_string(timeout.count()) +
                                             " ms; it may still be written");
  }
  return future.get();
}

Journal::Subscription Journal::subscribe(RecordCallback callback) {
  std::lock_guard lock(impl_->subs_mu_);
  const std::uint64_t id = impl_->next_subscriber_++;
  impl_->subscribers_.emplace(id, std::move(callback));
  return Subscription(this, id);
}

void Journal::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(impl_->subs_mu_);
  impl_->subscribers_.erase(id);
}

Journal::Subscription::~Subscription() {
  reset();
}

Journal::Subscription::Subscription(Subscription&& other) noexcept
    : journal_(std::exchange(other.journal_, nullptr)), id_(other.id_) {}

Journal::Subscription& Journal::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    journal_ = std::exchange(other.journal_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void Journal::Subscription::reset() {
  if (journal_ != nullptr) std::exchange(journal_, nullptr)->unsubscribe(id_);
}

std::pair<std::uint64_t, std::uint64_t> Journal::seq_range() const {
  std::shared_lock lock(impl_->index_mu_);
  const auto& entries = impl_->index_.entries();
  if (entries.empty()) return {0, 0};
  return {entries.front().seq, entries.back().seq};
}

Result<EventPage> Journal::query(const EventQuery& query) const {
  return run_query(impl_->options_.dir, query, [&](std::uint64_t below, std::size_t max) {
    std::vector<IndexEntry> out;
    while (out.size() < max && below != 0) {
      std::shared_lock lock(impl_->index_mu_);
      auto slice =
          collect_candidates(impl_->index_, query, &below, max - out.size(), kQueryScanSlice);
      out.insert(out.end(), slice.begin(), slice.end());
    }
    return out;
  });
}

bool Journal::healthy() const {
  return impl_->healthy_.load();
}

std::string Journal::last_error() const {
  std::lock_guard lock(impl_->stats_mu_);
  return impl_->stats_.last_error;
}

JournalStats Journal::stats() const {
  JournalStats s;
  {
    std::lock_guard lock(impl_->stats_mu_);
    s = impl_->stats_;
  }
  std::shared_lock lock(impl_->index_mu_);
  s.index_bytes = impl_->index_.entries().size() * sizeof(IndexEntry);
  return s;
}

const RecoveryReport& Journal::last_recovery() const {
  return impl_->recovery_;
}

const JournalOptions& Journal::options() const {
  return impl_->options_;
}

void Journal::stall_for(std::chrono::milliseconds ms) {
  impl_->stall_ms_.store(ms.count());
}

}  // namespace castellan::journal
