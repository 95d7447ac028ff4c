#include "runtime/task_registry.hpp"

#include <algorithm>
#include <cmath>

#include "runtime/thread_task.hpp"
#include "runtime/wait_marker.hpp"

namespace castellan::runtime {
namespace {

std::int64_t to_us(Clock::Monotonic t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string_view short_path(std::string_view path) {
  for (std::string_view root : {"/src/", "/tests/", "/bench/"}) {
    auto pos = path.rfind(root);
    if (pos != std::string_view::npos) return path.substr(pos + 1);
  }
  return path;
}

}  // namespace

std::string format_spawn_site(const std::source_location& loc) {
  return format_spawn_site(loc.file_name(), static_cast<int>(loc.line()), loc.function_name());
}

std::string format_spawn_site(std::string_view file, int line, std::string_view function) {
  std::string out(short_path(file));
  out += ':';
  out += std::to_string(line);
  out += ' ';
  out += function;
  return out;
}

ThreadTask::ThreadTask(TaskRegistry* registry, std::string name, std::string group,
                       const char* file, int line, const char* function)
    : registry_(registry) {
  if (!registry_) return;
  entry_ =
      registry_->add(std::move(name), std::move(group), format_spawn_site(file, line, function),
                     TaskOptions{.daemon = true, .thread = true});
  clock_ = &registry_->clock();
}

ThreadTask::~ThreadTask() {
  if (entry_) registry_->remove(entry_->id);
}

TaskRegistry::TaskRegistry(const Clock& clock) : clock_(clock) {}

std::int64_t TaskRegistry::now_us() const {
  return to_us(clock_.monotonic());
}

std::shared_ptr<TaskEntry> TaskRegistry::add(std::string name, std::string group,
                                             const std::source_location& loc, TaskOptions options) {
  return add(std::move(name), std::move(group), format_spawn_site(loc), options);
}

std::shared_ptr<TaskEntry> TaskRegistry::add(std::string name, std::string group,
                                             std::string spawn_site, TaskOptions options) {
  auto entry = std::make_shared<TaskEntry>();
  entry->name = std::move(name);
  entry->group = std::move(group);
  entry->spawn_site = std::move(spawn_site);
  entry->daemon = options.daemon;
  entry->thread = options.thread;
  entry->started_us = now_us();
  entry->last_progress_us.store(entry->started_us, std::memory_order_relaxed);
  std::lock_guard lock(mu_);
  entry->id = next_id_++;
  tasks_.emplace(entry->id, entry);
  return entry;
}

void TaskRegistry::remove(TaskId id) {
  std::shared_ptr<TaskEntry> doomed;  // destroyed outside the lock
  std::lock_guard lock(mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  doomed = std::move(it->second);
  tasks_.erase(it);
}

std::vector<TaskInfo> TaskRegistry::snapshot() const {
  std::vector<std::shared_ptr<TaskEntry>> entries;
  {
    std::lock_guard lock(mu_);
    entries.reserve(tasks_.size());
    for (const auto& [id, e] : tasks_) entries.push_back(e);
  }
  const std::int64_t now = now_us();
  std::vector<TaskInfo> out;
  out.reserve(entries.size());
  for (const auto& e : entries) {
    TaskInfo info;
    info.id = e->id;
    info.name = e->name;
    info.group = e->group;
    info.spawn_site = e->spawn_site;
    info.daemon = e->daemon;
    info.thread = e->thread;
    info.age = std::chrono::microseconds{std::max<std::int64_t>(0, now - e->started_us)};
    info.since_progress = std::chrono::microseconds{
        std::max<std::int64_t>(0, now - e->last_progress_us.load(std::memory_order_relaxed))};
    if (const TaskEntry::Wait w = e->wait(); w.what != nullptr) {
      info.waiting_on = w.what;
      info.wait_kind = w.kind;
      info.waiting_for = std::chrono::microseconds{std::max<std::int64_t>(0, now - w.since_us)};
    }
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const TaskInfo& a, const TaskInfo& b) {
    return a.age != b.age ? a.age > b.age : a.id < b.id;
  });
  return out;
}

std::size_t TaskRegistry::active_count() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

std::size_t TaskRegistry::non_daemon_count() const {
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::count_if(tasks_.begin(), tasks_.end(),
                                                [](const auto& kv) { return !kv.second->daemon; }));
}

std::size_t TaskRegistry::settled_non_daemon_count(std::chrono::microseconds min_age) const {
  const std::int64_t cutoff = now_us() - min_age.count();
  std::lock_guard lock(mu_);
  return static_cast<std::size_t>(std::count_if(tasks_.begin(), tasks_.end(), [&](const auto& kv) {
    return !kv.second->daemon && kv.second->started_us <= cutoff;
  }));
}

double TaskRegistry::blocked_p99_seconds() const {
  std::vector<std::int64_t> waits;
  const std::int64_t now = now_us();
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, e] : tasks_) {
      const TaskEntry::Wait w = e->wait();
      if (w.what == nullptr || w.kind != WaitKind::kBounded) continue;
      waits.push_back(std::max<std::int64_t>(0, now - w.since_us));
    }
  }
  if (waits.empty()) return 0.0;
  // Nearest rank: the ceil(0.99 n)-th smallest.
  auto rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(waits.size())));
  auto nth = waits.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(rank, 1) - 1);
  std::nth_element(waits.begin(), nth, waits.end());
  return static_cast<double>(*nth) / 1e6;
}

void TaskRef::progress() const {
  if (!entry_) return;
  entry_->last_progress_us.store(now_us(), std::memory_order_relaxed);
}

}  // namespace castellan::runtime
