// The small interfaces the device logic talks through, so each class can be unit-tested alone.
// Production adapters (adapters/) connect them to the real MqttClient, Journal and access
// snapshot; the end-to-end tests use those real pieces.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "journal/record.hpp"

namespace castellan::devices {

// Sends one message (QoS 1). Must not block: a refusal (broker down) is returned at once.
class Publisher {
 public:
  virtual ~Publisher() = default;
  virtual Result<void> publish(std::string_view topic, std::string_view payload) = 0;
  // The address of the broker that messages come in and go out through: decision records'
  // `gateway_ip` (the controller's own address is hidden behind the broker). "" = unknown.
  virtual std::string gateway_ip() const { return {}; }
};

// Appends a journal record; `on_durable` runs once it is on disk (or with the error), on
// whatever thread the journal completes it. Must not block the caller.
class JournalSink {
 public:
  using Callback = std::function<void(Result<journal::JournalRecord>)>;
  virtual ~JournalSink() = default;
  virtual void append(journal::JournalRecord record, Callback on_durable) = 0;
};

// What the device side needs to know about a configured door.
struct DoorInfo {
  std::string site;
  std::string id;
  std::string key;  // raw signing key bytes (empty when the door has no usable key)
  int unlock_ms = 5000;
  int held_open_s = 30;
  bool fail_safe = false;  // fail_mode = "safe": 50301/50401 grant
};

class DoorDirectory {
 public:
  virtual ~DoorDirectory() = default;
  // The door, if it exists and belongs to `site`.
  virtual std::optional<DoorInfo> find(std::string_view site, std::string_view door) const = 0;
  // The door by id alone (API routes).
  virtual std::optional<DoorInfo> find_by_id(std::string_view door) const = 0;
};

}  // namespace castellan::devices
