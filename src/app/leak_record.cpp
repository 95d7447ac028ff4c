#include "app/leak_record.hpp"

#include <boost/json.hpp>

#include "core/ids.hpp"
#include "core/log.hpp"
#include "runtime/debug_json.hpp"

namespace castellan::app {

void journal_leak(journal::Journal& journal, const runtime::LeakReport& report) {
  journal::JournalRecord record;
  record.kind = journal::RecordKind::task_leak;
  record.trace_id = new_trace_id();
  record.source = "runtime";
  record.extra = boost::json::serialize(runtime::leak_report_json(report));
  journal.append(std::move(record), [](Result<journal::JournalRecord> r) {
    if (!r) spdlog::error("task_leak record not journaled: {}", r.error().message);
  });
}

}  // namespace castellan::app
