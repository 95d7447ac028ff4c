#include "journal/record.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "journal/crc32c.hpp"
#include "test_support.hpp"

namespace castellan::journal {
namespace {

using testing::decision_record;

TimePoint at(const char* text) {
  return *parse_utc(text);
}

TEST(JournalRecord, ExportLineHasContractFieldsInOrder) {
  auto r = decision_record("d1", "u1", "grant");
  r.seq = 1;
  r.ts = at("2026-11-22T03:04:05.123Z");
  r.prev = genesis_hash();
  r.hash = compute_hash(r);
  EXPECT_EQ(to_json_line(r),
            "{\"seq\":1,\"ts\":\"2026-11-22T03:04:05.123Z\",\"kind\":\"decision\","
            "\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\",\"site\":\"hq\",\"door\":\"d1\","
            "\"req\":\"r-42\",\"card_hash\":"
            "\"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\",\"user\":\"u1\","
            "\"decision\":\"grant\",\"code\":0,\"source\":\"mqtt\",\"gateway_ip\":\"127.0.0.1\","
            "\"latency_us\":180,\"prev\":\"" +
                genesis_hash() + "\",\"hash\":\"" + r.hash + "\"}");
  // Our extension: a decision's direction follows latency_us.
  r.dir = "in";
  EXPECT_NE(to_json_line(r).find("\"latency_us\":180,\"dir\":\"in\",\"prev\":"), std::string::npos);
  // And a pass grant's pass and use number follow dir.
  r.pass = "p-1";
  r.pass_use = 2;
  EXPECT_NE(to_json_line(r).find("\"dir\":\"in\",\"pass\":\"p-1\",\"pass_use\":2,\"prev\":"),
            std::string::npos);
}

TEST(JournalRecord, HashCoversTheLineWithoutHash) {
  auto r = decision_record("d1", "u1", "deny", 40304);
  r.seq = 7;
  r.ts = at("2026-11-22T03:04:05.123Z");
  r.prev = std::string(64, 'a');
  r.hash = compute_hash(r);
  const std::string line = to_json_line(r);
  const std::string without_hash = line.substr(0, line.find(",\"hash\":")) + "}";
  EXPECT_EQ(canonical_bytes(r), without_hash);
  EXPECT_EQ(r.hash.size(), 64u);
  auto changed = r;
  changed.code = 40305;
  EXPECT_NE(compute_hash(changed), r.hash);
}

TEST(JournalRecord, SealHashesAndEncodesLikeTheSeparateSteps) {
  auto r = decision_record("d1", "u\"1\n", "deny", 40304);
  r.seq = 9;
  r.ts = at("2026-11-22T03:04:05.123Z");
  r.prev = std::string(64, 'b');
  r.extra = "{\"actor\":\"admin\"}";
  auto separate = r;
  separate.hash = compute_hash(separate);
  const std::string line = seal(r);
  EXPECT_EQ(r.hash, separate.hash);
  EXPECT_EQ(line, to_json_line(separate));
}

TEST(JournalRecord, SealedLineAddsAtMostTheOverheadToTheMembers) {
  auto r = decision_record("d1", std::string(300, '\x01'), "grant");  // escapes to \u0001
  r.extra = "{\"note\":\"" + std::string(1000, 'x') + "\"}";
  r.seq = std::numeric_limits<std::uint64_t>::max();
  r.ts = at("9999-12-31T23:59:59.999Z");
  r.prev = std::string(64, 'c');
  const std::string members = encode_members(r);
  auto separate = r;
  const std::string line = seal(r, members);
  EXPECT_EQ(line, seal(separate));
  EXPECT_LE(line.size(), members.size() + kSealedLineOverhead);
  EXPECT_GT(line.size(), members.size() + 200);  // the bound is not loose by much
}

TEST(JournalRecord, EmptyAndAbsentFieldsAreOmitted) {
  JournalRecord r;
  r.seq = 3;
  r.ts = at("2026-01-01T00:00:00Z");
  r.kind = RecordKind::device_offline;
  r.site = "hq";
  r.prev = genesis_hash();
  r.hash = "h";
  EXPECT_EQ(to_json_line(r),
            "{\"seq\":3,\"ts\":\"2026-01-01T00:00:00.000Z\",\"kind\":\"device_offline\","
            "\"site\":\"hq\",\"prev\":\"" +
                genesis_hash() + "\",\"hash\":\"h\"}");
}

TEST(JournalRecord, ExtraMembersAreMergedBeforePrev) {
  JournalRecord r;
  r.seq = 2;
  r.ts = at("2026-01-01T00:00:00Z");
  r.kind = RecordKind::admin;
  r.extra = R"( { "actor" : "admin", "action":"create","collection":"doors","id":"d1" } )";
  ASSERT_TRUE(validate_and_normalize(r));
  EXPECT_EQ(r.extra, R"({"actor":"admin","action":"create","collection":"doors","id":"d1"})");
  r.prev = "p";
  r.hash = "h";
  EXPECT_EQ(to_json_line(r),
            "{\"seq\":2,\"ts\":\"2026-01-01T00:00:00.000Z\",\"kind\":\"admin\",\"actor\":"
            "\"admin\",\"action\":\"create\",\"collection\":\"doors\",\"id\":\"d1\","
            "\"prev\":\"p\",\"hash\":\"h\"}");
}

TEST(JournalRecord, ParseRoundTrips) {
  auto r = decision_record("door \"7\"\n", "ü-user", "deny", 40306);
  r.dir = "out";
  r.pass = "pass-ü";
  r.pass_use = 3;
  r.seq = 99;
  r.ts = at("2026-11-22T03:04:05.123Z");
  r.extra = R"({"alarm":"forced_open","nested":{"a":[1,2.5,true,null]}})";
  ASSERT_TRUE(validate_and_normalize(r));
  r.prev = std::string(64, 'b');
  r.hash = compute_hash(r);
  auto parsed = parse_json_line(to_json_line(r));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, r);
  EXPECT_EQ(to_json_line(*parsed), to_json_line(r));
}

TEST(JournalRecord, ValidationRejectsBadInput) {
  auto bad_utf8 = decision_record("d1", std::string("u\xC3\x28", 3), "grant");
  auto result = validate_and_normalize(bad_utf8);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Code::ERR_BAD_REQUEST);
  EXPECT_NE(result.error().message.find("'user' is not valid UTF-8"), std::string::npos);

