#include "runtime/faults.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/log.hpp"

namespace castellan::runtime {
namespace {

// Waits until cancelled (or for `limit`), inside one WaitMarker.
asio::awaitable<void> wait_inside_marker(TaskRef self, const char* what, WaitKind kind,
                                         std::chrono::milliseconds limit) {
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  WaitMarker wait(self, what, kind);
  co_await timer.async_wait(asio::use_awaitable);
}

constexpr std::chrono::hours kForever{24 * 365};

}  // namespace

FaultInjector::FaultInjector(TaskRegistry& registry, boost::asio::any_io_executor executor)
    : executor_(std::move(executor)), group_(registry, "faults") {}

FaultInjector::~FaultInjector() {
  clear();
  group_.close_blocking(TaskGroup::kDestructorTimeout);
}

int FaultInjector::leak_tasks(int count, std::source_location loc) {
  int spawned = 0;
  for (int i = 0; i < count; ++i) {
    const TaskId id = group_.spawn(
        executor_, "fault: leaked task",
        [](TaskRef self) {
          return wait_inside_marker(self, "fault: wait forever", WaitKind::kIdle, kForever);
        },
        TaskOptions{}, loc);
    if (id == 0) break;
    ++spawned;
  }
  spdlog::warn("fault injection: leaked {} task(s) spawned at {}", spawned, format_spawn_site(loc));
  return spawned;
}

int FaultInjector::leak_fds(int count) {
  int opened = 0;
  std::lock_guard lock(mu_);
  for (int i = 0; i < count; ++i) {
    const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0) break;
    fds_.push_back(fd);
    ++opened;
  }
  spdlog::warn("fault injection: leaked {} fd(s) on /dev/null", opened);
  return opened;
}

void FaultInjector::stuck_task(std::chrono::milliseconds duration, std::source_location loc) {
  group_.spawn(
      executor_, "fault: stuck task",
      [duration](TaskRef self) {
        return wait_inside_marker(self, "fault: stuck await", WaitKind::kBounded, duration);
      },
      TaskOptions{}, loc);
  spdlog::warn("fault injection: stuck task for {} ms spawned at {}", duration.count(),
               format_spawn_site(loc));
}

void FaultInjector::clear() {
  group_.cancel_all();
  std::lock_guard lock(mu_);
  for (int fd : fds_) ::close(fd);
  fds_.clear();
}

std::size_t FaultInjector::leaked_fds() const {
  std::lock_guard lock(mu_);
  return fds_.size();
}

}  // namespace castellan::runtime
