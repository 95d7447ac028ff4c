#include "app/door_alarm_replay.hpp"

#include <boost/json.hpp>
#include <set>
#include <string>
#include <utility>

#include "app/decision_scan.hpp"

namespace castellan::app {
namespace json = boost::json;

Result<DoorAlarmReplay> replay_door_alarms(const journal::Journal& journal,
                                           const devices::DoorDirectory& doors,
                                           devices::DoorStateTracker& tracker) {
  DoorAlarmReplay out;
  std::set<std::pair<std::string, std::string>> seen;  // (door, alarm): its newest record read
  auto read = scan_records(
      journal, journal::RecordKind::door_alarm, TimePoint{}, [&](const journal::JournalRecord& r) {
        boost::system::error_code ec;
        const auto extra = json::parse(r.extra, ec);
        if (ec || !extra.is_object()) return;
        const auto* alarm = extra.as_object().if_contains("alarm");
        const auto* state = extra.as_object().if_contains("state");
        if (!alarm || !alarm->is_string() || !state || !state->is_string()) return;
        const std::string name(alarm->get_string());
        if (!seen.emplace(r.door, name).second || state->get_string() != "raised") return;
        auto door = doors.find(r.site, r.door);
        if (!door) return;  // deleted, or moved to another site, since
        tracker.carry_over_alarm(*door, name);
        ++out.carried_over;
      });
  if (!read) return read.error();
  out.records_read = *read;
  return out;
}

}  // namespace castellan::app
