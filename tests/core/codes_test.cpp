#include "core/codes.hpp"

#include <gtest/gtest.h>

namespace castellan {
namespace {

TEST(Codes, NamesAndNumbersMatchContract) {
  const std::vector<std::pair<int, std::string>> table = {
      {0, "OK"},
      {40001, "ERR_BAD_REQUEST"},
      {40301, "ERR_CARD_EXPIRED"},
      {40302, "ERR_CARD_NOT_YET_VALID"},
      {40303, "ERR_CARD_REVOKED"},
      {40304, "ERR_CARD_UNKNOWN"},
      {40305, "ERR_NO_ACCESS"},
      {40306, "ERR_OUTSIDE_SCHEDULE"},
      {40307, "ERR_ANTI_PASSBACK"},
      {40308, "ERR_PASS_EXHAUSTED"},
      {40309, "ERR_DOOR_LOCKDOWN"},
      {40310, "ERR_USER_SUSPENDED"},
      {40401, "ERR_DOOR_UNKNOWN"},
      {42901, "ERR_RATE_LIMITED"},
      {50301, "ERR_UNAVAILABLE"},
      {50401, "ERR_TIMEOUT"},
  };
  for (const auto& [number, name] : table) {
    auto code = code_from_int(number);
    ASSERT_TRUE(code.has_value()) << number;
    EXPECT_EQ(static_cast<int>(*code), number);
    EXPECT_EQ(code_name(*code), name);
  }
  EXPECT_FALSE(code_from_int(12345).has_value());
}

TEST(Codes, HttpStatus) {
  EXPECT_EQ(http_status(Code::OK), 200);
  EXPECT_EQ(http_status(Code::ERR_BAD_REQUEST), 400);
  EXPECT_EQ(http_status(Code::ERR_UNAUTHENTICATED), 401);
  EXPECT_EQ(http_status(Code::ERR_FORBIDDEN), 403);
  EXPECT_EQ(http_status(Code::ERR_DOOR_UNKNOWN), 404);
  EXPECT_EQ(http_status(Code::ERR_CONFLICT), 409);
  EXPECT_EQ(http_status(Code::ERR_PAYLOAD_TOO_LARGE), 413);
  EXPECT_EQ(http_status(Code::ERR_RATE_LIMITED), 429);
  EXPECT_EQ(http_status(Code::ERR_UNAVAILABLE), 503);
  EXPECT_EQ(http_status(Code::ERR_TIMEOUT), 504);
}

TEST(Codes, PrecedenceFollowsContractOrder) {
  const std::vector<Code> order = {
      Code::ERR_DOOR_UNKNOWN,     Code::ERR_DOOR_LOCKDOWN,  Code::ERR_CARD_UNKNOWN,
      Code::ERR_CARD_REVOKED,     Code::ERR_USER_SUSPENDED, Code::ERR_CARD_NOT_YET_VALID,
      Code::ERR_CARD_EXPIRED,     Code::ERR_PASS_EXHAUSTED, Code::ERR_NO_ACCESS,
      Code::ERR_OUTSIDE_SCHEDULE, Code::ERR_ANTI_PASSBACK,
  };
  for (std::size_t i = 0; i + 1 < order.size(); ++i) {
    EXPECT_LT(precedence_rank(order[i]), precedence_rank(order[i + 1]))
        << code_name(order[i]) << " must win over " << code_name(order[i + 1]);
  }
  EXPECT_GT(precedence_rank(Code::ERR_TIMEOUT), precedence_rank(Code::ERR_ANTI_PASSBACK));
}

}  // namespace
}  // namespace castellan
