// DecisionEngine: one test per decision code, then every adjacent pair of contract §4's
// precedence order (both conditions hold; the earlier code must win).
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>

#include "world.hpp"

namespace castellan::access::testing {
namespace {

TEST(Engine, GrantsCardInGroupWithDoorAttributes) {
  World w;
  DecisionResult r = w.swipe("d1", "04a1b2c3", kWorkday);
  EXPECT_EQ(r.code, Code::OK);
  EXPECT_TRUE(r.granted);
  EXPECT_EQ(r.user, "u1");
  EXPECT_EQ(r.unlock_ms, 4000);
  EXPECT_EQ(r.card_hash, w.hash("04A1B2C3"));
  EXPECT_FALSE(r.fail_safe);
  EXPECT_TRUE(w.swipe("safe", "04a1b2c3", kWorkday).fail_safe);
  EXPECT_EQ(r.snapshot_version, w.version);
}

// Every user of a large installation is found through the snapshot's user index (open
// addressing, so ids collide in their slots); cards of users that do not exist and group
// members that do not exist are left out, never matched to somebody else.
TEST(Engine, EveryUserOfALargeInstallationIsFound) {
  World w;
  constexpr int kUsers = 5000;
  auto uid_of = [](int i) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08X", 0x10000000 + i);
    return std::string(buf);
  };
  for (int i = 0; i < kUsers; ++i) {
    const std::string user = "user-" + std::to_string(i);
    w.user(user);
    w.card("card-" + std::to_string(i), user, uid_of(i));
    if (i % 2 == 0) w.data.groups["staff"].members.push_back(user);
  }
  w.card("orphan", "no-such-user", "0BADCAFE");
  w.data.groups["staff"].members.push_back("no-such-member");
  w.publish();
  for (int i = 0; i < kUsers; ++i) {
    const DecisionResult r = w.swipe("d1", uid_of(i), kWorkday);
    ASSERT_EQ(r.user, "user-" + std::to_string(i));
    ASSERT_EQ(r.code, i % 2 == 0 ? Code::OK : Code::ERR_NO_ACCESS) << r.user;
  }
  EXPECT_EQ(w.swipe("d1", "0BADCAFE", kWorkday).code, Code::ERR_CARD_UNKNOWN);
}

TEST(Engine, FailureCodesGrantOnlyAtSafeDoors) {
  EXPECT_TRUE(grants_on_failure(Code::ERR_UNAVAILABLE, FailMode::safe));
  EXPECT_TRUE(grants_on_failure(Code::ERR_TIMEOUT, FailMode::safe));
  EXPECT_FALSE(grants_on_failure(Code::ERR_UNAVAILABLE, FailMode::secure));
  EXPECT_FALSE(grants_on_failure(Code::ERR_CARD_UNKNOWN, FailMode::safe));
}

struct Case {
  const char* name;
  std::function<void(World&)> setup;
  const char* door;
  const char* site;
  Code expected;
};

// Every code on its own.
const Case kSingleCodes[] = {
    {"ok", [](World&) {}, "d1", "hq", Code::OK},
    {"door unknown", [](World&) {}, "nope", "hq", Code::ERR_DOOR_UNKNOWN},
    {"door of another site", [](World&) {}, "x1", "hq", Code::ERR_DOOR_UNKNOWN},
    {"door lockdown", [](World& w) { w.data.doors["d1"].lockdown = true; }, "d1", "hq",
     Code::ERR_DOOR_LOCKDOWN},
    {"site lockdown", [](World& w) { w.data.sites["hq"].lockdown = true; }, "d1", "hq",
     Code::ERR_DOOR_LOCKDOWN},
    {"card unknown", [](World& w) { w.data.cards.erase("c1"); }, "d1", "hq",
     Code::ERR_CARD_UNKNOWN},
    {"card revoked", [](World& w) { w.data.cards["c1"].status = CardStatus::revoked; }, "d1", "hq",
     Code::ERR_CARD_REVOKED},
    {"card lost", [](World& w) { w.data.cards["c1"].status = CardStatus::lost; }, "d1", "hq",
     Code::ERR_CARD_REVOKED},
    {"user suspended", [](World& w) { w.data.users["u1"].status = UserStatus::suspended; }, "d1",
     "hq", Code::ERR_USER_SUSPENDED},
    {"not yet valid",
     [](World& w) { w.data.cards["c1"].valid_from = kWorkday + std::chrono::seconds(1); }, "d1",
     "hq", Code::ERR_CARD_NOT_YET_VALID},
    {"expired", [](World& w) { w.data.cards["c1"].valid_until = kWorkday; }, "d1", "hq",
     Code::ERR_CARD_EXPIRED},
    {"pass exhausted",
     [](World& w) {
       w.data.cards.erase("c1");
       w.pass("p1", "04a1b2c3", {"d1"}, 1);
       w.publish();
       w.swipe("d1", "04a1b2c3", kWorkday);
     },
     "d1", "hq", Code::ERR_PASS_EXHAUSTED},
    {"no access", [](World& w) { w.data.groups["staff"].members.clear(); }, "d1", "hq",
     Code::ERR_NO_ACCESS},
    {"outside schedule", [](World& w) { w.data.schedules["office"].windows[0].from_min = 11 * 60; },
     "d2", "hq", Code::ERR_OUTSIDE_SCHEDULE},
    {"anti-passback", [](World& w) { w.swipe("apb", "04a1b2c3", kWorkday); }, "apb2", "hq",
     Code::ERR_ANTI_PASSBACK},
};

// Adjacent pairs of the precedence order, both conditions true at once.
const Case kPairs[] = {
    {"40401 over 40309: door of another site, that site in lockdown",
     [](World& w) { w.data.sites["lab"].lockdown = true; }, "x1", "hq", Code::ERR_DOOR_UNKNOWN},
    {"40309 over 40304: lockdown and unknown card",
     [](World& w) {
       w.data.doors["d1"].lockdown = true;
       w.data.cards.erase("c1");
     },
     "d1", "hq", Code::ERR_DOOR_LOCKDOWN},
    // 40304 vs 40303 cannot both hold: 40304 means no credential exists at all, so a
    // revoked card is never reported as unknown (kSingleCodes covers both).
    {"40303 over 40310: revoked card of a suspended user",
     [](World& w) {
       w.data.cards["c1"].status = CardStatus::revoked;
       w.data.users["u1"].status = UserStatus::suspended;
     },
     "d1", "hq", Code::ERR_CARD_REVOKED},
    {"40310 over 40302: suspended user, card not yet valid",
     [](World& w) {
       w.data.users["u1"].status = UserStatus::suspended;
       w.data.cards["c1"].valid_from = kWorkday + std::chrono::hours(1);
     },
     "d1", "hq", Code::ERR_USER_SUSPENDED},
    {"40302 over 40301: card not yet valid, pass on the same card expired",
     [](World& w) {
       w.data.cards["c1"].valid_from = kWorkday + std::chrono::hours(1);
       w.pass("p1", "04a1b2c3", {"d1"}, 5, kWorkday - std::chrono::hours(48),
              kWorkday - std::chrono::hours(24));
     },
     "d1", "hq", Code::ERR_CARD_NOT_YET_VALID},
    {"40301 over 40308: expired and exhausted pass",
     [](World& w) {
       w.data.cards.erase("c1");
       w.pass("p1", "04a1b2c3", {"d1"}, 1, kWorkday - std::chrono::hours(48),
              kWorkday - std::chrono::hours(1));
       w.publish();
       ASSERT_TRUE(w.swipe("d1", "04a1b2c3", kWorkday - std::chrono::hours(2)).granted);
     },
     "d1", "hq", Code::ERR_CARD_EXPIRED},
    {"40308 over 40305: exhausted pass that does not name this door",
     [](World& w) {
       w.data.cards.erase("c1");
       w.pass("p1", "04a1b2c3", {"d2"}, 1);
       w.publish();
       ASSERT_TRUE(w.swipe("d2", "04a1b2c3", kWorkday).granted);
     },
     "d1", "hq", Code::ERR_PASS_EXHAUSTED},
    // 40305 vs 40306 cannot both hold: a door some group grants is not a door no group grants.
    // A pass for another door does not make it one (kPassesForOtherDoors).
    {"40306 over 40307: inside the site and outside the schedule",
     [](World& w) {
       w.data.doors["d2"].apb = true;
       w.data.schedules["office"].windows[0].from_min = 11 * 60;
       w.publish();
       ASSERT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted);
     },
     "d2", "hq", Code::ERR_OUTSIDE_SCHEDULE},
};

