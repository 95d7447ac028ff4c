// Prometheus text for the journal's statistics (JournalStats are kept by the journal itself,
// which is plain C++ and does not know the metrics registry).
#pragma once

#include <string>

#include "journal/journal.hpp"

namespace castellan::app {

std::string journal_metrics_text(const journal::JournalStats& stats);

}  // namespace castellan::app
