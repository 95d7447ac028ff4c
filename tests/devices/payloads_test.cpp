#include "devices/payloads.hpp"

#include <gtest/gtest.h>
#include <pthread.h>

namespace castellan::devices {
namespace {

TEST(SwipePayload, ValidSwipeWithDefaults) {
  auto p = parse_swipe(R"({"req":"r-1","card":"04A1B2C3","ts":"2026-11-22T03:04:05.123Z"})");
  ASSERT_TRUE(p.swipe) << p.error->message;
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.req, "r-1");
  EXPECT_EQ(p.swipe->card_uid, "04a1b2c3") << "normalised to lower case";
  EXPECT_EQ(p.swipe->dir, Direction::kIn) << "dir defaults to in";
  ASSERT_TRUE(p.swipe->ts);
  auto out = parse_swipe(R"({"req":"r-2","card":"04a1b2c3d4","dir":"out"})");
  ASSERT_TRUE(out.swipe);
  EXPECT_EQ(out.swipe->dir, Direction::kOut);
}

struct BadSwipe {
  std::string payload;
  RejectReason reason;
  bool has_req;  // a usable req: the swipe is answered 40001
};

TEST(SwipePayload, EveryKindOfBadPayloadHasAReasonAndReqIsKeptWhenUsable) {
  const std::vector<BadSwipe> cases = {
      {"not json", RejectReason::kNotJson, false},
      {"", RejectReason::kNotJson, false},
      {"[1,2]", RejectReason::kNotJson, false},
      {"\"str\"", RejectReason::kNotJson, false},
      {"{\"req\":\"r\",\"card\":\"\xff\xfe\"}", RejectReason::kNotJson, false},  // not UTF-8
      {R"({"card":"04a1b2c3"})", RejectReason::kNoReq, false},
      {R"({"req":42,"card":"04a1b2c3"})", RejectReason::kNoReq, false},
      {R"({"req":"","card":"04a1b2c3"})", RejectReason::kNoReq, false},
      // 65 characters; 64 of two bytes each are fine (below).
      {R"({"req":")" + std::string(65, 'r') + R"(","card":"04a1b2c3"})", RejectReason::kNoReq,
       false},
      {R"({"req":"r-1"})", RejectReason::kBadField, true},
      {R"({"req":"r-1","card":1234})", RejectReason::kBadField, true},
      {R"({"req":"r-1","card":"xyz12345"})", RejectReason::kBadField, true},
      {R"({"req":"r-1","card":"0123456"})", RejectReason::kBadField, true},  // 7 digits
      {R"({"req":"r-1","card":"04a1b2c3","dir":"sideways"})", RejectReason::kBadField, true},
      {R"({"req":"r-1","card":"04a1b2c3","dir":1})", RejectReason::kBadField, true},
      {R"({"req":"r-1","card":"04a1b2c3","ts":"yesterday"})", RejectReason::kBadField, true},
      {R"({"req":"r-1","card":"04a1b2c3","ts":12})", RejectReason::kBadField, true},
      // Valid JSON with a req, too large or too deep to parse: answered 40001 (contract §3).
      {"{\"req\":\"r-1\",\"card\":\"" + std::string(5000, 'a') + "\"}", RejectReason::kTooLarge,
       true},
      {R"({"req":"r-1","x":)" + std::string(100, '[') + std::string(100, ']') + "}",
       RejectReason::kNotJson, true},
      {std::string(100, '[') + std::string(100, ']'), RejectReason::kNotJson, false},  // too deep
  };
  for (const auto& c : cases) {
    auto p = parse_swipe(c.payload);
    EXPECT_FALSE(p.swipe) << c.payload.substr(0, 80);
    ASSERT_TRUE(p.error) << c.payload.substr(0, 80);
    EXPECT_EQ(p.error->reason, c.reason) << c.payload.substr(0, 80) << ": " << p.error->message;
    EXPECT_EQ(!p.req.empty(), c.has_req) << c.payload.substr(0, 80);
    EXPECT_FALSE(p.error->message.empty());
  }
}

// The req of a swipe too large or too deep to parse is read without building the document, and
// only when the whole payload is valid JSON whose top-level object has a string req.
TEST(SwipePayload, AReqIsReadFromATooLargeSwipeOnlyWhenThePayloadIsValidJsonWithAReq) {
  const std::string pad = R"(,"pad":")" + std::string(5000, 'p') + R"(")";
  const std::string deep = R"(,"x":)" + std::string(200, '[') + std::string(200, ']');
  const auto req_of = [](const std::string& payload) {
    auto p = parse_swipe(payload);
    EXPECT_TRUE(p.error) << payload.substr(0, 60);
    EXPECT_FALSE(p.swipe);
    return p.req;
  };
  EXPECT_EQ(req_of(R"({"card":"04a1b2c3")" + pad + R"(,"req":"r-1"})"), "r-1");
  EXPECT_EQ(req_of(R"({"req":"r\u002d2")" + pad + "}"), "r-2") << "escapes are decoded";
  EXPECT_EQ(req_of(R"({"req":"r-3")" + deep + "}"), "r-3");
  EXPECT_EQ(req_of(R"({"req":"r-4")" + pad), "") << "not valid JSON: cut short";
  EXPECT_EQ(req_of(R"({"req":42)" + pad + "}"), "") << "req not a string";
  EXPECT_EQ(req_of(R"({"req":{"id":"r-5"})" + pad + "}"), "");
  EXPECT_EQ(req_of(R"({"inner":{"req":"r-6"})" + pad + "}"), "") << "not at the top level";
  EXPECT_EQ(req_of(R"([{"req":"r-7"})" + pad.substr(1) + "]"), "") << "not an object";
  EXPECT_EQ(req_of(R"({"req":")" + std::string(65, 'r') + R"(")" + pad + "}"), "");
  EXPECT_EQ(req_of(R"({"req":"r-8","pad":")" + std::string(kMaxScannedSwipeBytes, 'p') + "\"}"), "")
      << "over the scanned size: no reply";
}

