// Parsing and validation of incoming device payloads (contract §3), with Boost.JSON.
//
// Every rejection carries a RejectReason (the `reason` label of
// castellan_mqtt_rejected_total) and a sentence for the log. For swipes the parser also
// reports whether a usable `req` was found: with one, the swipe is answered `deny` 40001;
// without one, it gets no reply. Payloads over the size limit are not parsed at all.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/time.hpp"

namespace castellan::devices {

enum class RejectReason {
  kBadTopic,     // topic not of the §3 shape, or an invalid site/door/device id
  kTooLarge,     // payload over the size limit (not parsed)
  kNotJson,      // not valid JSON (or not UTF-8), or not a JSON object
  kNoReq,        // swipe without a usable `req` (missing, not a string, empty, > 64 chars)
  kBadField,     // a field missing, of the wrong type or out of range
  kUnknownDoor,  // door not configured (swipes are still answered, 40401)
  kCapacity,     // a bounded table (devices, metrics) is full
  kRetained,     // a retained message replayed by the broker (stale: never acted on)
  kTooOld,       // a swipe older than decision.max_swipe_age_ms (answered 50401, not decided)
  kRateLimited,  // a new swipe over its door's decision.door_swipes_per_s (answered 42901)
};

std::string_view reject_reason_name(RejectReason r);
std::span<const RejectReason> all_reject_reasons();

struct PayloadError {
  RejectReason reason = RejectReason::kBadField;
  std::string message;
};

// Default upper bound of an incoming payload.
inline constexpr std::size_t kDefaultMaxPayloadBytes = 4096;
// A swipe over the bound (or nested too deeply to parse) still has its req read, to be answered
// 40001, up to this size; a larger one gets no reply.
inline constexpr std::size_t kMaxScannedSwipeBytes = 65536;
// ... and nested at most this deep. Boost.JSON's parser recurses once per level, so an
// unbounded depth would let one controller's message ("[[[[...") overflow the MQTT thread's
// stack. No real swipe nests more than two levels.
inline constexpr std::size_t kMaxScannedSwipeDepth = 256;

enum class Direction { kIn, kOut };
std::string_view direction_name(Direction d);

struct SwipeRequest {
  std::string req;
  std::string card_uid;  // normalised lower-case hex; hash it at once and drop it
  Direction dir = Direction::kIn;
  std::optional<TimePoint> ts;
};

struct SwipeParse {
  // The usable req, or empty when there is none; also set, with `error`, for a payload that is
  // valid JSON with a req but too large or too deep (see kMaxScannedSwipeBytes).
  std::string req;
  std::optional<SwipeRequest> swipe;  // set when the payload is valid
  std::optional<PayloadError> error;  // set when it is not
};
SwipeParse parse_swipe(std::string_view payload, std::size_t max_bytes = kDefaultMaxPayloadBytes);

enum class LockState { kUnknown, kLocked, kUnlocked };
enum class ContactState { kUnknown, kClosed, kOpen };
enum class BeamState { kUnknown, kClear, kBlocked };
std::string_view lock_name(LockState s);
std::string_view contact_name(ContactState s);
std::string_view beam_name(BeamState s);

// A state message may carry any subset of the three fields (at least one); absent fields
// keep their previous value.
struct DoorStateUpdate {
  std::optional<LockState> lock;
  std::optional<ContactState> contact;
  std::optional<BeamState> beam;
  std::optional<TimePoint> ts;
};

struct HeartbeatPayload {
  std::string fw;  // empty when absent
  std::optional<std::int64_t> uptime_s;
  std::optional<TimePoint> ts;
};

// Telemetry metric names follow the id rule ([A-Za-z0-9_.-]{1,64}); values are numbers.
inline constexpr std::size_t kMaxMetricsPerMessage = 32;
struct TelemetryPayload {
  std::optional<TimePoint> ts;
  std::vector<std::pair<std::string, double>> metrics;
};

enum class DeviceStatus { kOffline, kOnline };

template <class T>
struct Parsed {
  std::optional<T> value;
  std::optional<PayloadError> error;
  bool ok() const { return value.has_value(); }
};

Parsed<DoorStateUpdate> parse_door_state(std::string_view payload,
                                         std::size_t max_bytes = kDefaultMaxPayloadBytes);
Parsed<HeartbeatPayload> parse_heartbeat(std::string_view payload,
                                         std::size_t max_bytes = kDefaultMaxPayloadBytes);
Parsed<TelemetryPayload> parse_telemetry(std::string_view payload,
                                         std::size_t max_bytes = kDefaultMaxPayloadBytes);
// `offline` (the last will) or `online`, as plain text or a JSON string; whitespace ignored.
Parsed<DeviceStatus> parse_status(std::string_view payload,
                                  std::size_t max_bytes = kDefaultMaxPayloadBytes);

}  // namespace castellan::devices
