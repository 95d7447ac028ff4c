#include "api/journal_events.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <future>
#include <memory>

#include "core/log.hpp"
#include "journal/journal.hpp"
#include "journal/record.hpp"

namespace castellan::api {
namespace json = boost::json;

Result<EventLines> JournalEvents::query(const EventQuery& q) {
  journal::EventQuery jq;
  jq.door = q.door;
  jq.user = q.user;
  jq.decision = q.decision;
  jq.limit = static_cast<std::size_t>(q.limit);
  jq.cursor = q.cursor;
  if (!q.kind.empty()) {
    jq.kind = journal::parse_kind(q.kind);
    if (!jq.kind)
      return make_error(Code::ERR_BAD_REQUEST, "Query parameter 'kind' names no record kind.");
  }
  if (!q.from.empty()) {
    auto t = parse_utc(q.from);
    if (!t)
      return make_error(Code::ERR_BAD_REQUEST, "Query parameter 'from' must be an RFC 3339 time.");
    jq.from = *t;
  }
  if (!q.to.empty()) {
    auto t = parse_utc(q.to);
    if (!t)
      return make_error(Code::ERR_BAD_REQUEST, "Query parameter 'to' must be an RFC 3339 time.");
    jq.to = *t;
  }
  auto page = journal_.query(jq);
  if (!page) return page.error();
  EventLines out;
  out.lines.reserve(page->records.size());
  for (const auto& record : page->records) out.lines.push_back(journal::to_json_line(record));
  out.next_cursor = std::move(page->next_cursor);
  return out;
}

Result<EventLines> JournalEvents::after(std::uint64_t seq, std::size_t max) {
  // The journal pages newest first: read down from the top of the window to its bottom, and
  // turn the result around. The window starts at the oldest record still kept, so a client
  // whose last record retention removed is given what is there, not an empty window forever.
  const auto [oldest, newest] = journal_.seq_range();
  EventLines out;
  if (newest <= seq) return out;
  const std::uint64_t bottom = std::max(seq, oldest - 1);  // the last seq not wanted
  const std::uint64_t top = std::min<std::uint64_t>(newest, bottom + max);
  out.more = top < newest;
  journal::EventQuery jq;
  jq.limit = journal::kMaxQueryLimit;
  jq.cursor = std::to_string(top + 1);
  for (;;) {
    auto page = journal_.query(jq);
    if (!page) return page.error();
    for (const auto& record : page->records) {
      if (record.seq <= bottom) break;
      out.lines.push_back(journal::to_json_line(record));
    }
    if (page->next_cursor.empty() || page->records.back().seq <= bottom) break;
    jq.cursor = std::move(page->next_cursor);
  }
  std::reverse(out.lines.begin(), out.lines.end());
  return out;
}

namespace {
struct JournalSubscription final : EventsPort::Subscription {
  journal::Journal::Subscription inner;
};
}  // namespace

std::unique_ptr<EventsPort::Subscription> JournalEvents::subscribe(
    std::function<void(std::string json_line)> on_record) {
  auto sub = std::make_unique<JournalSubscription>();
  sub->inner =
      journal_.subscribe([cb = std::move(on_record)](const journal::JournalRecord& record) {
        cb(journal::to_json_line(record));
      });
  return sub;
}

bool JournalEvents::can_record() const {
  return journal_.healthy();
}

Result<void> JournalEvents::record_admin(std::string_view who, const json::object& what,
                                         std::string_view trace_id) {
  journal::JournalRecord record;
  record.kind = journal::RecordKind::admin;
  record.trace_id = std::string(trace_id);
  record.source = "api";
  record.extra = json::serialize(json::object{{"actor", who}, {"what", what}});
  const std::string line = record.extra;
  auto durable = std::make_shared<std::promise<Result<journal::JournalRecord>>>();
  auto outcome = durable->get_future();
  journal_.append(std::move(record), [durable](Result<journal::JournalRecord> done) {
    durable->set_value(std::move(done));
  });
  if (outcome.wait_for(kAdminRecordWait) != std::future_status::ready) {
    spdlog::error("admin record {} not durable within {} ms (it may still be written)", line,
                  kAdminRecordWait.count());
    return make_error(Code::ERR_TIMEOUT, "its journal record was not durable within " +
                                             std::to_string(kAdminRecordWait.count()) +
                                             " ms and may still be written");
  }
  if (auto done = outcome.get(); !done) {
    spdlog::error("admin record {} was not journaled: {}", line, done.error().message);
    return make_error(Code::ERR_UNAVAILABLE,
                      "its journal record could not be written (the server log has why, under "
                      "this trace_id)");
  }
  return {};
}

}  // namespace castellan::api
