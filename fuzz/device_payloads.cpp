// Fuzzes what any device on the broker can send (contract §3): the MQTT topic and the five
// incoming payloads. The first byte picks the parser ('0' swipe, '1' state, '2' heartbeat,
// '3' telemetry, '4' status, '5' topic; any byte works, modulo 6), the rest is the payload.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/ids.hpp"
#include "devices/payloads.hpp"
#include "devices/topics.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace castellan::devices;

// Code points, as the parsers count the 64 characters of req and fw.
std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool is_lower_hex(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

template <class T>
void check_exactly_one(const Parsed<T>& parsed) {
  FUZZ_CHECK(parsed.value.has_value() != parsed.error.has_value(),
             "a payload is either parsed or rejected");
}

void swipe(std::string_view payload) {
  const SwipeParse parsed = parse_swipe(payload);
  FUZZ_CHECK(parsed.swipe.has_value() != parsed.error.has_value(),
             "a swipe is either parsed or rejected");
  // The req decides whether the controller gets an answer: it must be a usable one or none.
  FUZZ_CHECK(utf8_length(parsed.req) <= 64, "req is at most 64 characters");
  if (payload.size() > kMaxScannedSwipeBytes) {
    FUZZ_CHECK(parsed.req.empty(), "a swipe too large to scan gets no reply");
  }
  if (parsed.swipe) {
    FUZZ_CHECK(!parsed.req.empty() && parsed.swipe->req == parsed.req, "a valid swipe has its req");
    const std::string& uid = parsed.swipe->card_uid;
    FUZZ_CHECK(uid.size() >= 8 && uid.size() <= 32 && is_lower_hex(uid),
               "card uid is 8-32 lower-case hex digits");
    return;
  }
  switch (parsed.error->reason) {
    case RejectReason::kNoReq:
      FUZZ_CHECK(parsed.req.empty(), "no_req has no req to answer");
      break;
    case RejectReason::kBadField:
      FUZZ_CHECK(!parsed.req.empty(), "bad_field is answered with the req it found");
      break;
    case RejectReason::kTooLarge:
      FUZZ_CHECK(payload.size() > kDefaultMaxPayloadBytes, "too_large only over the limit");
      break;
    case RejectReason::kNotJson:
      break;
    default:
      FUZZ_CHECK(false, "a swipe is rejected only as too_large, not_json, no_req or bad_field");
  }
}

void door_state(std::string_view payload) {
  const auto parsed = parse_door_state(payload);
  check_exactly_one(parsed);
  if (parsed.value) {
    FUZZ_CHECK(parsed.value->lock || parsed.value->contact || parsed.value->beam,
               "a state update sets at least one field");
  }
}

void heartbeat(std::string_view payload) {
  const auto parsed = parse_heartbeat(payload);
  check_exactly_one(parsed);
  if (parsed.value) {
    FUZZ_CHECK(utf8_length(parsed.value->fw) <= 64, "fw is at most 64 characters");
    FUZZ_CHECK(!parsed.value->uptime_s || *parsed.value->uptime_s >= 0, "uptime is not negative");
  }
}

void telemetry(std::string_view payload) {
  const auto parsed = parse_telemetry(payload);
  check_exactly_one(parsed);
  if (parsed.value) {
    FUZZ_CHECK(parsed.value->metrics.size() <= kMaxMetricsPerMessage, "at most 32 metrics");
    for (const auto& [name, value] : parsed.value->metrics) {
      FUZZ_CHECK(castellan::is_valid_id(name), "metric names are ids (they become labels)");
      FUZZ_CHECK(std::isfinite(value), "metric values are finite");
    }
  }
}

void status(std::string_view payload) {
  check_exactly_one(parse_status(payload));
}

void topic(std::string_view text) {
  const auto parsed = parse_topic(text);
  if (!parsed) return;
  // Only the canonical spelling of a topic is accepted: rebuilt, it is the same text.
  const std::string rebuilt = "castellan/v1/" + parsed->site +
                              (parsed->is_door() ? "/doors/" : "/devices/") + parsed->entity + "/" +
                              std::string(topic_kind_name(parsed->kind));
  FUZZ_CHECK(rebuilt == text, "a parsed topic is rebuilt to the same text");
  FUZZ_CHECK(castellan::is_valid_site_id(parsed->site) && castellan::is_valid_id(parsed->entity),
             "a parsed topic names a valid site and door/device id");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      swipe(payload);
      break;
    case 1:
      door_state(payload);
      break;
    case 2:
      heartbeat(payload);
      break;
    case 3:
      telemetry(payload);
      break;
    case 4:
      status(payload);
      break;
    default:
      topic(payload);
      break;
  }
  return 0;
}
