#include "journal/query.hpp"

#include <fcntl.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

namespace castellan::journal {
namespace {

// Reads records by (segment, offset), keeping each segment file open for the query.
class RecordReader {
 public:
  explicit RecordReader(std::string dir) : dir_(std::move(dir)) {}

  // nullopt: the segment is gone (retention removed it after the candidates were taken).
  Result<std::optional<JournalRecord>> read(const IndexEntry& entry) {
    const std::string path = dir_ + "/" + segment_file_name(entry.segment);
    auto it = files_.find(entry.segment);
    if (it == files_.end()) {
      auto fd = open_file(path, O_RDONLY);
      if (!fd) {
        if (!std::filesystem::exists(path)) return std::optional<JournalRecord>{};
        return fd.error();
      }
      it = files_.emplace(entry.segment, std::move(*fd)).first;
    }
    auto head = pread_exact(it->second.get(), entry.offset, kFrameHeaderBytes, path);
    if (!head) return head.error();
    std::uint32_t len = 0;
    std::memcpy(&len, head->data(), 4);
    len = payload_length(len);
    if (len == 0 || len > kMaxPayloadBytes) return damaged(entry);
    auto body = pread_exact(it->second.get(), entry.offset + kFrameHeaderBytes, len, path);
    if (!body) return body.error();
    const std::string bytes = *head + *body;  // the frame's payload views into it
    auto frame = read_frame(bytes, 0);
    if (frame.status != FrameStatus::ok || frame.seq != entry.seq) return damaged(entry);
    auto record = parse_json_line(frame.payload);
    if (!record) return damaged(entry);
    return std::optional<JournalRecord>(std::move(*record));
  }

 private:
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
                                           std::uint64_t below, std::size_t max) {
  const auto& entries = index.entries();
  const auto end =
      std::lower_bound(entries.begin(), entries.end(), below,
                       [](const IndexEntry& e, std::uint64_t seq) { return e.seq < seq; });
  const std::uint64_t door_h = filter_hash(q.door);
  const std::uint64_t user_h = filter_hash(q.user);
  const std::uint64_t decision_h = filter_hash(q.decision);
  const std::int64_t from = q.from ? to_unix_us(*q.from) : std::numeric_limits<std::int64_t>::min();
  const std::int64_t to = q.to ? to_unix_us(*q.to) : std::numeric_limits<std::int64_t>::max();
  std::vector<IndexEntry> out;
  for (auto it = end; it != entries.begin() && out.size() < max;) {
    const IndexEntry& e = *--it;
    if (q.kind && e.kind != static_cast<std::uint64_t>(*q.kind)) continue;
    if (e.ts_us < from || e.ts_us > to) continue;
    if (!q.door.empty() && e.door_h != door_h) continue;
    if (!q.user.empty() && e.user_h != user_h) continue;
    if (!q.decision.empty() && e.decision_h != decision_h) continue;
    out.push_back(e);
  }
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
    for (const auto& e : batch) {
      below = e.seq;
      auto record = reader.read(e);
      if (!record) return record.error();
      if (!*record || !matches(**record, q)) continue;
      if (page.records.size() == q.limit) {
        page.next_cursor = std::to_string(page.records.back().seq);
        return page;
      }
      page.records.push_back(std::move(**record));
    }
    if (batch.size() < want) return page;
  }
}

}  // namespace castellan::journal
