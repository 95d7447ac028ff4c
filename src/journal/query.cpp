#include "journal/query.hpp"

#include <fcntl.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <optional>

namespace castellan::journal {
namespace {

// Reads records by (segment, offset), keeping each segment file open for the query.
//
// Candidates come newest first. Reading each with its own two small preads walks the file
// backwards, which defeats the kernel's read-ahead: with a cold page cache (the first start
// after a power cut) a scan over hours of decisions would wait for the disk once per record.
// So neighbouring candidates of one segment are read with one pread of the span between them.
class RecordReader {
 public:
  // Candidates further apart than this are read on their own (a sparse, filtered query would
  // otherwise read what lies between them for nothing); a span is read with one pread of at
  // most kSpanBytes.
  static constexpr std::uint64_t kMaxGapBytes = 16 << 10;
  static constexpr std::uint64_t kSpanBytes = 1 << 20;

  explicit RecordReader(std::string dir) : dir_(std::move(dir)) {}

  // The records of `batch` (newest first) in its order; nullopt for one whose segment is gone
  // (retention removed it after the candidates were taken).
  Result<std::vector<std::optional<JournalRecord>>> read(const std::vector<IndexEntry>& batch) {
    std::vector<std::optional<JournalRecord>> out;
    out.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size();) {
      std::size_t j = i + 1;
      while (j < batch.size() && batch[j].segment == batch[i].segment &&
             batch[j].offset < batch[j - 1].offset &&
             batch[j - 1].offset - batch[j].offset <= kMaxGapBytes &&
             batch[i].offset - batch[j].offset <= kSpanBytes) {
        ++j;
      }
      auto newest = read_one(batch[i]);
      if (!newest) return newest.error();
      out.push_back(std::move(*newest));
      if (j > i + 1) {
        // Every frame that starts below the newest one ends at or before it: one read holds
        // them all.
        auto older = read_span(batch, i + 1, j, batch[i].offset, out);
        if (!older) return older.error();
      }
      i = j;
    }
    return out;
  }

 private:
  std::string path_of(std::uint64_t segment) const {
    return dir_ + "/" + segment_file_name(segment);
  }

  // nullptr: the segment file is gone.
  Result<const Fd*> file(std::uint64_t segment) {
    auto it = files_.find(segment);
    if (it != files_.end()) return &it->second;
    const std::string path = path_of(segment);
    auto fd = open_file(path, O_RDONLY);
    if (!fd) {
      if (!std::filesystem::exists(path)) return static_cast<const Fd*>(nullptr);
      return fd.error();
    }
    return &files_.emplace(segment, std::move(*fd)).first->second;
  }

  Result<std::optional<JournalRecord>> read_one(const IndexEntry& entry) {
    auto fd = file(entry.segment);
    if (!fd) return fd.error();
    if (*fd == nullptr) return std::optional<JournalRecord>{};
    auto bytes = pread_frame((*fd)->get(), entry.offset, path_of(entry.segment));
    if (!bytes) return bytes.error();
    auto record = parse(*bytes, 0, entry);
    if (!record) return record.error();
    return std::optional<JournalRecord>(std::move(*record));
  }

  // Appends batch[first, last) of one segment, offsets descending, all below `end`, to `out`.
  Result<void> read_span(const std::vector<IndexEntry>& batch, std::size_t first, std::size_t last,
                         std::uint64_t end, std::vector<std::optional<JournalRecord>>& out) {
    auto fd = file(batch[first].segment);
    if (!fd) return fd.error();
    if (*fd == nullptr) {
      out.resize(out.size() + (last - first));
      return {};
    }
    const std::uint64_t base = batch[last - 1].offset;
    auto bytes = pread_exact((*fd)->get(), base, end - base, path_of(batch[first].segment));
    if (!bytes) return bytes.error();
    for (std::size_t k = first; k < last; ++k) {
      auto record = parse(*bytes, batch[k].offset - base, batch[k]);
      if (!record) return record.error();
      out.emplace_back(std::move(*record));
    }
    return {};
  }

