#include "core/codes.hpp"

#include <array>
#include <utility>

namespace castellan {
namespace {

constexpr std::array<std::pair<Code, std::string_view>, 22> kNames{{
    {Code::OK, "OK"},
    {Code::ERR_BAD_REQUEST, "ERR_BAD_REQUEST"},
    {Code::ERR_UNAUTHENTICATED, "ERR_UNAUTHENTICATED"},
    {Code::ERR_CARD_EXPIRED, "ERR_CARD_EXPIRED"},
    {Code::ERR_CARD_NOT_YET_VALID, "ERR_CARD_NOT_YET_VALID"},
    {Code::ERR_CARD_REVOKED, "ERR_CARD_REVOKED"},
    {Code::ERR_CARD_UNKNOWN, "ERR_CARD_UNKNOWN"},
    {Code::ERR_NO_ACCESS, "ERR_NO_ACCESS"},
    {Code::ERR_OUTSIDE_SCHEDULE, "ERR_OUTSIDE_SCHEDULE"},
    {Code::ERR_ANTI_PASSBACK, "ERR_ANTI_PASSBACK"},
    {Code::ERR_PASS_EXHAUSTED, "ERR_PASS_EXHAUSTED"},
    {Code::ERR_DOOR_LOCKDOWN, "ERR_DOOR_LOCKDOWN"},
    {Code::ERR_USER_SUSPENDED, "ERR_USER_SUSPENDED"},
    {Code::ERR_FORBIDDEN, "ERR_FORBIDDEN"},
    {Code::ERR_DOOR_UNKNOWN, "ERR_DOOR_UNKNOWN"},
    {Code::ERR_NOT_FOUND, "ERR_NOT_FOUND"},
    {Code::ERR_CONFLICT, "ERR_CONFLICT"},
    {Code::ERR_PAYLOAD_TOO_LARGE, "ERR_PAYLOAD_TOO_LARGE"},
    {Code::ERR_RATE_LIMITED, "ERR_RATE_LIMITED"},
    {Code::ERR_INTERNAL, "ERR_INTERNAL"},
    {Code::ERR_UNAVAILABLE, "ERR_UNAVAILABLE"},
    {Code::ERR_TIMEOUT, "ERR_TIMEOUT"},
}};

// Contract §4: "When several apply, the first in this order wins".
constexpr std::array<Code, 11> kPrecedence{
    Code::ERR_DOOR_UNKNOWN,     Code::ERR_DOOR_LOCKDOWN,  Code::ERR_CARD_UNKNOWN,
    Code::ERR_CARD_REVOKED,     Code::ERR_USER_SUSPENDED, Code::ERR_CARD_NOT_YET_VALID,
    Code::ERR_CARD_EXPIRED,     Code::ERR_PASS_EXHAUSTED, Code::ERR_NO_ACCESS,
    Code::ERR_OUTSIDE_SCHEDULE, Code::ERR_ANTI_PASSBACK,
};

}  // namespace

std::string_view code_name(Code code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "ERR_UNKNOWN_CODE";
}

int http_status(Code code) {
  const auto v = static_cast<std::int32_t>(code);
  return v == 0 ? 200 : v / 100;
}

std::optional<Code> code_from_int(std::int32_t value) {
  for (const auto& [c, name] : kNames) {
    if (static_cast<std::int32_t>(c) == value) return c;
  }
  return std::nullopt;
}

int precedence_rank(Code code) {
  for (std::size_t i = 0; i < kPrecedence.size(); ++i) {
    if (kPrecedence[i] == code) return static_cast<int>(i);
  }
  return static_cast<int>(kPrecedence.size());
}

}  // namespace castellan