// One controller's message nested tens of thousands of levels deep ("[[[[...", within the
// scanned size) must not overflow the stack of the thread that reads it (the parser recurses
// once per level): it gets no reply. Run on a thread with a 512 KiB stack, which the old
// unbounded depth overflowed (and ASan's larger frames overflow even on a normal stack).
TEST(SwipePayload, ANestingTooDeepToScanGetsNoReplyAndKeepsTheStack) {
  const std::string prefix = R"({"req":"deep","x":)";
  const std::string payload = prefix + std::string(kMaxScannedSwipeBytes - prefix.size(), '[');
  struct Run {
    const std::string* payload;
    SwipeParse result;
  } run{&payload, {}};
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, 512 * 1024), 0);
  pthread_t thread;
  ASSERT_EQ(pthread_create(
                &thread, &attr,
                [](void* arg) -> void* {
                  auto* r = static_cast<Run*>(arg);
                  r->result = parse_swipe(*r->payload);
                  return nullptr;
                },
                &run),
            0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  EXPECT_TRUE(run.result.error);
  EXPECT_EQ(run.result.req, "") << "too deep to scan: no reply";
  // Deep, but within the scanned depth: still answered 40001 with its req.
  const std::string within = R"({"req":"r-9","x":)" + std::string(kMaxScannedSwipeDepth - 2, '[') +
                             std::string(kMaxScannedSwipeDepth - 2, ']') + "}";
  EXPECT_EQ(parse_swipe(within).req, "r-9");
}

// Contract §3: req is 1-64 characters, not bytes.
TEST(SwipePayload, ReqLengthCountsCharacters) {
  std::string e_acute = "\xC3\xA9";  // é: two bytes, one character
  std::string req64, req65;
  for (int i = 0; i < 64; ++i) req64 += e_acute;
  req65 = req64 + "r";
  auto ok = parse_swipe(R"({"req":")" + req64 + R"(","card":"04a1b2c3"})");
  ASSERT_TRUE(ok.swipe) << (ok.error ? ok.error->message : "");
  EXPECT_EQ(ok.req, req64);
  auto long_req = parse_swipe(R"({"req":")" + req65 + R"(","card":"04a1b2c3"})");
  ASSERT_TRUE(long_req.error);
  EXPECT_EQ(long_req.error->reason, RejectReason::kNoReq);
}

TEST(DoorStatePayload, PartialAndFullUpdates) {
  auto full = parse_door_state(
      R"({"lock":"locked","contact":"open","beam":"blocked","ts":"2026-11-22T03:04:05Z"})");
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(*full.value->lock, LockState::kLocked);
  EXPECT_EQ(*full.value->contact, ContactState::kOpen);
  EXPECT_EQ(*full.value->beam, BeamState::kBlocked);
  auto partial = parse_door_state(R"({"contact":"closed"})");
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial.value->lock);
  EXPECT_FALSE(parse_door_state(R"({})").ok());
  EXPECT_FALSE(parse_door_state(R"({"lock":"ajar"})").ok());
  EXPECT_EQ(parse_door_state(R"({"lock":true})").error->reason, RejectReason::kBadField);
  EXPECT_EQ(parse_door_state("nope").error->reason, RejectReason::kNotJson);
}