  auto not_object = decision_record("d1", "u1", "grant");
  not_object.extra = "[1,2]";
  result = validate_and_normalize(not_object);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("JSON object"), std::string::npos);

  auto clash = decision_record("d1", "u1", "grant");
  clash.extra = R"({"seq":5})";
  result = validate_and_normalize(clash);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("'seq'"), std::string::npos);
  clash.extra = R"({"pass_use":5})";
  result = validate_and_normalize(clash);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("'pass_use'"), std::string::npos);
}

// A ts whose year has more than four digits would be sealed as "10000-01-01T…", which no
// reader can parse back: refused at append, with the year range in the message.
TEST(JournalRecord, ATsOutsideTheYears1To9999IsRefusedAndTheLastOneRoundTrips) {
  using namespace std::chrono;
  auto late = decision_record("d1", "u1", "grant");
  late.ts = sys_days{year{10000} / January / 1};
  auto result = validate_and_normalize(late);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Code::ERR_BAD_REQUEST);
  EXPECT_NE(result.error().message.find("'ts' must be in the years 0001-9999"), std::string::npos);
  auto early = decision_record("d1", "u1", "grant");
  early.ts = sys_days{year{0} / December / 31};
  EXPECT_FALSE(validate_and_normalize(early));

  auto last = decision_record("d1", "u1", "grant");
  last.seq = 1;
  last.ts = sys_days{year{9999} / December / 31} + hours{23} + minutes{59} + seconds{59} +
            milliseconds{999};
  ASSERT_TRUE(validate_and_normalize(last));
  last.prev = std::string(64, '0');
  last.hash = compute_hash(last);
  auto parsed = parse_json_line(to_json_line(last));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->ts, last.ts);
}

TEST(JournalRecord, ParseRejectsMalformedLines) {
  EXPECT_FALSE(parse_json_line("not json"));
  EXPECT_FALSE(parse_json_line("[1]"));
  EXPECT_FALSE(parse_json_line(R"({"seq":1,"kind":"decision"})"));  // no ts
  EXPECT_FALSE(parse_json_line(R"({"seq":1,"ts":"2026-01-01T00:00:00Z","kind":"nope"})"));
  EXPECT_FALSE(parse_json_line(R"({"seq":-1,"ts":"2026-01-01T00:00:00Z","kind":"admin"})"));
  EXPECT_FALSE(
      parse_json_line(R"({"seq":1,"ts":"2026-01-01T00:00:00Z","kind":"admin","code":"x"})"));
}

