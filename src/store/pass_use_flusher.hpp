// PassUseFlusher: persists pass use counts off the decision path. A thread waits until the
// ledger reports a use (or the interval passes), then writes the pending counts through the
// ResourceService; on failure the counts are put back and retried at the next wake-up.
// Each save records the time read just before the counts were taken, and an idle flusher
// still saves that time every `refresh`, so that a start has to read back only the journal
// since then to recover uses a crash kept from being saved (app/pass_use_replay).
// Stops (with a final flush) on destruction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "access/pass_ledger.hpp"
#include "core/clock.hpp"
#include "store/resource_service.hpp"

namespace castellan::runtime {
class TaskRegistry;
class TaskRef;
}  // namespace castellan::runtime

namespace castellan::store {

class PassUseFlusher {
 public:
  PassUseFlusher(ResourceService& service, access::PassUseLedger& ledger, const Clock& clock,
                 std::chrono::milliseconds interval = std::chrono::milliseconds(200),
                 std::chrono::milliseconds refresh = std::chrono::seconds(10),
                 runtime::TaskRegistry* tasks = nullptr);  // its thread's daemon task
  ~PassUseFlusher();
  PassUseFlusher(const PassUseFlusher&) = delete;
  PassUseFlusher& operator=(const PassUseFlusher&) = delete;

 private:
  void run(runtime::TaskRef self);

  ResourceService& service_;
  access::PassUseLedger& ledger_;
  const Clock& clock_;
  std::chrono::milliseconds interval_;
  std::chrono::milliseconds refresh_;
  runtime::TaskRegistry* tasks_;
  std::optional<TimePoint> last_saved_;  // flusher thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace castellan::store
