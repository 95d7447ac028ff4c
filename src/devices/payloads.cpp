#include "devices/payloads.hpp"

#include <array>
#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <cmath>

#include "core/ids.hpp"

namespace castellan::devices {
namespace json = boost::json;
namespace {

PayloadError err(RejectReason r, std::string message) {
  return PayloadError{r, std::move(message)};
}

// too_large when `payload` is over the limit: such a payload is not parsed at all.
std::optional<PayloadError> check_size(std::string_view payload, std::size_t max_bytes) {
  if (payload.size() <= max_bytes) return std::nullopt;
  return err(RejectReason::kTooLarge, "payload of " + std::to_string(payload.size()) +
                                          " bytes exceeds the limit of " +
                                          std::to_string(max_bytes));
}

// Parses `payload` into an object, or says why not.
std::optional<PayloadError> parse_object(std::string_view payload, std::size_t max_bytes,
                                         json::object& out) {
  if (auto too_large = check_size(payload, max_bytes)) return too_large;
  json::parse_options options;
  options.max_depth = 8;
  std::error_code ec;
  json::value v = json::parse(json::string_view(payload.data(), payload.size()), ec, {}, options);
  if (ec) return err(RejectReason::kNotJson, "payload is not valid JSON: " + ec.message());
  if (!v.is_object()) return err(RejectReason::kNotJson, "payload is not a JSON object");
  out = std::move(v.as_object());
  return std::nullopt;
}

// Optional "ts": absent is fine, present must be an RFC 3339 string.
std::optional<PayloadError> read_ts(const json::object& o, std::optional<TimePoint>& out) {
  auto* v = o.if_contains("ts");
  if (!v) return std::nullopt;
  if (!v->is_string()) return err(RejectReason::kBadField, "ts must be a string");
  auto t = parse_utc(std::string_view(v->as_string()));
  if (!t) return err(RejectReason::kBadField, "ts is not an RFC 3339 time");
  out = *t;
  return std::nullopt;
}

template <class E, std::size_t N>
std::optional<PayloadError> read_enum(const json::object& o, std::string_view key,
                                      const std::array<std::pair<std::string_view, E>, N>& names,
                                      std::optional<E>& out) {
  auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_string()) {
    std::string_view s(v->as_string());
    for (const auto& [name, value] : names) {
      if (s == name) {
        out = value;
        return std::nullopt;
      }
    }
  }
  // Built by appending: operator+ on temporaries here trips a GCC 12 -Warray-bounds false
  // positive in the sanitizer builds.
  std::string message(key);
  message.append(" must be ");
  bool first = true;
  for (const auto& [name, value] : names) {
    if (!first) message.push_back('|');
    message.append(name);
    first = false;
  }
  return err(RejectReason::kBadField, std::move(message));
}

// Characters (code points) of text that the JSON parser has already checked to be UTF-8.
std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;  // not a continuation
  return n;
}

// Reads the top-level "req" in one pass of the JSON grammar that keeps nothing else: the
// basic_parser handler of req_of_unparsed_swipe().
class ReqFinder {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  // The req when the document was a JSON object with a string "req" member.
  std::optional<std::string> req() const {
    if (!top_is_object_) return std::nullopt;
    return req_;
  }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    if (depth_ == 0) top_is_object_ = true;
    not_a_string();
    ++depth_;
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    --depth_;
    return true;
  }
  bool on_array_begin(json::error_code&) {
    not_a_string();
    ++depth_;
    return true;
  }
  bool on_array_end(std::size_t, json::error_code&) {
    --depth_;
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    if (depth_ == 1) key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    if (depth_ == 1) {
      key_.append(s.data(), s.size());
      reading_req_ = key_ == "req";  // the last "req" wins, as in a parsed document
      key_.clear();
      value_.clear();
    }
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    if (depth_ == 1 && reading_req_) value_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    if (depth_ == 1 && reading_req_) {
      value_.append(s.data(), s.size());
      req_ = std::move(value_);
      reading_req_ = false;
    }
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return not_a_string(); }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return not_a_string(); }
  bool on_double(double, json::string_view, json::error_code&) { return not_a_string(); }
  bool on_bool(bool, json::error_code&) { return not_a_string(); }
  bool on_null(json::error_code&) { return not_a_string(); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  // A value at the top level that is not a string: if it belongs to "req", there is no req.
  bool not_a_string() {
    if (depth_ == 1 && reading_req_) {
      req_.reset();
      reading_req_ = false;
    }
    return true;
  }

  std::size_t depth_ = 0;
  bool top_is_object_ = false;
  bool reading_req_ = false;
  std::string key_, value_;
  std::optional<std::string> req_;
};

