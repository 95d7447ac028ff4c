// PassUseFlusher: persists pass use counts off the decision path. A thread waits until the
// ledger reports a use (or the interval passes), then writes the pending counts through the
// ResourceService; on failure the counts are put back and retried at the next wake-up.
// Stops (with a final flush) on destruction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "access/pass_ledger.hpp"
#include "store/resource_service.hpp"

namespace castellan::store {

class PassUseFlusher {
 public:
  PassUseFlusher(ResourceService& service, access::PassUseLedger& ledger,
                 std::chrono::milliseconds interval = std::chrono::milliseconds(200));
  ~PassUseFlusher();
  PassUseFlusher(const PassUseFlusher&) = delete;
  PassUseFlusher& operator=(const PassUseFlusher&) = delete;

 private:
  void run();

  ResourceService& service_;
  access::PassUseLedger& ledger_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace castellan::store