  static Result<JournalRecord> parse(std::string_view bytes, std::uint64_t offset,
                                     const IndexEntry& entry) {
    auto frame = read_frame(bytes, offset);
    if (frame.status != FrameStatus::ok || frame.seq != entry.seq) return damaged(entry);
    auto record = parse_json_line(frame.payload);
    if (!record) return damaged(entry);
    return std::move(*record);
  }

  static Error damaged(const IndexEntry& entry) {
    return make_error(Code::ERR_UNAVAILABLE, "journal record " + std::to_string(entry.seq) +
                                                 " is damaged; run `castellan journal verify`");
  }

  std::string dir_;
  std::map<std::uint64_t, Fd> files_;
};

bool matches(const JournalRecord& r, const EventQuery& q) {
  return (q.door.empty() || r.door == q.door) && (q.user.empty() || r.user == q.user) &&
         (q.decision.empty() || r.decision == q.decision);
}

}  // namespace

std::vector<IndexEntry> collect_candidates(const EventIndex& index, const EventQuery& q,
                                           std::uint64_t* below, std::size_t max,
                                           std::size_t max_scanned) {
  const auto& entries = index.entries();
  const auto end =
      std::lower_bound(entries.begin(), entries.end(), *below,
                       [](const IndexEntry& e, std::uint64_t seq) { return e.seq < seq; });
  const std::uint64_t door_h = filter_hash(q.door);
  const std::uint64_t user_h = filter_hash(q.user);
  const std::uint64_t decision_h = filter_hash(q.decision);
  const std::int64_t from = q.from ? to_unix_us(*q.from) : std::numeric_limits<std::int64_t>::min();
  const std::int64_t to = q.to ? to_unix_us(*q.to) : std::numeric_limits<std::int64_t>::max();
  std::vector<IndexEntry> out;
  auto it = end;
  for (std::size_t scanned = 0; it != entries.begin() && out.size() < max && scanned < max_scanned;
       ++scanned) {
    const IndexEntry& e = *--it;
    *below = e.seq;
    if (q.kind && e.kind != static_cast<std::uint64_t>(*q.kind)) continue;
    if (e.ts_us < from || e.ts_us > to) continue;
    if (!q.door.empty() && e.door_h != door_h) continue;
    if (!q.user.empty() && e.user_h != user_h) continue;
    if (!q.decision.empty() && e.decision_h != decision_h) continue;
    out.push_back(e);
  }
  if (it == entries.begin()) *below = 0;
  return out;
}

Result<EventPage> run_query(const std::string& dir, const EventQuery& q,
                            const CandidateSource& candidates) {
  if (q.limit < 1 || q.limit > kMaxQueryLimit) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "limit must be between 1 and " + std::to_string(kMaxQueryLimit));
  }
  if (q.from && q.to && *q.from > *q.to) {
    return make_error(Code::ERR_BAD_REQUEST, "'from' is after 'to'");
  }
  std::uint64_t below = std::numeric_limits<std::uint64_t>::max();
  if (!q.cursor.empty()) {
    const char* first = q.cursor.data();
    const char* last = first + q.cursor.size();
    auto [ptr, ec] = std::from_chars(first, last, below);
    if (ec != std::errc{} || ptr != last || below == 0) {
      return make_error(Code::ERR_BAD_REQUEST, "cursor '" + q.cursor + "' is not valid");
    }
  }
  RecordReader reader(dir);
  EventPage page;
  // One match more than the limit tells whether there is a next page. A prefilter hit that
  // the record does not confirm (a 64-bit hash collision) just means another round.
  for (;;) {
    const std::size_t want = q.limit + 1 - page.records.size();
    const auto batch = candidates(below, want);
    auto records = reader.read(batch);
    if (!records) return records.error();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      below = batch[i].seq;
      auto& record = (*records)[i];
      if (!record || !matches(*record, q)) continue;
      if (page.records.size() == q.limit) {
        page.next_cursor = std::to_string(page.records.back().seq);
        return page;
      }
      page.records.push_back(std::move(*record));
    }
    if (batch.size() < want) return page;
  }
}

}  // namespace castellan::journal
