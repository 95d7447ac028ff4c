#include "devices/sim/swipe_payloads.hpp"

#include <fmt/format.h>

namespace castellan::devices::sim {

std::string_view swipe_kind_name(SwipeKind k) {
  switch (k) {
    case SwipeKind::kValid:
      return "valid";
    case SwipeKind::kUnknown:
      return "unknown";
    case SwipeKind::kExpired:
      return "expired";
    case SwipeKind::kMalformed:
      return "malformed";
  }
  return "?";
}

bool is_plausible_answer(SwipeKind kind, std::int32_t code) {
  if (code == 42901 || code >= 50000) return true;  // refused: counted apart
  // 40309 (lockdown) comes before every card check; 40303 (revoked) and 40310 (suspended)
  // before the validity dates (contract §4, order of precedence).
  switch (kind) {
    case SwipeKind::kValid:
      return code == 0 || (code >= 40302 && code <= 40310 && code != 40304);
    case SwipeKind::kUnknown:
      return code == 40304 || code == 40309;
    case SwipeKind::kExpired:
      return code == 40301 || code == 40303 || code == 40309 || code == 40310;
    case SwipeKind::kMalformed:
      return code == 40001;
  }
  return false;
}

SwipeGenerator::SwipeGenerator(const SimOptions& options, std::uint64_t seed)
    : options_(options), rng_(seed) {
  const SwipeMix& m = options.mix;
  double valid = options.valid_cards.empty() ? 0 : m.valid;
  double expired = options.expired_cards.empty() ? 0 : m.expired;
  double unknown = m.unknown;
  if (valid + expired + unknown + m.malformed <= 0) unknown = 1;
  kinds_ = std::discrete_distribution<int>({valid, unknown, expired, m.malformed});
}

SwipeKind SwipeGenerator::pick_kind() {
  return static_cast<SwipeKind>(kinds_(rng_));
}

std::string SwipeGenerator::random_uid() {
  // 14 hex digits (a 7-byte ISO 14443 UID); the seed data uses 8-digit UIDs, so no clash.
  return fmt::format("{:014x}", rng_() & 0xFFFFFFFFFFFFFFull);
}

SwipePlan SwipeGenerator::next(const std::string& req, std::string_view ts) {
  SwipePlan plan;
  plan.kind = pick_kind();
  const char* dir = (rng_() % 4 == 0) ? "out" : "in";
  auto card_swipe = [&](const std::string& uid) {
    return fmt::format(R"({{"req":"{}","card":"{}","dir":"{}","ts":"{}"}})", req, uid, dir, ts);
  };
  switch (plan.kind) {
    case SwipeKind::kValid:
      plan.payload = card_swipe(options_.valid_cards[rng_() % options_.valid_cards.size()]);
      break;
    case SwipeKind::kUnknown:
      plan.payload = card_swipe(random_uid());
      break;
    case SwipeKind::kExpired:
      plan.payload = card_swipe(options_.expired_cards[rng_() % options_.expired_cards.size()]);
      break;
    case SwipeKind::kMalformed: {
      // Rotate through the shapes so every run covers each of them.
      switch (malformed_count_++ % 6) {
        case 0:
          plan.payload = fmt::format(R"({{"req":"{}","card":"zz-not-hex","ts":"{}"}})", req, ts);
          break;
        case 1:
          plan.payload = fmt::format(R"({{"req":"{}","card":"04a1b2c3","dir":"sideways"}})", req);
          break;
        case 2:
          plan.payload = fmt::format(R"({{"req":"{}","card":12345678}})", req);
          break;
        case 3:
          plan.payload = fmt::format(R"({{"req":"{}","card":"04a1b2c3","ts":"yesterday"}})", req);
          break;
        case 4:
          plan.payload = "not json {" + req;
          plan.expects_reply = false;
          break;
        default:
          plan.payload = R"({"card":"04a1b2c3","dir":"in"})";
          plan.expects_reply = false;
          break;
      }
      break;
    }
  }
  return plan;
}

}  // namespace castellan::devices::sim
