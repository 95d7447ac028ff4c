#include "journal/query.hpp"

#include <fcntl.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

namespace castellan::journal {
namespace {

// Reads records by (segment, offset), keeping each segment file open for the query.
class RecordReader {
 public:
  explicit RecordReader(std::string dir) : dir_(std::move(dir)) {}

  Result<JournalRecord> read(const IndexEntry& entry) {
    const std::string path = dir_ + "/" + segment_file_name(entry.segment);
    auto it = files_.find(entry.segment);
    if (it == files_.end()) {
      auto fd = open_file(path, O_RDONLY);
      if (!fd) return fd.error();
      it = files_.emplace(entry.segment, std::move(*fd)).first;
    }
    auto head = pread_exact(it->second.get(), entry.offset, kFrameHeaderBytes, path);
    if (!head) return head.error();
    std::uint32_t len = 0;
    std::memcpy(&len, head->data(), 4);
    if (len == 0 || len > kMaxPayloadBytes) return damaged(entry);
    auto body = pread_exact(it->second.get(), entry.offset + kFrameHeaderBytes, len, path);
    if (!body) return body.error();
    const std::string bytes = *head + *body;  // the frame's payload views into it
    auto frame = read_frame(bytes, 0);
    if (frame.status != FrameStatus::ok || frame.seq != entry.seq) return damaged(entry);
    auto record = parse_json_line(frame.payload);
    if (!record) return damaged(entry);
    return record;
  }

 private:
  static Error damaged(const IndexEntry& entry) {
    return make_error(Code::ERR_UNAVAILABLE, "journal record " + std::to_string(entry.seq) +
                                                 " is damaged; run `castellan journal verify`");
  }

  std::string dir_;
  std::map<std::uint64_t, Fd> files_;
};

bool prefilter(const IndexEntry& e, const EventQuery& q, std::uint64_t door_h, std::uint64_t user_h,
               std::uint64_t decision_h) {
  if (q.kind && e.kind != static_cast<std::uint64_t>(*q.kind)) return false;
  if (q.from && e.ts_us < to_unix_us(*q.from)) return false;
  if (q.to && e.ts_us > to_unix_us(*q.to)) return false;
  if (!q.door.empty() && e.door_h != door_h) return false;
  if (!q.user.empty() && e.user_h != user_h) return false;
  if (!q.decision.empty() && e.decision_h != decision_h) return false;
  return true;
}

bool matches(const JournalRecord& r, const EventQuery& q) {
  return (q.door.empty() || r.door == q.door) && (q.user.empty() || r.user == q.user) &&
         (q.decision.empty() || r.decision == q.decision);
}

}  // namespace

Result<EventPage> run_query(const EventIndex& index, const EventQuery& q) {
  if (q.limit < 1 || q.limit > kMaxQueryLimit) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "limit must be between 1 and " + std::to_string(kMaxQueryLimit));
  }
  if (q.from && q.to && *q.from > *q.to) {
    return make_error(Code::ERR_BAD_REQUEST, "'from' is after 'to'");
  }
  const auto& entries = index.entries();
  std::size_t end = entries.size();  // entries [0, end) are candidates
  if (!q.cursor.empty()) {
    std::uint64_t below = 0;
    const char* first = q.cursor.data();
    const char* last = first + q.cursor.size();
    auto [ptr, ec] = std::from_chars(first, last, below);
    if (ec != std::errc{} || ptr != last || below == 0) {
      return make_error(Code::ERR_BAD_REQUEST, "cursor '" + q.cursor + "' is not valid");
    }
    end = static_cast<std::size_t>(
        std::lower_bound(entries.begin(), entries.end(), below,
                         [](const IndexEntry& e, std::uint64_t seq) { return e.seq < seq; }) -
        entries.begin());
  }
  const std::uint64_t door_h = filter_hash(q.door);
  const std::uint64_t user_h = filter_hash(q.user);
  const std::uint64_t decision_h = filter_hash(q.decision);
  RecordReader reader(index.dir());
  EventPage page;
  for (std::size_t i = end; i-- > 0;) {
    const IndexEntry& e = entries[i];
    if (!prefilter(e, q, door_h, user_h, decision_h)) continue;
    auto record = reader.read(e);
    if (!record) return record.error();
    if (!matches(*record, q)) continue;
    if (page.records.size() == q.limit) {  // one more match exists: there is a next page
      page.next_cursor = std::to_string(page.records.back().seq);
      break;
    }
    page.records.push_back(std::move(*record));
  }
  return page;
}

}  // namespace castellan::journal