// Contract §3: a swipe that is valid JSON with a req is answered (40001) even when it is too
// large or too deep to be parsed into a document. Its req is read by one pass that keeps
// nothing else, up to kMaxScannedSwipeBytes: beyond that no reply, so that one controller's
// huge messages cannot hold up everyone's swipes.
std::string req_of_unparsed_swipe(std::string_view payload) {
  if (payload.size() > kMaxScannedSwipeBytes) return {};
  json::parse_options options;
  options.max_depth = kMaxScannedSwipeDepth;  // stack, not memory: the parser recurses
  json::basic_parser<ReqFinder> parser(options);
  json::error_code ec;
  parser.write_some(false, payload.data(), payload.size(), ec);
  if (ec || !parser.done()) return {};
  auto req = parser.handler().req();
  if (!req || req->empty() || utf8_length(*req) > 64) return {};
  return std::move(*req);
}

}  // namespace

std::string_view reject_reason_name(RejectReason r) {
  switch (r) {
    case RejectReason::kBadTopic:
      return "bad_topic";
    case RejectReason::kTooLarge:
      return "too_large";
    case RejectReason::kNotJson:
      return "not_json";
    case RejectReason::kNoReq:
      return "no_req";
    case RejectReason::kBadField:
      return "bad_field";
    case RejectReason::kUnknownDoor:
      return "unknown_door";
    case RejectReason::kCapacity:
      return "capacity";
    case RejectReason::kRetained:
      return "retained";
    case RejectReason::kTooOld:
      return "too_old";
    case RejectReason::kRateLimited:
      return "rate_limited";
  }
  return "unknown";
}

std::span<const RejectReason> all_reject_reasons() {
  static constexpr std::array kAll = {RejectReason::kBadTopic, RejectReason::kTooLarge,
                                      RejectReason::kNotJson,  RejectReason::kNoReq,
                                      RejectReason::kBadField, RejectReason::kUnknownDoor,
                                      RejectReason::kCapacity, RejectReason::kRetained,
                                      RejectReason::kTooOld,   RejectReason::kRateLimited};
  return kAll;
}

std::string_view direction_name(Direction d) {
  return d == Direction::kIn ? "in" : "out";
}

std::string_view lock_name(LockState s) {
  return s == LockState::kLocked ? "locked" : s == LockState::kUnlocked ? "unlocked" : "unknown";
}
std::string_view contact_name(ContactState s) {
  return s == ContactState::kClosed ? "closed" : s == ContactState::kOpen ? "open" : "unknown";
}
std::string_view beam_name(BeamState s) {
  return s == BeamState::kClear ? "clear" : s == BeamState::kBlocked ? "blocked" : "unknown";
}

SwipeParse parse_swipe(std::string_view payload, std::size_t max_bytes) {
  SwipeParse out;
  json::object o;
  if (auto e = parse_object(payload, max_bytes, o)) {
    out.req = req_of_unparsed_swipe(payload);
    out.error = std::move(e);
    return out;
  }
  auto* req = o.if_contains("req");
  if (!req || !req->is_string() || req->as_string().empty() || utf8_length(req->as_string()) > 64) {
    out.error = err(RejectReason::kNoReq, "req must be a string of 1-64 characters");
    return out;
  }
  out.req = std::string(req->as_string());
  SwipeRequest swipe;
  swipe.req = out.req;
  auto* card = o.if_contains("card");
  if (!card || !card->is_string()) {
    out.error = err(RejectReason::kBadField, "card must be a string of 8-32 hex digits");
    return out;
  }
  auto uid = normalize_card_uid(std::string_view(card->as_string()));
  if (!uid) {
    out.error = err(RejectReason::kBadField, "card must be 8-32 hex digits");
    return out;
  }
  swipe.card_uid = std::move(*uid);
  static constexpr std::array<std::pair<std::string_view, Direction>, 2> kDirs{
      {{"in", Direction::kIn}, {"out", Direction::kOut}}};
  std::optional<Direction> dir;
  if (auto e = read_enum(o, "dir", kDirs, dir)) {
    out.error = std::move(e);
    return out;
  }
  swipe.dir = dir.value_or(Direction::kIn);
  if (auto e = read_ts(o, swipe.ts)) {
    out.error = std::move(e);
    return out;
  }
  out.swipe = std::move(swipe);
  return out;
}

