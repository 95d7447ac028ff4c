// Builders of the journal records the device side writes (contract §5), and a fire-and-forget
// append that logs a failed write (for records nobody waits on: door state, alarms, device
// transitions).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/ids.hpp"  // new_trace_id, new_uuid_v4
#include "devices/heartbeat_monitor.hpp"
#include "devices/ports.hpp"
#include "journal/record.hpp"

namespace castellan::devices {

journal::JournalRecord door_state_record(std::string_view site, std::string_view door,
                                         LockState lock, ContactState contact, BeamState beam);
journal::JournalRecord door_alarm_record(std::string_view site, std::string_view door,
                                         std::string_view alarm, bool raised);
journal::JournalRecord device_transition_record(const DeviceTransition& t);
// `resilience` record: `refused` swipes at a door over its rate limit since the last report.
journal::JournalRecord swipes_rate_limited_record(std::string_view site, std::string_view door,
                                                  std::uint64_t refused, int per_second);

// `resilience` record of a degradation starting (`on`) or ending: {"event":"degradation",
// "state":"on"|"off","cause":cause} plus the reason when there is one (contract §5).
journal::JournalRecord degradation_record(std::string_view cause, bool on, std::string_view reason);

// The extra of a decision the door got instead of the engine's (a deadline's, a failure's):
// {"outcome":why,"fail_mode":"safe"|"secure","granted_by_fail_mode":true?}.
std::string outcome_extra(std::string_view why, bool fail_safe, bool granted_by_fail_mode);

// Appends and, if the write fails, logs it (with the record kind and the error).
void append_logged(JournalSink& journal, journal::JournalRecord record);

}  // namespace castellan::devices