// A card's own answer at a door is not replaced by a pass (on the same uid) for other doors.
const Case kPassesForOtherDoors[] = {
    {"card outside its schedule, valid pass for another door: 40306",
     [](World& w) {
       w.data.schedules["office"].windows[0].from_min = 11 * 60;
       w.pass("p1", "04a1b2c3", {"d1"}, 3);
     },
     "d2", "hq", Code::ERR_OUTSIDE_SCHEDULE},
    {"card outside its schedule, expired pass for another door: 40306",
     [](World& w) {
       w.data.schedules["office"].windows[0].from_min = 11 * 60;
       w.pass("p1", "04a1b2c3", {"d1"}, 3, kWorkday - std::chrono::hours(48),
              kWorkday - std::chrono::hours(24));
     },
     "d2", "hq", Code::ERR_OUTSIDE_SCHEDULE},
    {"card without a group for the door, exhausted pass for another door: 40305",
     [](World& w) {
       w.data.groups["staff"].members.clear();  // no group of u1 has d1 or `safe`
       w.pass("p1", "04a1b2c3", {"safe"}, 1);
       w.publish();
       ASSERT_TRUE(w.swipe("safe", "04a1b2c3", kWorkday).granted);  // the pass's only use
     },
     "d1", "hq", Code::ERR_NO_ACCESS},
    {"card outside its schedule, pass for this door not yet valid: 40302",
     [](World& w) {
       w.data.schedules["office"].windows[0].from_min = 11 * 60;
       w.pass("p1", "04a1b2c3", {"d2"}, 3, kWorkday + std::chrono::hours(1),
              kWorkday + std::chrono::hours(48));
     },
     "d2", "hq", Code::ERR_CARD_NOT_YET_VALID},
    {"card outside its schedule, valid pass for this door: grant",
     [](World& w) {
       w.data.schedules["office"].windows[0].from_min = 11 * 60;
       w.pass("p1", "04a1b2c3", {"d2"}, 3);
     },
     "d2", "hq", Code::OK},
};