Parsed<DoorStateUpdate> parse_door_state(std::string_view payload, std::size_t max_bytes) {
  Parsed<DoorStateUpdate> out;
  json::object o;
  if ((out.error = parse_object(payload, max_bytes, o))) return out;
  static constexpr std::array<std::pair<std::string_view, LockState>, 2> kLock{
      {{"locked", LockState::kLocked}, {"unlocked", LockState::kUnlocked}}};
  static constexpr std::array<std::pair<std::string_view, ContactState>, 2> kContact{
      {{"closed", ContactState::kClosed}, {"open", ContactState::kOpen}}};
  static constexpr std::array<std::pair<std::string_view, BeamState>, 2> kBeam{
      {{"clear", BeamState::kClear}, {"blocked", BeamState::kBlocked}}};
  DoorStateUpdate u;
  if ((out.error = read_enum(o, "lock", kLock, u.lock))) return out;
  if ((out.error = read_enum(o, "contact", kContact, u.contact))) return out;
  if ((out.error = read_enum(o, "beam", kBeam, u.beam))) return out;
  if ((out.error = read_ts(o, u.ts))) return out;
  if (!u.lock && !u.contact && !u.beam) {
    out.error = err(RejectReason::kBadField, "state needs at least one of lock, contact, beam");
    return out;
  }
  out.value = u;
  return out;
}

Parsed<HeartbeatPayload> parse_heartbeat(std::string_view payload, std::size_t max_bytes) {
  Parsed<HeartbeatPayload> out;
  json::object o;
  if ((out.error = parse_object(payload, max_bytes, o))) return out;
  HeartbeatPayload hb;
  if (auto* fw = o.if_contains("fw")) {
    if (!fw->is_string() || utf8_length(fw->as_string()) > 64) {
      out.error = err(RejectReason::kBadField, "fw must be a string of at most 64 characters");
      return out;
    }
    hb.fw = std::string(fw->as_string());
  }
  if (auto* up = o.if_contains("uptime_s")) {
    if (up->is_int64() && up->as_int64() >= 0) {
      hb.uptime_s = up->as_int64();
    } else {
      out.error = err(RejectReason::kBadField, "uptime_s must be a non-negative integer");
      return out;
    }
  }
  if ((out.error = read_ts(o, hb.ts))) return out;
  out.value = std::move(hb);
  return out;
}

Parsed<TelemetryPayload> parse_telemetry(std::string_view payload, std::size_t max_bytes) {
  Parsed<TelemetryPayload> out;
  json::object o;
  if ((out.error = parse_object(payload, max_bytes, o))) return out;
  TelemetryPayload t;
  if ((out.error = read_ts(o, t.ts))) return out;
  auto* metrics = o.if_contains("metrics");
  if (!metrics || !metrics->is_object()) {
    out.error = err(RejectReason::kBadField, "metrics must be an object of numbers");
    return out;
  }
  if (metrics->as_object().size() > kMaxMetricsPerMessage) {
    out.error = err(RejectReason::kBadField, "at most 32 metrics per message");
    return out;
  }
  for (const auto& kv : metrics->as_object()) {
    std::string_view name(kv.key());
    if (!is_valid_id(name)) {
      out.error = err(RejectReason::kBadField, "metric names must match [A-Za-z0-9_.-]{1,64}");
      return out;
    }
    if (!kv.value().is_number()) {
      out.error = err(RejectReason::kBadField, "metric " + std::string(name) + " is not a number");
      return out;
    }
    double value = kv.value().to_number<double>();
    if (!std::isfinite(value)) {
      out.error = err(RejectReason::kBadField, "metric " + std::string(name) + " is not finite");
      return out;
    }
    t.metrics.emplace_back(std::string(name), value);
  }
  out.value = std::move(t);
  return out;
}

Parsed<DeviceStatus> parse_status(std::string_view payload, std::size_t max_bytes) {
  Parsed<DeviceStatus> out;
  if ((out.error = check_size(payload, max_bytes))) return out;
  auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!payload.empty() && is_space(payload.front())) payload.remove_prefix(1);
  while (!payload.empty() && is_space(payload.back())) payload.remove_suffix(1);
  if (payload.size() >= 2 && payload.front() == '"' && payload.back() == '"') {
    payload = payload.substr(1, payload.size() - 2);
  }
  if (payload == "offline") {
    out.value = DeviceStatus::kOffline;
  } else if (payload == "online") {
    out.value = DeviceStatus::kOnline;
  } else {
    out.error = err(RejectReason::kBadField, "status must be offline or online");
  }
  return out;
}

}  // namespace castellan::devices
