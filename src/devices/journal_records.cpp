#include "devices/journal_records.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "core/crypto.hpp"

namespace castellan::devices {
namespace json = boost::json;

std::string new_trace_id() {
  while (true) {
    std::string id = to_hex(random_bytes(16));
    if (id != std::string(32, '0')) return id;
  }
}

std::string new_uuid_v4() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string hex = to_hex(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

journal::JournalRecord door_state_record(std::string_view site, std::string_view door,
                                         LockState lock, ContactState contact, BeamState beam) {
  journal::JournalRecord r;
  r.kind = journal::RecordKind::door_state;
  r.trace_id = new_trace_id();
  r.site = std::string(site);
  r.door = std::string(door);
  r.source = "mqtt";
  json::object extra;
  extra["lock"] = lock_name(lock);
  extra["contact"] = contact_name(contact);
  extra["beam"] = beam_name(beam);
  r.extra = json::serialize(extra);
  return r;
}

journal::JournalRecord door_alarm_record(std::string_view site, std::string_view door,
                                         std::string_view alarm, bool raised) {
  journal::JournalRecord r;
  r.kind = journal::RecordKind::door_alarm;
  r.trace_id = new_trace_id();
  r.site = std::string(site);
  r.door = std::string(door);
  r.source = "mqtt";
  json::object extra;
  extra["alarm"] = alarm;
  extra["state"] = raised ? "raised" : "cleared";
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