TEST(HeartbeatPayload, FieldsAreOptionalButTyped) {
  auto hb = parse_heartbeat(R"({"fw":"1.2.3","uptime_s":123,"ts":"2026-11-22T03:04:05.123Z"})");
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb.value->fw, "1.2.3");
  EXPECT_EQ(*hb.value->uptime_s, 123);
  EXPECT_TRUE(parse_heartbeat("{}").ok());
  EXPECT_FALSE(parse_heartbeat(R"({"uptime_s":-1})").ok());
  EXPECT_FALSE(parse_heartbeat(R"({"uptime_s":"1"})").ok());
  EXPECT_FALSE(parse_heartbeat(R"({"fw":3})").ok());
  EXPECT_EQ(parse_heartbeat(std::string(5000, ' ')).error->reason, RejectReason::kTooLarge);
}

// protocol.md: "fw a string ≤ 64 characters" — characters, as for `req`, not bytes.
TEST(HeartbeatPayload, FwLengthCountsCharacters) {
  std::string umlauts;
  for (int i = 0; i < 64; ++i) umlauts += "\xc3\xa4";  // 64 characters, 128 bytes
  EXPECT_TRUE(parse_heartbeat(R"({"fw":")" + umlauts + R"("})").ok());
  EXPECT_EQ(parse_heartbeat(R"({"fw":")" + umlauts + R"(a"})").error->reason,
            RejectReason::kBadField);
}

TEST(TelemetryPayload, NumbersOnlyAndBounded) {
  auto t = parse_telemetry(
      R"({"ts":"2026-11-22T03:04:05Z","metrics":{"temperature_c":21.5,"humidity_pct":40}})");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t.value->metrics.size(), 2u);
  EXPECT_EQ(t.value->metrics[0].first, "temperature_c");
  EXPECT_DOUBLE_EQ(t.value->metrics[0].second, 21.5);
  EXPECT_FALSE(parse_telemetry(R"({"metrics":{"t":"warm"}})").ok());
  EXPECT_FALSE(parse_telemetry(R"({"metrics":[1]})").ok());
  EXPECT_FALSE(parse_telemetry(R"({"metrics":{"bad name":1}})").ok());
  EXPECT_FALSE(parse_telemetry(R"({})").ok());
  std::string many = "{\"metrics\":{";
  for (int i = 0; i < 33; ++i)
    many += (i ? "," : "") + std::string("\"m") + std::to_string(i) + "\":1";
  many += "}}";
  EXPECT_FALSE(parse_telemetry(many).ok());
}

TEST(StatusPayload, LastWill) {
  EXPECT_EQ(*parse_status("offline").value, DeviceStatus::kOffline);
  EXPECT_EQ(*parse_status(" \"offline\"\n").value, DeviceStatus::kOffline);
  EXPECT_EQ(*parse_status("online").value, DeviceStatus::kOnline);
  EXPECT_FALSE(parse_status("gone").ok());
  EXPECT_EQ(parse_status(std::string(5000, 'x')).error->reason, RejectReason::kTooLarge);
}

// `too_large` means over 4096 bytes (protocol.md); a longer will that is neither word, such as
// a JSON object, is a bad field, not a large payload.
TEST(StatusPayload, ALongerWillThatIsNeitherWordIsABadFieldNotTooLarge) {
  const std::string will =
      R"({"status":"offline","reason":"power lost","ts":"2026-11-22T03:04:05Z"})";
  EXPECT_EQ(parse_status(will).error->reason, RejectReason::kBadField);
  EXPECT_EQ(parse_status(std::string(100, 'x')).error->reason, RejectReason::kBadField);
}

TEST(RejectReasons, NamesAreStableLabels) {
  std::vector<std::string> names;
  for (auto r : all_reject_reasons()) names.emplace_back(reject_reason_name(r));
  EXPECT_EQ(names, (std::vector<std::string>{"bad_topic", "too_large", "not_json", "no_req",
                                             "bad_field", "unknown_door", "capacity", "retained",
                                             "too_old", "rate_limited"}));
}

}  // namespace
}  // namespace castellan::devices
