// Simulator options and swipe payloads: files, mix parsing, and that every generated payload
// is judged by castellan's own swipe parser the way the simulator expects.
#include "devices/sim/sim_options.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "broker_fixture.hpp"
#include "devices/payloads.hpp"
#include "devices/sim/swipe_payloads.hpp"

namespace castellan::devices::sim {
namespace {

class SimFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = devices::testing::unique_temp_dir("simopt");
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }
  std::string dir_;
};

TEST_F(SimFiles, DoorKeys) {
  const std::string key(64, 'a');
  auto ok = load_door_keys(write("k.json", R"({"d1":")" + key + R"("})"));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->at("d1"), std::string(32, '\xaa'));
  EXPECT_FALSE(load_door_keys(write("b1.json", R"({"d1":"xyz"})")).ok());
  EXPECT_FALSE(load_door_keys(write("b2.json", R"({"d1":5})")).ok());
  EXPECT_FALSE(load_door_keys(write("b3.json", R"(["d1"])")).ok());
  EXPECT_FALSE(load_door_keys(write("b4.json", "{")).ok());
  auto missing = load_door_keys(dir_ + "/none.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("none.json"), std::string::npos);
}

TEST_F(SimFiles, CardListsAsJsonOrLines) {
  auto j = load_card_list(write("c.json", R"(["04A1B2C3","04a1b2c4"])"));
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(*j, (std::vector<std::string>{"04a1b2c3", "04a1b2c4"}));
  auto l = load_card_list(write("c.txt", "# staff\n04A1B2C3\n\n  0badc0de  \n"));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, (std::vector<std::string>{"04a1b2c3", "0badc0de"}));
  auto bad = load_card_list(write("bad.txt", "04a1b2c3\nsecretuid\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("entry 2"), std::string::npos);
  EXPECT_EQ(bad.error().message.find("secretuid"), std::string::npos) << "never echo a UID";
}

TEST_F(SimFiles, DeviceCredentials) {
  auto ok =
      load_device_credentials(write("c.json", R"({"ctl-1":{"username":"ctl-1","password":"p"}})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at("ctl-1").password, "p");
  EXPECT_FALSE(load_device_credentials(write("b.json", R"({"ctl-1":{"username":"u"}})")).ok());
}

TEST(SwipeMixText, ParsesAndRejects) {
  auto m = parse_swipe_mix("valid=70,unknown=10,malformed=20");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->valid, 70);
  EXPECT_EQ(m->expired, 0);
  EXPECT_EQ(m->malformed, 20);
  for (const char* bad : {"", "valid", "valid=x", "valid=-1", "bogus=1", "valid=0,unknown=0",
                          "valid=70,unknown=nan", "valid=inf"}) {
    EXPECT_FALSE(parse_swipe_mix(bad).ok()) << bad;
  }
}

TEST(SwipeGenerator, EveryKindParsesAsExpected) {
  SimOptions o;
  o.valid_cards = {"04a1b2c3"};
  o.expired_cards = {"0badc0de"};
  o.mix = SwipeMix{1, 1, 1, 1};
  SwipeGenerator gen(o, 42);
  std::array<int, kSwipeKinds> seen{};
  int without_req = 0;
  for (int i = 0; i < 400; ++i) {
    const std::string req = "r" + std::to_string(i);
    SwipePlan p = gen.next(req, "2026-11-22T03:04:05.123Z");
    seen[static_cast<std::size_t>(p.kind)]++;
    SwipeParse parsed = parse_swipe(p.payload);
    if (!p.expects_reply) {
      EXPECT_TRUE(parsed.req.empty()) << p.payload;
      ++without_req;
      continue;
    }
    EXPECT_EQ(parsed.req, req) << p.payload;
    if (p.kind == SwipeKind::kMalformed) {
      EXPECT_FALSE(parsed.swipe.has_value()) << "should be a 40001: " << p.payload;
    } else {
      ASSERT_TRUE(parsed.swipe.has_value()) << p.payload;
    }
    if (p.kind == SwipeKind::kValid) {
      EXPECT_EQ(parsed.swipe->card_uid, "04a1b2c3");
    }
    if (p.kind == SwipeKind::kExpired) {
      EXPECT_EQ(parsed.swipe->card_uid, "0badc0de");
    }
  }
  for (int k = 0; k < kSwipeKinds; ++k) EXPECT_GT(seen[static_cast<std::size_t>(k)], 0) << k;
  EXPECT_GT(without_req, 0);
}

TEST(SwipeGenerator, AnswersThatContradictTheCardAreImplausible) {
  // A seeded card may be denied by policy the simulator does not model, never as unknown.
  for (std::int32_t code : {0, 40302, 40303, 40305, 40306, 40307, 40308, 40309, 40310})
    EXPECT_TRUE(is_plausible_answer(SwipeKind::kValid, code)) << code;
  for (std::int32_t code : {40001, 40301, 40304, 40401})
    EXPECT_FALSE(is_plausible_answer(SwipeKind::kValid, code)) << code;
  EXPECT_TRUE(is_plausible_answer(SwipeKind::kUnknown, 40304));
  EXPECT_TRUE(is_plausible_answer(SwipeKind::kUnknown, 40309));  // lockdown comes first
  EXPECT_FALSE(is_plausible_answer(SwipeKind::kUnknown, 0));
  EXPECT_FALSE(is_plausible_answer(SwipeKind::kUnknown, 40305));
  EXPECT_TRUE(is_plausible_answer(SwipeKind::kExpired, 40301));
  EXPECT_TRUE(is_plausible_answer(SwipeKind::kExpired, 40303));  // revoked comes first
  EXPECT_FALSE(is_plausible_answer(SwipeKind::kExpired, 0));
  EXPECT_FALSE(is_plausible_answer(SwipeKind::kExpired, 40306));
  EXPECT_TRUE(is_plausible_answer(SwipeKind::kMalformed, 40001));
  EXPECT_FALSE(is_plausible_answer(SwipeKind::kMalformed, 0));
  // Refusals are counted apart, for every kind.
  for (std::int32_t code : {42901, 50301, 50401})
    EXPECT_TRUE(is_plausible_answer(SwipeKind::kUnknown, code)) << code;
}

TEST(SwipeGenerator, KindsWithoutCardsAreLeftOut) {
  SimOptions o;  // no card lists
  o.mix = SwipeMix{1, 0, 1, 0};
  SwipeGenerator gen(o, 1);
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(gen.next("r", "2026-11-22T03:04:05.123Z").kind, SwipeKind::kUnknown);
}

}  // namespace
}  // namespace castellan::devices::sim
