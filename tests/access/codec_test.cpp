// Codec: every validation error has a precise message; create/patch/public view behaviour.
#include <gtest/gtest.h>

#include "access/codec.hpp"

namespace castellan::access {
namespace {

json::value parse(std::string_view text) {
  return json::parse(text);
}

CodecContext ctx() {
  return CodecContext{"secret", [](std::size_t n) { return std::string(n, '\x11'); }};
}

struct BadBody {
  Collection collection;
  const char* body;
  const char* message;
};

const BadBody kBadBodies[] = {
    {Collection::sites, R"([1])", "body must be a JSON object"},
    {Collection::sites, R"({"name":"HQ","tz":"UTC"})", "missing field 'id'"},
    {Collection::sites, R"({"id":"HQ","name":"HQ","tz":"UTC"})",
     "field 'id' is not a valid site id (1-32 of a-z 0-9 -): 'HQ'"},
    {Collection::sites, R"({"id":"hq","name":"HQ","tz":"Mars/Olympus"})",
     "field 'tz': unknown time zone 'Mars/Olympus' (expected an IANA name such as Europe/Berlin)"},
    // The OS's zoneinfo has it (a link to the host's /etc/localtime); IANA does not.
    {Collection::sites, R"({"id":"hq","name":"HQ","tz":"localtime"})",
     "field 'tz': unknown time zone 'localtime' (expected an IANA name such as Europe/Berlin)"},
    {Collection::sites, R"({"id":"hq","name":7,"tz":"UTC"})", "field 'name' must be a string"},
    {Collection::sites, R"({"id":"hq","name":"HQ","tz":"UTC","apb_reset_hours":"12"})",
     "field 'apb_reset_hours' must be an integer"},
    {Collection::sites, R"({"id":"hq","name":"HQ","tz":"UTC","apb_reset_hours":0})",
     "field 'apb_reset_hours' must be between 1 and 8760, got 0"},
    {Collection::doors, R"({"id":"d 1","site":"hq","name":"x","controller":"c"})",
     "field 'id' is not a valid id (1-64 of A-Z a-z 0-9 _ . -): 'd 1'"},
    {Collection::doors, R"({"id":"d1","site":"hq","name":"x"})", "missing field 'controller'"},
    {Collection::doors, R"({"id":"d1","site":"hq","name":"x","controller":"c","fail_mode":"open"})",
     "field 'fail_mode' must be one of \"secure\", \"safe\", got \"open\""},
    {Collection::doors, R"({"id":"d1","site":"hq","name":"x","controller":"c","apb":1})",
     "field 'apb' must be true or false"},
    {Collection::doors, R"({"id":"d1","site":"hq","name":"x","controller":"c","key":"00"})",
     "field 'key' is set by the server and cannot be sent"},
    {Collection::users, R"({"id":"u1","name":"Ada","status":"gone"})",
     "field 'status' must be one of \"active\", \"suspended\", got \"gone\""},
    {Collection::cards, R"({"user":"u1"})", "missing field 'uid'"},
    {Collection::cards, R"({"uid":"04A1B2CZ","user":"u1"})", "field 'uid' must be 8-32 hex digits"},
    {Collection::cards, R"({"uid":"04A1B2C3","user":"u1","valid_from":"yesterday"})",
     "field 'valid_from' is not an RFC 3339 time: 'yesterday'"},
    {Collection::cards,
     R"({"uid":"04A1B2C3","user":"u1","valid_from":"2026-02-01T00:00:00Z","valid_until":"2026-01-01T00:00:00Z"})",
     "field 'valid_until' must be after 'valid_from'"},
    {Collection::cards, R"({"uid":"04A1B2C3","user":"u1","card_hash":"ab"})",
     "field 'card_hash' is set by the server and cannot be sent"},
    {Collection::groups, R"({"id":"g","doors":"d1"})", "field 'doors' must be an array"},
    {Collection::groups, R"({"id":"g","doors":["d1",5]})", "field 'doors[1]' must be a string"},
    {Collection::groups, R"({"id":"g","doors":[],"members":["bad id"]})",
     "field 'members[0]' is not a valid id (1-64 of A-Z a-z 0-9 _ . -): 'bad id'"},
    {Collection::schedules, R"({"id":"s"})", "missing field 'windows'"},
    {Collection::schedules,
     R"({"id":"s","windows":[{"days":["mon"],"from":"25:00","to":"26:00"}]})",
     "field 'windows[0].from': bad time '25:00' (expected HH:MM, 00:00-23:59)"},
    {Collection::schedules, R"({"id":"s","windows":[{"days":["mon"],"from":"08:00","to":"8:00"}]})",
     "field 'windows[0].to': bad time '8:00' (expected HH:MM, 00:00-24:00)"},
    {Collection::schedules,
     R"({"id":"s","windows":[{"days":["mon"],"from":"08:00","to":"10:00"},{"days":["mon","funday"],"from":"08:00","to":"09:00"}]})",
     "field 'windows[1].days[1]': unknown day \"funday\" (expected mon, tue, wed, thu, fri, sat or "
     "sun)"},
    {Collection::schedules, R"({"id":"s","windows":[{"from":"08:00","to":"09:00"}]})",
     "missing field 'windows[0].days'"},
    {Collection::schedules,
     R"({"id":"s","windows":[{"days":["mon"],"from":"08:00","to":"08:00"}]})",
     "field 'windows[0].to' equals 'from': the window is empty (use 00:00-24:00 for a whole day)"},
    {Collection::holidays, R"({"id":"h","site":"hq","date":"2027-02-29","name":"x"})",
     "field 'date' is not a calendar date YYYY-MM-DD: '2027-02-29'"},
    {Collection::holidays, R"({"id":"h","site":"hq","date":"2026-1-01","name":"x"})",
     "field 'date' is not a calendar date YYYY-MM-DD: '2026-1-01'"},
    // A sign or a space where a digit belongs: one day, one spelling.
    {Collection::holidays, R"({"id":"h","site":"hq","date":"2026-12- 5","name":"x"})",
     "field 'date' is not a calendar date YYYY-MM-DD: '2026-12- 5'"},
    {Collection::holidays, R"({"id":"h","site":"hq","date":"2026-+1-05","name":"x"})",
     "field 'date' is not a calendar date YYYY-MM-DD: '2026-+1-05'"},
    {Collection::holidays, R"({"id":"h","site":"hq","date":"-001-12-25","name":"x"})",
     "field 'date' is not a calendar date YYYY-MM-DD: '-001-12-25'"},
    {Collection::passes,
     R"({"card":"DEADBEEF","holder":"V","doors":[],"valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-01-02T00:00:00Z","max_uses":3})",
     "field 'doors' must name at least one door"},
    {Collection::passes,
     R"({"card":"DEADBEEF","holder":"V","doors":["d1"],"valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-01-02T00:00:00Z","max_uses":0})",
     "field 'max_uses' must be between 1 and 1000000, got 0"},
    {Collection::passes,
     R"({"card":"DEADBEEF","holder":"V","doors":["d1"],"valid_from":"2026-01-01T00:00:00Z","max_uses":1})",
     "missing field 'valid_until'"},
    {Collection::accounts, R"({"username":"ops","password_hash":"x","role":"root"})",
     "field 'role' must be one of \"admin\", \"operator\", \"auditor\", got \"root\""},
};

class CodecRejects : public ::testing::TestWithParam<BadBody> {};

TEST_P(CodecRejects, WithPreciseMessage) {
  const BadBody& b = GetParam();
  auto r = prepare_create(b.collection, parse(b.body), ctx());
  ASSERT_FALSE(r.ok()) << b.body;
  EXPECT_EQ(r.error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(r.error().message, b.message);
}

INSTANTIATE_TEST_SUITE_P(Bodies, CodecRejects, ::testing::ValuesIn(kBadBodies));

TEST(Codec, CardStoresHashAndLast4NeverUid) {
  auto r =
      prepare_create(Collection::cards, parse(R"({"uid":"04A1B2C3","user":"u1","x":1})"), ctx());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->contains("uid"));
  EXPECT_EQ(r->at("card_hash").as_string(), to_hex(hmac_sha256("secret", "04a1b2c3")));
  EXPECT_EQ(r->at("last4").as_string(), "b2c3");
  EXPECT_EQ(r->at("id").as_string(), "c-1111111111111111");  // generated
  EXPECT_EQ(r->at("status").as_string(), "active");
  EXPECT_EQ(r->at("x").as_int64(), 1);  // extra field kept
  EXPECT_EQ(json::serialize(*r).find("04A1B2C3"), std::string::npos);
  auto card = decode_card(*r);
  ASSERT_TRUE(card.ok());
  EXPECT_EQ(card->hash, card_hash_from_uid("secret", "04a1b2c3").value());
}

TEST(Codec, BadUidIsNotEchoed) {
  auto r = prepare_create(Collection::cards, parse(R"({"uid":"SECRETUID","user":"u1"})"), ctx());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("SECRETUID"), std::string::npos);
}

TEST(Codec, DoorGetsKeyHiddenFromPublicView) {
  auto r =
      prepare_create(Collection::doors,
                     parse(R"({"id":"d1","site":"hq","name":"Main","controller":"ctl-1"})"), ctx());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->at("key").as_string(), std::string(64, '1'));
  EXPECT_EQ(r->at("unlock_ms").as_int64(), 5000);
  EXPECT_EQ(r->at("fail_mode").as_string(), "secure");
  EXPECT_FALSE(r->at("lockdown").as_bool());
  json::object pub = public_view(Collection::doors, *r);
  EXPECT_FALSE(pub.contains("key"));
  EXPECT_EQ(pub.at("name").as_string(), "Main");
}

