#include "devices/signing.hpp"

#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "devices/outgoing.hpp"

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;

const std::string kKey =
    *from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

TEST(Signing, CanonicalStringIsExactlyTheContractFormat) {
  SignedFields f{"hq", "d1", "r-42", "grant", 0, 5000, "2026-11-22T03:04:05.123Z"};
  EXPECT_EQ(canonical_string(f), "v1|hq|d1|r-42|grant|0|5000|2026-11-22T03:04:05.123Z");
  // Independently computed: HMAC-SHA256 of the canonical string under the key bytes.
  EXPECT_EQ(sign(kKey, f), to_hex(hmac_sha256(kKey, canonical_string(f))));
  EXPECT_EQ(sign(kKey, f).size(), 64u);
}

TEST(Signing, VerifyChecksSignatureAndExpiry) {
  TimePoint now = *parse_utc("2026-11-22T03:04:00.000Z");
  auto m = make_decision_message("hq", "d1", kKey, "r-1", true, 0, 5000, now + 10s);
  auto f = signed_fields("hq", "d1", m);
  EXPECT_TRUE(verify_signed_message(kKey, f, m.sig, now).ok());
  // Upper-case hex is the same signature.
  std::string upper = m.sig;
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_TRUE(verify_signed_message(kKey, f, upper, now).ok());
  // Another door, another key, a changed field, an expired or too-far exp: all rejected.
  EXPECT_FALSE(verify_signed_message(kKey, signed_fields("hq", "d2", m), m.sig, now).ok());
  std::string other_key = kKey;
  other_key[0] = 'x';
  EXPECT_FALSE(verify_signed_message(other_key, f, m.sig, now).ok());
  auto tampered = f;
  tampered.code = 40304;
  EXPECT_FALSE(verify_signed_message(kKey, tampered, m.sig, now).ok());
  EXPECT_FALSE(verify_signed_message(kKey, f, m.sig, now + 11s).ok()) << "expired";
  auto far = make_decision_message("hq", "d1", kKey, "r-1", true, 0, 5000, now + 60s);
  EXPECT_FALSE(verify_signed_message(kKey, signed_fields("hq", "d1", far), far.sig, now).ok());
}

TEST(Signing, CommandsAreSignedWithCodeZero) {
  TimePoint now = *parse_utc("2026-11-22T03:04:00.000Z");
  auto m = make_command_message("hq", "d1", kKey, "6f1c0d9e-0000-4000-8000-000000000000", "unlock",
                                7000, now + 5s);
  EXPECT_EQ(m.sig, sign(kKey, SignedFields{"hq", "d1", m.id, "unlock", 0, 7000, m.exp}));
  auto parsed = parse_command_message(serialize(m));
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(
      verify_signed_message(kKey, signed_fields("hq", "d1", *parsed), parsed->sig, now).ok());
}

TEST(Signing, DecisionMessageRoundTrips) {
  TimePoint now = *parse_utc("2026-11-22T03:04:00.000Z");
  auto m = make_decision_message("hq", "d1", kKey, "r-9", false, 40304, 0, now + 10s);
  auto parsed = parse_decision_message(serialize(m));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->req, "r-9");
  EXPECT_EQ(parsed->decision, "deny");
  EXPECT_EQ(parsed->code, 40304);
  EXPECT_EQ(parsed->exp, "2026-11-22T03:04:10.000Z");
  EXPECT_EQ(parsed->sig, m.sig);
  EXPECT_FALSE(parse_decision_message("{\"req\":1}").ok());
}

TEST(Signing, DoorKeyFromHex) {
  auto k = door_key_from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(*k, kKey);
  EXPECT_FALSE(door_key_from_hex("abc").ok());
  EXPECT_FALSE(door_key_from_hex(std::string(64, 'z')).ok());
}

}  // namespace
}  // namespace castellan::devices