class SingleCode : public ::testing::TestWithParam<Case> {};
class PassForOtherDoors : public ::testing::TestWithParam<Case> {};
class PrecedencePair : public ::testing::TestWithParam<Case> {};

void run_case(const Case& c) {
  World w;
  c.setup(w);
  w.publish();
  DecisionResult r = w.swipe(c.door, "04A1B2C3", kWorkday, Direction::in, c.site);
  EXPECT_EQ(r.code, c.expected) << c.name << ": got " << code_name(r.code);
  EXPECT_EQ(r.granted, c.expected == Code::OK) << c.name;
}

TEST_P(SingleCode, Decides) {
  run_case(GetParam());
}
TEST_P(PrecedencePair, EarlierCodeWins) {
  run_case(GetParam());
}
TEST_P(PassForOtherDoors, KeepsTheCardsAnswer) {
  run_case(GetParam());
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return "case" + std::to_string(info.index);
}
INSTANTIATE_TEST_SUITE_P(Codes, SingleCode, ::testing::ValuesIn(kSingleCodes), case_name);
INSTANTIATE_TEST_SUITE_P(Codes, PrecedencePair, ::testing::ValuesIn(kPairs), case_name);
INSTANTIATE_TEST_SUITE_P(Codes, PassForOtherDoors, ::testing::ValuesIn(kPassesForOtherDoors),
                         case_name);

TEST(Engine, PrecedenceTableMatchesCoreRanks) {
  // The pairs above follow precedence_rank; check the ranks are really in that order.
  const Code order[] = {
      Code::ERR_DOOR_UNKNOWN,     Code::ERR_DOOR_LOCKDOWN,  Code::ERR_CARD_UNKNOWN,
      Code::ERR_CARD_REVOKED,     Code::ERR_USER_SUSPENDED, Code::ERR_CARD_NOT_YET_VALID,
      Code::ERR_CARD_EXPIRED,     Code::ERR_PASS_EXHAUSTED, Code::ERR_NO_ACCESS,
      Code::ERR_OUTSIDE_SCHEDULE, Code::ERR_ANTI_PASSBACK};
  for (std::size_t i = 1; i < std::size(order); ++i) {
    EXPECT_LT(precedence_rank(order[i - 1]), precedence_rank(order[i]));
  }
}

TEST(Engine, PassGrantsItsDoorsWithinValidityAndCountsUses) {
  World w;
  w.pass("p1", "DEADBEEF", {"d1"}, 2, kWorkday - std::chrono::hours(1),
         kWorkday + std::chrono::hours(1));
  w.publish();
  EXPECT_EQ(w.swipe("d2", "deadbeef", kWorkday).code, Code::ERR_NO_ACCESS);
  DecisionResult first = w.swipe("d1", "deadbeef", kWorkday);
  EXPECT_TRUE(first.granted);
  EXPECT_EQ(first.pass_id, "p1");
  EXPECT_EQ(first.user, "");
  EXPECT_TRUE(w.swipe("d1", "deadbeef", kWorkday).granted);
  EXPECT_EQ(w.swipe("d1", "deadbeef", kWorkday).code, Code::ERR_PASS_EXHAUSTED);
  EXPECT_EQ(w.ledger.used("p1"), 2u);
  // A rebuild keeps the count.
  w.publish();
  EXPECT_EQ(w.swipe("d1", "deadbeef", kWorkday).code, Code::ERR_PASS_EXHAUSTED);
  EXPECT_EQ(w.swipe("d1", "deadbeef", kWorkday + std::chrono::hours(2)).code,
            Code::ERR_CARD_EXPIRED);
}

