// DoorCommander: signed door commands (contract §3) for the API's unlock / lockdown / release
// routes. Each command is journaled first (`force_unlock` for unlock and lock, `lockdown` for
// lockdown and release, extra {"cmd","id","actor","reason"}) and published once the record is
// durable — the same durable-before-publish rule as decisions. The message is
//   {"id":"<uuid v4>","cmd":…,"unlock_ms":…,"exp":…,"sig":…}
// signed with code 0 (docs/protocol.md). An unlock also opens the door's authorised window
// (before the command is published) so that opening the door is not reported as forced.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "devices/door_state.hpp"
#include "devices/ports.hpp"

namespace castellan::devices {

struct DoorCommand {
  std::string door;
  std::string cmd;       // "unlock" | "lock" | "lockdown" | "release"
  int unlock_ms = 0;     // unlock only; 0 = the door's unlock_ms
  std::string actor;     // API user name
  std::string reason;    // free text from the operator
  std::string trace_id;  // empty: a new one
};

struct CommandReceipt {
  std::string id;  // the command's uuid
  std::string trace_id;
  std::uint64_t seq = 0;   // journal seq of the command's record
  bool published = false;  // false: journaled, but the broker connection refused the message
  int unlock_ms = 0;       // what the command carries (an unlock without one: the door's)
};

class DoorCommander {
 public:
  using Done = std::function<void(Result<CommandReceipt>)>;

  DoorCommander(const Clock& clock, const DoorDirectory& doors, JournalSink& journal,
                Publisher& publisher, DoorStateTracker& door_states,
                std::chrono::seconds signature_ttl);
  // A command whose record becomes durable after this gets 50301 and is not published.
  ~DoorCommander();
  DoorCommander(const DoorCommander&) = delete;
  DoorCommander& operator=(const DoorCommander&) = delete;

  // Validates (40001 bad cmd or duration, 40402 unknown door), journals, then publishes;
  // `done` runs on the journal's thread (or at once on a validation error).
  void send(DoorCommand command, Done done);

  // send() and wait at most `timeout` (50401 after it). For callers that may block.
  Result<CommandReceipt> send_and_wait(DoorCommand command, std::chrono::milliseconds timeout);

 private:
  const Clock& clock_;
  const DoorDirectory& doors_;
  JournalSink& journal_;
  Publisher& publisher_;
  DoorStateTracker& door_states_;
  std::chrono::seconds signature_ttl_;
  struct Life {
    std::mutex mu;
    bool alive = true;
  };
  std::shared_ptr<Life> life_ = std::make_shared<Life>();
};

}  // namespace castellan::devices
