// Adapters from the device ports (ports.hpp) to the real pieces: MqttClient, journal::Journal
// and the access snapshot.
#pragma once

#include "access/snapshot.hpp"
#include "devices/mqtt_client.hpp"
#include "devices/ports.hpp"
#include "journal/journal.hpp"

namespace castellan::devices {

class MqttPublisher final : public Publisher {
 public:
  explicit MqttPublisher(MqttClient& client) : client_(client) {}
  Result<void> publish(std::string_view topic, std::string_view payload) override {
    return client_.publish(topic, payload, 1, false);
  }
  std::string gateway_ip() const override { return client_.broker_ip(); }

 private:
  MqttClient& client_;
};

class JournalAppender final : public JournalSink {
 public:
  explicit JournalAppender(journal::Journal& journal) : journal_(journal) {}
  void append(journal::JournalRecord record, Callback on_durable) override {
    journal_.append(std::move(record), std::move(on_durable));
  }

 private:
  journal::Journal& journal_;
};

// Doors from the currently published snapshot; the key is decoded from the door's key_hex.
class SnapshotDoorDirectory final : public DoorDirectory {
 public:
  explicit SnapshotDoorDirectory(const access::SnapshotHolder& snapshots) : snapshots_(snapshots) {}
  std::optional<DoorInfo> find(std::string_view site, std::string_view door) const override;
  std::optional<DoorInfo> find_by_id(std::string_view door) const override;

 private:
  const access::SnapshotHolder& snapshots_;
};

}  // namespace castellan::devices
