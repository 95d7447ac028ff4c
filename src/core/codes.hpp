// Decision and error codes (contract §4), one enum with names and HTTP statuses.
// Codes 4xxyy map to HTTP status 4xx; API-only codes extend the contract's table.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace castellan {

enum class Code : std::int32_t {
  OK = 0,
  ERR_BAD_REQUEST = 40001,
  ERR_UNAUTHENTICATED = 40101,  // API: missing, bad or expired token / credentials
  ERR_CARD_EXPIRED = 40301,
  ERR_CARD_NOT_YET_VALID = 40302,
  ERR_CARD_REVOKED = 40303,
  ERR_CARD_UNKNOWN = 40304,
  ERR_NO_ACCESS = 40305,
  ERR_OUTSIDE_SCHEDULE = 40306,
  ERR_ANTI_PASSBACK = 40307,
  ERR_PASS_EXHAUSTED = 40308,
  ERR_DOOR_LOCKDOWN = 40309,
  ERR_USER_SUSPENDED = 40310,
  ERR_FORBIDDEN = 40311,  // API: role does not allow this route
  ERR_DOOR_UNKNOWN = 40401,
  ERR_NOT_FOUND = 40402,  // API: no such resource / route
  ERR_CONFLICT = 40901,   // API: id exists, or operator-safety refusal
  ERR_PAYLOAD_TOO_LARGE = 41301,
  ERR_RATE_LIMITED = 42901,
  ERR_INTERNAL = 50001,  // a bug; never carries exception text to the client
  ERR_UNAVAILABLE = 50301,
  ERR_TIMEOUT = 50401,
};

// "ERR_CARD_EXPIRED" etc.; "OK" for 0.
std::string_view code_name(Code code);

// 200 for OK, otherwise the code's leading three digits (40301 -> 403).
int http_status(Code code);

// The enum value for a number, if it is one of ours.
std::optional<Code> code_from_int(std::int32_t value);

// Rank in contract §4's precedence order for deny reasons (lower wins); codes outside the
// list rank after all of them.
int precedence_rank(Code code);

}  // namespace castellan
