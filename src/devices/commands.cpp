#include "devices/commands.hpp"

#include <boost/json.hpp>
#include <future>
#include <mutex>

#include "devices/journal_records.hpp"
#include "devices/outgoing.hpp"
#include "devices/topics.hpp"

namespace castellan::devices {
namespace json = boost::json;

DoorCommander::DoorCommander(const Clock& clock, const DoorDirectory& doors, JournalSink& journal,
                             Publisher& publisher, DoorStateTracker& door_states,
                             std::chrono::seconds signature_ttl)
    : clock_(clock),
      doors_(doors),
      journal_(journal),
      publisher_(publisher),
      door_states_(door_states),
      signature_ttl_(signature_ttl) {}

void DoorCommander::send(DoorCommand command, Done done) {
  const std::string& cmd = command.cmd;
  if (cmd != "unlock" && cmd != "lock" && cmd != "lockdown" && cmd != "release") {
    return done(make_error(Code::ERR_BAD_REQUEST, "cmd must be unlock, lock, lockdown or release"));
  }
  if (command.unlock_ms < 0 || command.unlock_ms > 3'600'000) {
    return done(make_error(Code::ERR_BAD_REQUEST, "duration_ms must be between 0 and 3600000"));
  }
  auto door = doors_.find_by_id(command.door);
  if (!door) return done(make_error(Code::ERR_NOT_FOUND, "no door " + command.door));
  if (door->key.empty()) {
    return done(make_error(Code::ERR_UNAVAILABLE, "door " + command.door + " has no signing key"));
  }
  int unlock_ms =
      cmd == "unlock" ? (command.unlock_ms > 0 ? command.unlock_ms : door->unlock_ms) : 0;
  std::string id = new_uuid_v4();
  std::string trace_id = command.trace_id.empty() ? new_trace_id() : command.trace_id;

  journal::JournalRecord record;
  record.kind = (cmd == "unlock" || cmd == "lock") ? journal::RecordKind::force_unlock
                                                   : journal::RecordKind::lockdown;
  record.trace_id = trace_id;
  record.site = door->site;
  record.door = door->id;
  record.source = "api";
  json::object extra{{"cmd", cmd}, {"id", id}, {"unlock_ms", unlock_ms}};
  if (!command.actor.empty()) extra["actor"] = command.actor;
  if (!command.reason.empty()) extra["reason"] = command.reason;
  record.extra = json::serialize(extra);

  journal_.append(std::move(record), [this, life = life_, door = *door, cmd, id, trace_id,
                                      unlock_ms,
                                      done = std::move(done)](Result<journal::JournalRecord> r) {
    // The journal may outlive this commander (it flushes its queue when it is destroyed).
    std::lock_guard lock(life->mu);
    if (!life->alive) {
      return done(make_error(Code::ERR_UNAVAILABLE, "door commands stopped (shutting down)"));
    }
    if (!r) return done(r.error());
    auto exp = clock_.now() + std::chrono::duration_cast<std::chrono::microseconds>(signature_ttl_);
    CommandMessage m = make_command_message(door.site, door.id, door.key, id, cmd, unlock_ms, exp);
    // Authorise the opening before the door can act on the command, so a fast controller's
    // "contact open" is never taken for a forced opening; withdrawn if the door never got it.
    // A lock or lockdown ends any window an earlier grant or unlock opened.
    DoorStateTracker::Authorisation opened;
    if (cmd == "unlock") opened = door_states_.authorise(door, unlock_ms);
    if (cmd == "lock" || cmd == "lockdown") door_states_.end_authorisation(door);
    bool published =
        static_cast<bool>(publisher_.publish(command_topic(door.site, door.id), serialize(m)));
    if (!published && cmd == "unlock") door_states_.withdraw(door, opened);
    done(CommandReceipt{id, trace_id, r->seq, published, unlock_ms});
  });
}

DoorCommander::~DoorCommander() {
  std::lock_guard lock(life_->mu);  // waits for a callback that is running
  life_->alive = false;
}

Result<CommandReceipt> DoorCommander::send_and_wait(DoorCommand command,
                                                    std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Result<CommandReceipt>>>();
  auto future = promise->get_future();
  send(std::move(command),
       [promise](Result<CommandReceipt> r) { promise->set_value(std::move(r)); });
  if (future.wait_for(timeout) != std::future_status::ready) {
    return make_error(Code::ERR_TIMEOUT,
                      "door command not durable within " + std::to_string(timeout.count()) + " ms");
  }
  return future.get();
}

}  // namespace castellan::devices
