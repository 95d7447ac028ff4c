// Swipe payloads of the simulator's mix: valid, unknown and expired cards, and malformed
// payloads of several shapes. Each comes with what a correct castellan answers.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "devices/sim/sim_options.hpp"

namespace castellan::devices::sim {

enum class SwipeKind { kValid, kUnknown, kExpired, kMalformed };
inline constexpr int kSwipeKinds = 4;
std::string_view swipe_kind_name(SwipeKind k);

// Whether a correct castellan may answer a swipe of this kind with `code` (contract §4). A
// valid card can still be denied for what the simulator does not model (the holder's groups
// and schedules, anti-passback, lockdown, suspension): only a code that contradicts the card
// itself is unexpected, such as 40304 for a seeded card. Refusals (42901, 5xxxx) are counted
// apart (SimReport::refused) and are not unexpected either.
bool is_plausible_answer(SwipeKind kind, std::int32_t code);

struct SwipePlan {
  SwipeKind kind = SwipeKind::kValid;
  std::string payload;
  bool expects_reply = true;  // false: no usable `req`, contract says no reply
};

class SwipeGenerator {
 public:
  // Kinds whose card list is empty are left out of the mix.
  SwipeGenerator(const SimOptions& options, std::uint64_t seed);
  SwipePlan next(const std::string& req, std::string_view ts);

 private:
  SwipeKind pick_kind();
  std::string random_uid();

  const SimOptions& options_;
  std::mt19937_64 rng_;
  std::discrete_distribution<int> kinds_;
  std::uint64_t malformed_count_ = 0;
};

}  // namespace castellan::devices::sim