// An edited record (its CRC recomputed) with numbers out of range is a bad line, reported by
// verify with its seq; it must not throw out of recovery, the index rebuild or verify.
TEST(JournalRecord, ParseRejectsIntegersOutOfRange) {
  const std::string head = R"({"seq":1,"ts":"2026-01-01T00:00:00Z","kind":"decision",)";
  for (const std::string member :
       {R"("latency_us":18446744073709551615)", R"("pass_use":9223372036854775808)",
        R"("code":4294967296)", R"("code":-2147483649)"}) {
    Result<JournalRecord> parsed = make_error(Code::ERR_INTERNAL, "not run");
    ASSERT_NO_THROW(parsed = parse_json_line(head + member + "}")) << member;
    ASSERT_FALSE(parsed) << member;
    EXPECT_NE(parsed.error().message.find("is out of range"), std::string::npos)
        << parsed.error().message;
  }
  EXPECT_TRUE(parse_json_line(head + R"("code":2147483647,"latency_us":9223372036854775807})"));
}

// A number too large for a double (1e400) parses as infinity, which serializes as `Infinity`,
// not JSON: such a record could not be read back, and such a line could not be re-encoded.
TEST(JournalRecord, ANumberTooLargeForADoubleIsRefusedInExtraAndInALine) {
  auto record = decision_record("d1", "u1", "grant");
  record.extra = R"({"note":{"n":[1,1e400]}})";
  auto result = validate_and_normalize(record);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("too large for a double"), std::string::npos);
  record.extra = R"({"note":{"n":[1,1e300]}})";
  EXPECT_TRUE(validate_and_normalize(record));

  const std::string head = R"({"seq":1,"ts":"2026-01-01T00:00:00Z","kind":"admin",)";
  auto parsed = parse_json_line(head + R"("tiny":5e324})");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("too large for a double"), std::string::npos);
  EXPECT_TRUE(parse_json_line(head + R"("big":1e308})"));
}

// Boost.JSON reads "5e-34" as a double it writes 4.999999999999999E-34, which reads back as
// 4.9999999999999986E-34: the record must be sealed with a text that verify, re-encoding what it
// reads, finds unchanged.
TEST(JournalRecord, ADoubleInExtraIsStoredAsATextThatReadsBackAsItself) {
  auto r = decision_record("d1", "u1", "grant");
  r.seq = 1;
  r.ts = at("2026-11-22T03:04:05.123Z");
  r.extra = R"({"note":{"n":[5e-34,0.1]}})";
  ASSERT_TRUE(validate_and_normalize(r));
  r.prev = genesis_hash();
  const std::string line = seal(r);
  auto parsed = parse_json_line(line);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(to_json_line(*parsed), line);
  EXPECT_EQ(compute_hash(*parsed), r.hash);
}

TEST(JournalRecord, KindNamesRoundTrip) {
  for (auto name : {"decision", "door_state", "device_online", "device_offline", "force_unlock",
                    "lockdown", "door_alarm", "admin", "resilience", "task_leak"}) {
    auto kind = parse_kind(name);
    ASSERT_TRUE(kind) << name;
    EXPECT_EQ(kind_name(*kind), name);
  }
  EXPECT_FALSE(parse_kind("Decision"));
}

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 and the common "123456789" check value.
  EXPECT_EQ(crc32c_table("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c_table(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c_table(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(crc32c(""), 0u);
}

TEST(Crc32c, ImplementationsAgreeAndChain) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 37 + 11));
  for (std::size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 64u, 999u, 1000u}) {
    const std::string_view part(data.data(), len);
    if (crc32c_sse42_available()) {
      EXPECT_EQ(crc32c_sse42(part), crc32c_table(part)) << len;
    }
    EXPECT_EQ(crc32c(part), crc32c_table(part));
  }
  const std::string_view all(data);
  EXPECT_EQ(crc32c(all.substr(300), crc32c(all.substr(0, 300))), crc32c(all));
}

}  // namespace
}  // namespace castellan::journal
