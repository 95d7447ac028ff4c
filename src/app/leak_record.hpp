// The leak detector's report as a `task_leak` journal record (contract §5, §7).
#pragma once

#include "journal/journal.hpp"
#include "runtime/health.hpp"

namespace castellan::app {

// Appends {"kind":"task_leak","source":"runtime", …leak_report_json(report)}; a failure is
// logged (the detector has already logged the leak itself).
void journal_leak(journal::Journal& journal, const runtime::LeakReport& report);

}  // namespace castellan::app
