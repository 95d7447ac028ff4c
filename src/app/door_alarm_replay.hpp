// Door alarms live in the door tracker's memory. An alarm raised before a restart would never
// get its `cleared` record, since the new process did not see the door open. So at start,
// before the first door state arrives, each door's alarms are read back from the journal: for
// each (door, alarm) the newest `door_alarm` record, and those that say `raised` are carried
// over (DoorStateTracker::carry_over_alarm), for doors that still exist.
#pragma once

#include <cstdint>

#include "core/result.hpp"
#include "devices/door_state.hpp"
#include "devices/ports.hpp"
#include "journal/journal.hpp"

namespace castellan::app {

struct DoorAlarmReplay {
  std::uint64_t records_read = 0;
  std::uint64_t carried_over = 0;  // alarms still raised at doors that exist
};

Result<DoorAlarmReplay> replay_door_alarms(const journal::Journal& journal,
                                           const devices::DoorDirectory& doors,
                                           devices::DoorStateTracker& tracker);

}  // namespace castellan::app
