#include "runtime/debug_json.hpp"

#include <boost/json/array.hpp>

namespace castellan::runtime {
namespace json = boost::json;
namespace {

double secs(std::chrono::microseconds d) {
  return static_cast<double>(d.count()) / 1e6;
}

json::array sites_json(const std::vector<SiteGroup>& sites) {
  json::array out;
  for (const auto& g : sites) {
    out.push_back(json::object{{"spawn_site", g.spawn_site},
                               {"name", g.name},
                               {"count", g.count},
                               {"oldest_age_s", g.oldest_age_s},
                               {"newest_age_s", g.newest_age_s}});
  }
  return out;
}

json::object sli_fields(const SliSnapshot& sli) {
  return json::object{{"tasks_active", sli.tasks_active},
                      {"tasks_non_daemon", sli.tasks_non_daemon},
                      {"tasks_settled", sli.tasks_settled},
                      {"tasks_active_ratio", sli.tasks_active_ratio},
                      {"blocked_p99_seconds", sli.blocked_p99_seconds},
                      {"leak_rate_per_hour", sli.leak_rate_per_hour},
                      {"leak_score", sli.leak_score},
                      {"open_fds", sli.open_fds},
                      {"rss_bytes", sli.rss_bytes},
                      {"window_full", sli.window_full}};
}

}  // namespace

json::object tasks_json(const TaskRegistry& registry) {
  const auto tasks = registry.snapshot();
  json::array items;
  for (const auto& t : tasks) {
    json::object o{{"id", t.id},           {"name", t.name},
                   {"group", t.group},     {"spawn_site", t.spawn_site},
                   {"daemon", t.daemon},   {"state", t.waiting_on.empty() ? "running" : "waiting"},
                   {"age_s", secs(t.age)}, {"since_progress_s", secs(t.since_progress)}};
    if (t.thread) o["thread"] = true;  // a thread of its own (ThreadTask)
    if (!t.waiting_on.empty()) {
      o["waiting_on"] = t.waiting_on;
      o["wait_kind"] = t.wait_kind == WaitKind::kIdle ? "idle" : "bounded";
      o["waiting_s"] = secs(t.waiting_for);
    }
    items.push_back(std::move(o));
  }
  return json::object{{"count", tasks.size()},
                      {"tasks", std::move(items)},
                      {"by_site", sites_json(group_by_site(tasks))}};
}

json::object sli_json(const SliSnapshot& sli, const HealthOptions& options) {
  json::object o = sli_fields(sli);
  o["thresholds"] = json::object{{"leak_score", options.score_threshold},
                                 {"leak_rate_per_hour", options.rate_threshold_per_hour},
                                 {"fd_growth", options.fd_growth_threshold},
                                 {"stuck_after_s", options.stuck_after.count()}};
  o["sample_interval_ms"] = options.sample_interval.count();
  o["window_s"] = options.window.count();
  return o;
}

json::object leak_report_json(const LeakReport& report) {
  json::array fds;
  for (const auto& [target, count] : report.fd_kinds) {
    fds.push_back(json::object{{"target", target}, {"count", count}});
  }
  // "rule", not "kind": the report is a journal record's extra, where "kind" is a §5 member.
  json::object o{{"rule", leak_kind_name(report.kind)},
                 {"message", report.message},
                 {"spawn_site", report.spawn_site},
                 {"sli", sli_fields(report.sli)},
                 {"sites", sites_json(report.sites)}};
  if (!fds.empty()) o["fds"] = std::move(fds);
  return o;
}

}  // namespace castellan::runtime