TEST(Codec, PatchMergesRevalidatesAndGuardsFixedFields) {
  auto door =
      prepare_create(Collection::doors,
                     parse(R"({"id":"d1","site":"hq","name":"Main","controller":"ctl-1"})"), ctx());
  ASSERT_TRUE(door.ok());
  auto p = prepare_patch(Collection::doors, *door, parse(R"({"unlock_ms":3000,"note":"n"})"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->at("unlock_ms").as_int64(), 3000);
  EXPECT_EQ(p->at("note").as_string(), "n");
  EXPECT_EQ(p->at("key"), door->at("key"));
  auto removed = prepare_patch(Collection::doors, *p, parse(R"({"note":null})"));
  ASSERT_TRUE(removed.ok());
  EXPECT_FALSE(removed->contains("note"));

  auto id = prepare_patch(Collection::doors, *door, parse(R"({"id":"d2"})"));
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.error().message, "field 'id' cannot be changed");
  EXPECT_TRUE(prepare_patch(Collection::doors, *door, parse(R"({"id":"d1"})")).ok());
  auto key = prepare_patch(Collection::doors, *door, parse(R"({"key":"00"})"));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().message, "field 'key' cannot be changed (create a new one instead)");
  auto bad = prepare_patch(Collection::doors, *door, parse(R"({"held_open_s":-1})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "field 'held_open_s' must be between 1 and 86400, got -1");
  auto removed_required = prepare_patch(Collection::doors, *door, parse(R"({"site":null})"));
  ASSERT_FALSE(removed_required.ok());
  EXPECT_EQ(removed_required.error().message, "missing field 'site'");
}

TEST(Codec, CardPatchCannotChangeUid) {
  auto card = prepare_create(Collection::cards, parse(R"({"uid":"04A1B2C3","user":"u1"})"), ctx());
  ASSERT_TRUE(card.ok());
  auto r = prepare_patch(Collection::cards, *card, parse(R"({"uid":"DEADBEEF"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "field 'uid' cannot be changed (create a new one instead)");
  auto revoke = prepare_patch(Collection::cards, *card, parse(R"({"status":"revoked"})"));
  ASSERT_TRUE(revoke.ok());
  EXPECT_EQ(decode_card(*revoke)->status, CardStatus::revoked);
}

TEST(Codec, ScheduleDecodesDaysAndMidnightWindows) {
  auto r = prepare_create(
      Collection::schedules,
      parse(R"({"id":"night","windows":[{"days":["fri","sun"],"from":"22:00","to":"06:00"}],
                "holiday_windows":[{"from":"00:00","to":"24:00"}]})"),
      ctx());
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto s = decode_schedule(*r);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->windows.size(), 1u);
  EXPECT_EQ(s->windows[0].days, (1u << 5) | 1u);
  EXPECT_EQ(s->windows[0].from_min, 22 * 60);
  EXPECT_EQ(s->windows[0].to_min, 6 * 60);
  EXPECT_EQ(s->holiday_windows[0].days, 0x7f);
  EXPECT_EQ(s->holiday_windows[0].to_min, 1440);
}

TEST(Codec, HolidayOnLeapDay) {
  auto r =
      prepare_create(Collection::holidays,
                     parse(R"({"id":"leap","site":"hq","date":"2028-02-29","name":"L"})"), ctx());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(decode_holiday(*r)->date, date::year{2028} / 2 / 29);
}

TEST(Codec, PassHashesCardAndAccountsHidePassword) {
  auto p = prepare_create(
      Collection::passes,
      parse(
          R"({"card":"DEADBEEF","holder":"V","doors":["d1"],"valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-01-02T00:00:00Z","max_uses":3})"),
      ctx());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_FALSE(p->contains("card"));
  EXPECT_EQ(p->at("last4").as_string(), "beef");
  auto a = prepare_create(
      Collection::accounts,
      parse(R"({"username":"ops","password_hash":"$argon2id$x","role":"operator"})"), ctx());
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_FALSE(public_view(Collection::accounts, *a).contains("password_hash"));
  EXPECT_EQ(document_key(Collection::accounts, *a), "ops");
}

TEST(Codec, ValidityTimesAreKeptInUtcWithMilliseconds) {
  auto p = prepare_create(Collection::passes,
                          parse(R"({"card":"DEADBEEF","holder":"V","doors":["d1"],)"
                                R"("valid_from":"2026-11-30T23:00:00-05:00",)"
                                R"("valid_until":"2027-01-01T00:00:00.123456789Z","max_uses":3})"),
                          ctx());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->at("valid_from").as_string(), "2026-12-01T04:00:00.000Z");
  EXPECT_EQ(p->at("valid_until").as_string(), "2027-01-01T00:00:00.123Z");
  auto card = prepare_create(
      Collection::cards,
      parse(R"({"uid":"04A1B2C3","user":"u1","valid_until":"2027-06-01T02:00:00+02:00"})"), ctx());
  ASSERT_TRUE(card.ok()) << card.error().message;
  EXPECT_EQ(card->at("valid_until").as_string(), "2027-06-01T00:00:00.000Z");
  auto patched = prepare_patch(Collection::cards, *card,
                               parse(R"({"valid_from":"2026-01-01T00:00:00+01:00"})"));
  ASSERT_TRUE(patched.ok()) << patched.error().message;
  EXPECT_EQ(patched->at("valid_from").as_string(), "2025-12-31T23:00:00.000Z");
  // What is shown is what the engine decides on.
  EXPECT_EQ(decode_card(*patched)->valid_from, *parse_utc("2025-12-31T23:00:00.000Z"));
}

TEST(Codec, TimeAndDayParsers) {
  EXPECT_EQ(parse_hhmm("00:00"), 0);
  EXPECT_EQ(parse_hhmm("23:59"), 23 * 60 + 59);
  EXPECT_EQ(parse_hhmm("24:00"), 1440);
  EXPECT_FALSE(parse_hhmm("24:01"));
  EXPECT_FALSE(parse_hhmm("25:00"));
  EXPECT_FALSE(parse_hhmm("12:60"));
  EXPECT_FALSE(parse_hhmm("1200"));
  EXPECT_EQ(parse_day("sun"), 0u);
  EXPECT_EQ(parse_day("sat"), 6u);
  EXPECT_FALSE(parse_day("Mon"));
}

TEST(Codec, CollectionNames) {
  for (Collection c : kAllCollections) EXPECT_EQ(collection_from_name(collection_name(c)), c);
  EXPECT_FALSE(collection_from_name("devices"));
}

}  // namespace
}  // namespace castellan::access
