#include "app/decision_scan.hpp"

#include "core/codes.hpp"

namespace castellan::app {

Result<std::uint64_t> scan_decisions(
    const journal::Journal& journal, TimePoint from,
    const std::function<void(const journal::JournalRecord&)>& visit, const std::string& door) {
  return scan_records(journal, journal::RecordKind::decision, from, visit, door);
}

Result<std::uint64_t> scan_records(const journal::Journal& journal, journal::RecordKind kind,
                                   TimePoint from,
                                   const std::function<void(const journal::JournalRecord&)>& visit,
                                   const std::string& door) {
  journal::EventQuery query;
  query.kind = kind;
  query.door = door;
  query.from = from;
  query.limit = 1000;
  std::uint64_t read = 0;
  do {
    auto page = journal.query(query);
    if (!page) return page.error();
    for (const auto& r : page->records) {
      ++read;
      visit(r);
    }
    query.cursor = page->next_cursor;
  } while (!query.cursor.empty());
  return read;
}

bool is_failure_deny(const journal::JournalRecord& r) {
  return r.decision == "deny" && r.code &&
         (*r.code == static_cast<int>(Code::ERR_TIMEOUT) ||
          *r.code == static_cast<int>(Code::ERR_UNAVAILABLE));
}

std::string decision_key(const journal::JournalRecord& r) {
  std::string key = r.trace_id;
  key += '\x1f';
  key += r.door;
  key += '\x1f';
  key += r.card_hash;
  return key;
}

}  // namespace castellan::app
