// A door's assist shows its failure rate over the last 24 h and its last passages, which the
// door tracker keeps in memory. Without a copy on disk a restart would set every rate to 0, and
// a force unlock that the 12 % rule refuses would be allowed again at once. So the history is
// written to DATA_DIR/door-history.json every `interval` (10 s in the server) and at the stop,
// and read back at start, before the first decision. A crash loses at most the last
// interval's decisions from the counts.
//
// {"saved_at":"…Z","doors":[{"site","door","hours":[[hour,total,denied],…],
//  "recent":[{"ts","user","dir","trace_id"}]}]}   (hour: hours since the epoch, UTC)
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

#include "core/result.hpp"
#include "devices/door_state.hpp"
#include "devices/ports.hpp"

namespace castellan::runtime {
class TaskRegistry;
}

namespace castellan::app {

inline std::string door_history_path(const std::string& data_dir) {
  return data_dir + "/door-history.json";
}

Result<void> save_door_history(const std::string& path, const devices::DoorStateTracker& tracker,
                               TimePoint now);

// Returns how many doors got their history back; 0 without a file (a first start). Doors
// deleted (or moved to another site) since are skipped. A file that does not parse is an
// error naming it, and nothing is restored.
Result<std::size_t> load_door_history(const std::string& path, const devices::DoorDirectory& doors,
                                      devices::DoorStateTracker& tracker);

// Saves the history every `interval` on a thread of its own (a registered daemon task), and
// once more when destroyed. A failed save is logged once until one succeeds.
class DoorHistorySaver {
 public:
  DoorHistorySaver(std::string path, const devices::DoorStateTracker& tracker, const Clock& clock,
                   std::chrono::milliseconds interval, runtime::TaskRegistry* tasks = nullptr);
  ~DoorHistorySaver();
  DoorHistorySaver(const DoorHistorySaver&) = delete;
  DoorHistorySaver& operator=(const DoorHistorySaver&) = delete;

 private:
  void save();

  std::string path_;
  const devices::DoorStateTracker& tracker_;
  const Clock& clock_;
  bool failing_ = false;  // saver thread only (and the destructor, after the join)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace castellan::app
