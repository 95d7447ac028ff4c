#include "store/pass_use_flusher.hpp"
#include "core/thread_name.hpp"
#include "runtime/thread_task.hpp"

#include <spdlog/spdlog.h>

namespace castellan::store {

PassUseFlusher::PassUseFlusher(ResourceService& service, access::PassUseLedger& ledger,
                               const Clock& clock, std::chrono::milliseconds interval,
                               std::chrono::milliseconds refresh, runtime::TaskRegistry* tasks)
    : service_(service),
      ledger_(ledger),
      clock_(clock),
      interval_(interval),
      refresh_(refresh),
      tasks_(tasks) {
  ledger_.set_on_dirty([this] {
    {
      std::lock_guard lock(mu_);
      pending_ = true;
    }
    cv_.notify_one();
  });
  thread_ = std::thread([this] {
    name_this_thread("pass-uses");
    const runtime::ThreadTask task(tasks_, "pass-use flusher", "store");
    run(task.ref());
  });
}

PassUseFlusher::~PassUseFlusher() {
  ledger_.set_on_dirty(nullptr);
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void PassUseFlusher::run(runtime::TaskRef self) {
  std::unique_lock lock(mu_);
  for (;;) {
    // Wake on a use or on the interval (to retry a failed flush).
    {
      const runtime::WaitMarker idle(self, "pass uses: next use", runtime::WaitKind::kIdle);
      cv_.wait_for(lock, interval_, [this] { return pending_ || stop_; });
    }
    bool stopping = stop_;
    pending_ = false;
    lock.unlock();
    const TimePoint now = clock_.now();  // before the counts are taken: every use before it is in
    const bool refresh = stopping || !last_saved_ || now - *last_saved_ >= refresh_;
    {
      const runtime::WaitMarker saving(self, "pass uses: save to the store");
      if (auto r = service_.flush_pass_uses(now, refresh); !r) {
        spdlog::warn("pass use counts not saved yet: {}", r.error().message);
      } else if (*r) {
        last_saved_ = now;
      }
    }
    lock.lock();
    if (stopping) return;
  }
}

}  // namespace castellan::store
