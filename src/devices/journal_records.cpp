#include "devices/journal_records.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "core/crypto.hpp"

namespace castellan::devices {
namespace json = boost::json;
namespace {

// A record about a door, from the device side, with its own trace id.
journal::JournalRecord door_record(journal::RecordKind kind, std::string_view site,
                                   std::string_view door) {
  journal::JournalRecord r;
  r.kind = kind;
  r.trace_id = new_trace_id();
  r.site = std::string(site);
  r.door = std::string(door);
  r.source = "mqtt";
  return r;
}

}  // namespace

journal::JournalRecord door_state_record(std::string_view site, std::string_view door,
                                         LockState lock, ContactState contact, BeamState beam) {
  journal::JournalRecord r = door_record(journal::RecordKind::door_state, site, door);
  json::object extra;
  extra["lock"] = lock_name(lock);
  extra["contact"] = contact_name(contact);
  extra["beam"] = beam_name(beam);
  r.extra = json::serialize(extra);
  return r;
}

journal::JournalRecord door_alarm_record(std::string_view site, std::string_view door,
                                         std::string_view alarm, bool raised) {
  journal::JournalRecord r = door_record(journal::RecordKind::door_alarm, site, door);
  json::object extra;
  extra["alarm"] = alarm;
  extra["state"] = raised ? "raised" : "cleared";
  r.extra = json::serialize(extra);
  return r;
}

journal::JournalRecord swipes_rate_limited_record(std::string_view site, std::string_view door,
                                                  std::uint64_t refused, int per_second) {
  journal::JournalRecord r = door_record(journal::RecordKind::resilience, site, door);
  r.extra = json::serialize(json::object{
      {"event", "swipes_rate_limited"}, {"refused", refused}, {"limit_per_s", per_second}});
  return r;
}

std::string outcome_extra(std::string_view why, bool fail_safe, bool granted_by_fail_mode) {
  json::object extra;
  extra["outcome"] = why;
  extra["fail_mode"] = fail_safe ? "safe" : "secure";
  if (granted_by_fail_mode) extra["granted_by_fail_mode"] = true;
  return json::serialize(extra);
}

journal::JournalRecord degradation_record(std::string_view cause, bool on,
                                          std::string_view reason) {
  journal::JournalRecord r;
  r.kind = journal::RecordKind::resilience;
  r.trace_id = new_trace_id();
  r.source = "mqtt";
  json::object extra{{"event", "degradation"}, {"state", on ? "on" : "off"}, {"cause", cause}};
  if (!reason.empty()) extra["reason"] = reason;
  r.extra = json::serialize(extra);
  return r;
}

journal::JournalRecord device_transition_record(const DeviceTransition& t) {
  journal::JournalRecord r;
  r.kind = t.online ? journal::RecordKind::device_online : journal::RecordKind::device_offline;
  r.ts = t.at;
  r.trace_id = new_trace_id();
  r.site = t.site;
  r.source = "mqtt";
  json::object extra;
  extra["device"] = t.device;
  extra["reason"] = t.reason;
  if (t.last_heartbeat) extra["last_heartbeat"] = format_utc(*t.last_heartbeat);
  r.extra = json::serialize(extra);
  return r;
}

void append_logged(JournalSink& journal, journal::JournalRecord record) {
  std::string kind(journal::kind_name(record.kind));
  journal.append(std::move(record), [kind](Result<journal::JournalRecord> r) {
    if (!r) spdlog::warn("journal append of a {} record failed: {}", kind, r.error().message);
  });
}

}  // namespace castellan::devices