TEST(Engine, CardGrantDoesNotSpendPassUse) {
  World w;
  w.pass("p1", "04a1b2c3", {"d1"}, 1);
  w.publish();
  DecisionResult r = w.swipe("d1", "04a1b2c3", kWorkday);
  EXPECT_TRUE(r.granted);
  EXPECT_EQ(r.pass_id, "");
  EXPECT_EQ(w.ledger.used("p1"), 0u);
}

TEST(Engine, ABlockedCardOrHolderIsNotLetInByAPassOnTheSameUid) {
  // The card c1 (holder u1) has no access to "lab-only"; a pass on its uid grants that door.
  World w;
  w.door("lab-only", "hq");
  w.pass("p1", "04a1b2c3", {"lab-only"}, 5);
  w.publish();
  DecisionResult by_pass = w.swipe("lab-only", "04a1b2c3", kWorkday);
  ASSERT_TRUE(by_pass.granted);
  EXPECT_EQ(by_pass.pass_id, "p1");
  EXPECT_EQ(by_pass.user, "u1");  // the registered card's holder, for the audit trail
  for (CardStatus status : {CardStatus::lost, CardStatus::revoked}) {
    w.data.cards["c1"].status = status;
    w.publish();
    DecisionResult r = w.swipe("lab-only", "04a1b2c3", kWorkday);
    EXPECT_FALSE(r.granted);
    EXPECT_EQ(r.code, Code::ERR_CARD_REVOKED);
  }
  w.data.cards["c1"].status = CardStatus::active;
  w.user("u1", UserStatus::suspended);
  w.publish();
  DecisionResult suspended = w.swipe("lab-only", "04a1b2c3", kWorkday);
  EXPECT_FALSE(suspended.granted);
  EXPECT_EQ(suspended.code, Code::ERR_USER_SUSPENDED);
  EXPECT_EQ(w.ledger.used("p1"), 1u) << "only the one grant took a use";
}

TEST(Engine, ReloadedPassCountsApply) {
  World w;
  w.ledger.load({PassUse{"p1", 3}});
  w.pass("p1", "deadbeef", {"d1"}, 3);
  w.publish();
  EXPECT_EQ(w.swipe("d1", "deadbeef", kWorkday).code, Code::ERR_PASS_EXHAUSTED);
}

TEST(AntiPassback, InThenInDeniedUntilOut) {
  World w;
  EXPECT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted);
  EXPECT_EQ(w.swipe("apb", "04a1b2c3", kWorkday).code, Code::ERR_ANTI_PASSBACK);
  EXPECT_EQ(w.swipe("apb2", "04a1b2c3", kWorkday).code, Code::ERR_ANTI_PASSBACK);
  // Non-apb doors ignore the position.
  EXPECT_TRUE(w.swipe("d1", "04a1b2c3", kWorkday).granted);
  EXPECT_TRUE(w.swipe("apb2", "04a1b2c3", kWorkday, Direction::out).granted);
  EXPECT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted);
}

TEST(AntiPassback, ResetsAfterApbResetHours) {
  World w;
  w.data.sites["hq"].apb_reset_hours = 2;
  w.publish();
  EXPECT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted);
  auto later = kWorkday + std::chrono::hours(2) - std::chrono::seconds(1);
  EXPECT_EQ(w.swipe("apb", "04a1b2c3", later).code, Code::ERR_ANTI_PASSBACK);
  EXPECT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday + std::chrono::hours(2)).granted);
}

TEST(Engine, GiveBackReturnsThePassUseAndThePositionOfAGrantNobodyGot) {
  World w;
  w.data.cards.erase("c1");
  w.pass("p1", "04a1b2c3", {"apb"}, 1);
  w.publish();
  DecisionResult granted = w.swipe("apb", "04a1b2c3", kWorkday);
  ASSERT_TRUE(granted.granted);
  EXPECT_EQ(w.ledger.used("p1"), 1u);
  // The door was told "deny" (say 50401 at a fail-secure door): nothing may stay taken.
  w.engine.give_back(granted.taken);
  EXPECT_EQ(w.ledger.used("p1"), 0u);
  DecisionResult again = w.swipe("apb", "04a1b2c3", kWorkday);
  EXPECT_TRUE(again.granted) << static_cast<int>(again.code) << ": not 40308 nor 40307";
  EXPECT_EQ(w.ledger.used("p1"), 1u);
}

