// JSON bodies of the runtime's API routes (Boost.JSON), built here so that the API handler
// only serialises them:
//   GET /v1/debug/tasks -> tasks_json(registry)
//   GET /v1/health/sli  -> sli_json(monitor.latest(), monitor.options())
#pragma once

#include <boost/json/object.hpp>

#include "runtime/health.hpp"
#include "runtime/task_registry.hpp"

namespace castellan::runtime {

// {"count":N,"tasks":[{"id","name","group","spawn_site","daemon","state":"running"|"waiting",
//  "waiting_on"?,"wait_kind"?,"waiting_s"?,"age_s","since_progress_s"}...], oldest first,
//  "by_site":[{"spawn_site","name","count","oldest_age_s","newest_age_s"}...]}
boost::json::object tasks_json(const TaskRegistry& registry);

// {"tasks_active","tasks_non_daemon","tasks_settled","tasks_active_ratio",
//  "blocked_p99_seconds","leak_rate_per_hour","leak_score","open_fds","rss_bytes",
//  "window_full","thresholds":{"leak_score","leak_rate_per_hour","fd_growth","stuck_after_s"},
//  "sample_interval_ms","window_s"}
boost::json::object sli_json(const SliSnapshot& sli, const HealthOptions& options);

// One leak report, e.g. as the body of the `task_leak` journal record.
boost::json::object leak_report_json(const LeakReport& report);

}  // namespace castellan::runtime
