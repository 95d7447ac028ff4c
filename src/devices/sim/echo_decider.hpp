// EchoDecider: the smallest possible answering side, for tests and the benchmark baseline.
// It subscribes to every swipe, and answers each one that has a usable `req` at once with a
// signed decision (grant 0 for a well-formed swipe, deny 40001 otherwise): no card lookup,
// no journal. Signing can be made wrong on purpose to test the simulator's checks.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "devices/mqtt_client.hpp"

namespace castellan::devices::sim {

enum class EchoSigning {
  kCorrect,   // the door's key, exp = now + ttl
  kWrongKey,  // a different key: every signature is bad
  kExpired,   // the right key, but exp already in the past
  // Correctly signed, but wrong in what they say, for the simulator's consistency checks:
  kGrantWithDenyCode,  // "grant" with code 40304 (card unknown)
  kOtherDoor,          // answered on the next door's topic, signed with that door's key
};

struct EchoOptions {
  MqttOptions mqtt;
  std::map<std::string, std::string> door_keys;  // door -> raw key; unknown doors are ignored
  EchoSigning signing = EchoSigning::kCorrect;
  std::int64_t unlock_ms = 5000;
  std::chrono::seconds ttl{5};
  std::chrono::milliseconds delay{0};  // held before each answer (tests of late answers)
};

class EchoDecider {
 public:
  explicit EchoDecider(EchoOptions options, const Clock& clock = SystemClock::instance());
  ~EchoDecider() { stop(); }  // before the members the message handler uses go away
  EchoDecider(const EchoDecider&) = delete;
  EchoDecider& operator=(const EchoDecider&) = delete;
  // Connects, subscribes, waits for the SUBACK.
  Result<void> start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void stop() { client_.stop(); }
  std::uint64_t answered() const { return answered_.load(); }

 private:
  void on_swipe(std::string_view topic, std::string_view payload);

  EchoOptions options_;
  const Clock& clock_;
  MqttClient client_;
  std::atomic<std::uint64_t> answered_{0};
};

}  // namespace castellan::devices::sim