TEST(AntiPassback, GiveBackLeavesAPositionALaterSwipeMoved) {
  World w;
  DecisionResult in = w.swipe("apb", "04a1b2c3", kWorkday);
  ASSERT_TRUE(in.granted);
  DecisionResult out = w.swipe("apb2", "04a1b2c3", kWorkday, Direction::out);
  ASSERT_TRUE(out.granted);
  // Giving back the first grant now must not put the card inside again.
  w.engine.give_back(in.taken);
  EXPECT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted);
  // Giving back an exit restores the entry it erased.
  DecisionResult out2 = w.swipe("apb2", "04a1b2c3", kWorkday, Direction::out);
  ASSERT_TRUE(out2.granted);
  w.engine.give_back(out2.taken);
  EXPECT_EQ(w.swipe("apb", "04a1b2c3", kWorkday).code, Code::ERR_ANTI_PASSBACK);
}

// Two exits in a row leave the same position ("outside"): giving back the first (its door got a
// 50401) must not undo the second, which did reach a door, by putting the card inside again.
// Nor may two give-backs of one swipe undo more than that swipe.
TEST(AntiPassback, GiveBackOfAnExitLeavesALaterExitInPlace) {
  World w;
  ASSERT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted);
  DecisionResult first = w.swipe("apb2", "04a1b2c3", kWorkday, Direction::out);
  DecisionResult second = w.swipe("apb2", "04a1b2c3", kWorkday, Direction::out);
  ASSERT_TRUE(first.granted && second.granted);
  w.engine.give_back(first.taken);
  EXPECT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted) << "outside: the second exit stands";
  // Undo in the order the deadlines come: the newest first, then the one before it.
  DecisionResult out = w.swipe("apb2", "04a1b2c3", kWorkday, Direction::out);
  DecisionResult in = w.swipe("apb", "04a1b2c3", kWorkday);
  ASSERT_TRUE(out.granted && in.granted);
  w.engine.give_back(in.taken);
  w.engine.give_back(out.taken);
  EXPECT_EQ(w.swipe("apb", "04a1b2c3", kWorkday).code, Code::ERR_ANTI_PASSBACK)
      << "back to the entry before both";
}

TEST(AntiPassback, DeniedSwipeDoesNotSpendPassUse) {
  World w;
  w.data.cards.erase("c1");
  w.pass("p1", "04a1b2c3", {"apb"}, 5);
  w.publish();
  EXPECT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted);
  EXPECT_EQ(w.swipe("apb", "04a1b2c3", kWorkday).code, Code::ERR_ANTI_PASSBACK);
  EXPECT_EQ(w.ledger.used("p1"), 1u);
}

TEST(AntiPassback, PositionsArePerSite) {
  World w;
  w.door("apb-lab", "lab").apb = true;
  w.data.groups["staff"].doors.push_back("apb-lab");
  w.publish();
  EXPECT_TRUE(w.swipe("apb", "04a1b2c3", kWorkday).granted);
  EXPECT_TRUE(w.swipe("apb-lab", "04a1b2c3", kWorkday, Direction::in, "lab").granted);
}

TEST(Lockdown, ReleaseRestoresAccess) {
  World w;
  w.data.doors["d1"].lockdown = true;
  w.publish();
  EXPECT_EQ(w.swipe("d1", "04a1b2c3", kWorkday).code, Code::ERR_DOOR_LOCKDOWN);
  EXPECT_TRUE(w.holder.load()->in_lockdown(*w.holder.load()->find_door("d1")));
  w.data.doors["d1"].lockdown = false;
  w.publish();
  EXPECT_TRUE(w.swipe("d1", "04a1b2c3", kWorkday).granted);
}

TEST(DoorDirectory, AnswersQueries) {
  World w;
  auto s = w.holder.load();
  const Door* d = s->find_door("apb");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->site, "hq");
  EXPECT_TRUE(d->apb);
  EXPECT_EQ(d->key_hex.size(), 64u);
  EXPECT_EQ(s->doors_of_controller("ctl-d1"), std::vector<std::string>{"d1"});
  EXPECT_TRUE(s->doors_of_controller("ctl-none").empty());
  EXPECT_EQ(s->site_tz("hq"), "Europe/Berlin");
  EXPECT_EQ(s->site_tz("nope"), "");
  EXPECT_EQ(s->find_door("nope"), nullptr);
}

}  // namespace
}  // namespace castellan::access::testing
