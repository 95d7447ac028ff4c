#include "app/unrecorded_changes.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "app/decision_scan.hpp"
#include "core/log.hpp"
#include "core/time.hpp"

namespace castellan::app {
namespace {

namespace json = boost::json;

// The change ids that admin records journaled since `from` carry.
Result<std::set<std::string>> recorded_change_ids(const journal::Journal& journal, TimePoint from) {
  std::set<std::string> ids;
  auto read = scan_records(
      journal, journal::RecordKind::admin, from, [&](const journal::JournalRecord& record) {
        boost::system::error_code ec;
        const auto extra = json::parse(record.extra, ec);
        const auto* what =
            !ec && extra.is_object() ? extra.as_object().if_contains("what") : nullptr;
        const auto* id =
            what && what->is_object() ? what->as_object().if_contains("change_id") : nullptr;
        if (id != nullptr && id->is_string()) ids.emplace(id->get_string());
      });
  if (!read) return read.error();
  return ids;
}

// One note per change: a change that wrote several batches has several rows.
std::vector<store::ChangeNote> merged(std::vector<store::ChangeNote> notes) {
  std::vector<store::ChangeNote> changes;
  for (auto& note : notes) {
    auto same = std::find_if(changes.begin(), changes.end(), [&](const store::ChangeNote& c) {
      return c.change_id == note.change_id;
    });
    if (same == changes.end()) {
      changes.push_back(std::move(note));
    } else {
      for (auto& w : note.writes) same->writes.push_back(std::move(w));
    }
  }
  return changes;
}

}  // namespace

Result<RecoveredChanges> journal_unrecorded_changes(store::Store& store,
                                                    journal::Journal& journal) {
  auto notes = store.unrecorded_changes();
  if (!notes) return notes.error();
  RecoveredChanges done;
  if (notes->empty()) return done;
  const auto changes = merged(std::move(*notes));
  done.noted = changes.size();
  TimePoint earliest = changes.front().at;
  for (const auto& c : changes) earliest = std::min(earliest, c.at);
  auto recorded = recorded_change_ids(journal, earliest - kChangeRecordMargin);
  if (!recorded) return recorded.error();

  const auto missing = std::count_if(changes.begin(), changes.end(), [&](const auto& c) {
    return !recorded->contains(c.change_id);
  });
  if (missing > 0) {
    // Said before the wait: a stalled disk holds the start here, up to Journal::kAppendWait
    // for each record.
    spdlog::info("journaling {} change(s) that were committed without their admin record", missing);
  }
  for (const auto& change : changes) {
    if (!recorded->contains(change.change_id)) {
      journal::JournalRecord record;
      record.kind = journal::RecordKind::admin;
      record.trace_id = change.trace_id;
      record.source = "api";
      record.extra =
          json::serialize(json::object{{"actor", change.actor},
                                       {"what", json::object{{"action", "recovered_change"},
                                                             {"route", change.route},
                                                             {"change_id", change.change_id},
                                                             {"changed_at", format_utc(change.at)},
                                                             {"writes", change.writes}}}});
      if (auto written = journal.append_and_wait(std::move(record)); !written) {
        return written.error();
      }
      spdlog::warn(
          "change {} ({} by '{}' at {}) was committed without its admin record, which a stop "
          "kept from the journal; journaled now as 'recovered_change'",
          change.change_id, change.route, change.actor, format_utc(change.at));
      ++done.journaled;
    }
    if (auto forgotten = store.forget_change(change.change_id); !forgotten) {
      return forgotten.error();
    }
  }
  return done;
}

}  // namespace castellan::app
