// The HTTPS API end to end over TLS: transport limits, errors, login, SSE, ops listener.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <thread>

#include "api/event_feed.hpp"
#include "api/server_impl.hpp"
#include "harness.hpp"

namespace castellan::api::testing {
namespace {

namespace json = boost::json;

json::value body_of(const HttpResult& r) {
  return json::parse(r.body);
}

void expect_error(const HttpResult& r, int status, std::int64_t code) {
  EXPECT_EQ(r.status, status) << r.body;
  const auto v = body_of(r);
  const auto& e = v.at("error");
  EXPECT_EQ(e.at("code").as_int64(), code) << r.body;
  EXPECT_EQ(std::string(e.at("name").as_string()).substr(0, 4), "ERR_");
  EXPECT_FALSE(e.at("message").as_string().empty());
  EXPECT_EQ(e.at("trace_id").as_string().size(), 32u);
}

// Responses are formatted by hand (response_bytes); Beast's parser is the judge.
TEST(HttpsServer, ResponseBytesParseAsTheReplyTheyCarry) {
  struct Case {
    Reply reply;
    unsigned version;
    bool keep_alive;
  };
  const std::vector<Case> cases = {
      {Reply{200, "{\"a\":1}"}, 11, true},
      {Reply{401, "{\"error\":{}}"}, 11, false},
      {Reply{200, "x", "text/plain; version=0.0.4"}, 10, true},
      {Reply{404, "{}"}, 10, false},
      {Reply{200, ""}, 11, true},
      {Reply{204, ""}, 11, true},
  };
  for (const auto& c : cases) {
    const std::string bytes = response_bytes(c.reply, c.version, c.keep_alive);
    http::response_parser<http::string_body> parser;
    if (c.reply.status == 204) parser.skip(false);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!ec && !parser.is_done() && used < bytes.size()) {
      used += parser.put(asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    }
    if (!ec && !parser.is_done()) parser.put_eof(ec);  // only a body-until-close would need it
    EXPECT_EQ(used, bytes.size()) << bytes;
    ASSERT_FALSE(ec) << ec.message() << "\n" << bytes;
    ASSERT_TRUE(parser.is_done()) << bytes;
    const auto& res = parser.get();
    EXPECT_EQ(res.result_int(), static_cast<unsigned>(c.reply.status)) << bytes;
    EXPECT_EQ(res.version(), c.version) << bytes;
    EXPECT_EQ(res.keep_alive(), c.keep_alive) << bytes;
    EXPECT_EQ(res.body(), c.reply.body) << bytes;
    EXPECT_EQ(res["Cache-Control"], "no-store") << bytes;
    if (c.reply.body.empty()) {
      EXPECT_EQ(res.count(http::field::content_type), 0u) << bytes;
    } else {
      EXPECT_EQ(res[http::field::content_type], c.reply.content_type) << bytes;
    }
    if (c.reply.status == 204) {
      EXPECT_EQ(res.count(http::field::content_length), 0u) << bytes;
    } else {
      EXPECT_EQ(res[http::field::content_length], std::to_string(c.reply.body.size())) << bytes;
    }
  }
}

TEST(HttpsServer, RefusesTls12) {
  ApiHarness h;
  HttpsClient tls12(h.server->api_port(), h.tls.ca, /*max_tls12=*/true);
  EXPECT_FALSE(tls12.connected());
  HttpsClient tls13(h.server->api_port(), h.tls.ca);
  EXPECT_TRUE(tls13.connected()) << tls13.handshake_error();
}

TEST(HttpsServer, LoginIssuesATokenThatWorksAndKeepAliveServesSeveralRequests) {
  ApiHarness h;
  ASSERT_TRUE(
      h.accounts.create({"ada", h.hasher.hash("s3cret-pass").value(), Role::kOperator}).ok());
  auto c = h.client();
  auto login =
      c->request("POST", "/v1/auth/token", R"({"username":"ada","password":"s3cret-pass"})");
  ASSERT_EQ(login.status, 200) << login.body;
  const auto token = std::string(body_of(login).at("token").as_string());
  EXPECT_EQ(body_of(login).at("expires_at").as_string().back(), 'Z');
  auto verify =
      c->request("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"04A1B2C3"})",
                 {{"Authorization", "Bearer " + token},
                  {"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}});
  ASSERT_EQ(verify.status, 200) << verify.body;
  const auto v = body_of(verify);
  EXPECT_EQ(v.at("decision").as_string(), "grant");
  EXPECT_EQ(v.at("code").as_int64(), 0);
  EXPECT_EQ(v.at("name").as_string(), "OK");
  EXPECT_EQ(v.at("trace_id").as_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
  ASSERT_EQ(h.verify.requests.size(), 1u);
  EXPECT_EQ(h.verify.requests[0].trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(h.verify.requests[0].dir, "in");
  // An operator may not create doors.
  auto denied =
      c->request("POST", "/v1/doors", R"({"id":"d9"})", {{"Authorization", "Bearer " + token}});
  expect_error(denied, 403, 40311);
}

TEST(HttpsServer, WrongPasswordsAreRateLimitedPerAddress) {
  ApiHarness h([](Config& c) {
    c.api.login_attempts_per_minute = 3;
    c.api.account_login_attempts_per_minute = 10;
  });
  ASSERT_TRUE(h.accounts.create({"ada", h.hasher.hash("s3cret-pass").value(), Role::kAdmin}).ok());
  auto c = h.client();
  for (int i = 0; i < 3; ++i) {
    expect_error(
        c->request("POST", "/v1/auth/token", R"({"username":"ada","password":"wrong-pass"})"), 401,
        40101);
  }
  // Now even the right password is refused from this address for a minute...
  const std::string right = R"({"username":"ada","password":"s3cret-pass"})";
  expect_error(c->request("POST", "/v1/auth/token", right), 429, 42901);
  // ...but not from another one: wrong passwords sent from one address do not lock the
  // account's owner out (the account's own limit, 10 a minute here, is not reached).
  auto elsewhere = h.client("127.0.0.2");
  ASSERT_TRUE(elsewhere->connected()) << elsewhere->handshake_error();
  EXPECT_EQ(elsewhere->request("POST", "/v1/auth/token", right).status, 200);
}

// Accounts whose store can be taken down, and whose reads can be held up.
class FlakyAccounts final : public AccountRepository {
 public:
  Result<std::optional<Account>> find(const std::string& username) override {
    if (down) return make_error(Code::ERR_UNAVAILABLE, "database is locked");
    auto found = inner.find(username);
    if (slow_finds > 0 && username == slow_user) {
      --slow_finds;
      // Read, then held up for long enough that the other patch gets to read too, even
      // under a sanitizer (it starts 300 ms later and needs a TLS handshake first).
      std::this_thread::sleep_for(std::chrono::milliseconds(2000));
    }
    return found;
  }
  Result<std::vector<Account>> list(const std::string& after, int limit) override {
    if (down) return make_error(Code::ERR_UNAVAILABLE, "database is locked");
    return inner.list(after, limit);
  }
  Result<void> create(const Account& a) override { return inner.create(a); }
  Result<void> update(const Account& a) override { return inner.update(a); }
  Result<void> remove(const std::string& u) override { return inner.remove(u); }

  MemoryAccountRepository inner;
  std::atomic<bool> down{false};
  std::atomic<int> slow_finds{0};
  std::string slow_user;  // whose reads are held up (not the caller's, whose token is checked)
};

// A store that cannot answer is a 503, never "wrong password": that would count against the
// user and lock them out after the store is back.
TEST(HttpsServer, AccountsWhoseStoreIsDownAre503AndNoFailedLogIn) {
  FlakyAccounts accounts;
  ApiHarness h([](Config& c) { c.api.login_attempts_per_minute = 3; }, {.accounts = &accounts});
  ASSERT_TRUE(accounts.create({"ada", h.hasher.hash("s3cret-pass").value(), Role::kAdmin}).ok());
  const std::string login = R"({"username":"ada","password":"s3cret-pass"})";
  accounts.down = true;
  for (int i = 0; i < 5; ++i) {
    expect_error(h.client()->request("POST", "/v1/auth/token", login), 503, 50301);
  }
  expect_error(h.call("GET", "/v1/accounts"), 503, 50301);
  expect_error(h.call("PATCH", "/v1/accounts/ada", R"({"role":"auditor"})"), 503, 50301);
  accounts.down = false;
  EXPECT_EQ(h.client()->request("POST", "/v1/auth/token", login).status, 200) << "not 429";
  EXPECT_EQ(accounts.find("ada").value()->role, Role::kAdmin) << "unchanged";
}

// Two admins change one account at once, one its role and one its password: both changes stay.
TEST(HttpsServer, ConcurrentPatchesOfOneAccountBothTakeEffect) {
  FlakyAccounts accounts;
  ApiHarness h({}, {.accounts = &accounts});
  ASSERT_TRUE(accounts.create({"bob", h.hasher.hash("old-password").value(), Role::kAdmin}).ok());
  accounts.slow_user = "bob";
  accounts.slow_finds = 1;  // the first patch reads bob, then is held up before it writes
  std::thread role_change(
      [&] { EXPECT_EQ(h.call("PATCH", "/v1/accounts/bob", R"({"role":"auditor"})").status, 200); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(h.call("PATCH", "/v1/accounts/bob", R"({"password":"new-password"})").status, 200);
  role_change.join();
  const auto bob = accounts.find("bob").value();
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->role, Role::kAuditor);
  EXPECT_TRUE(h.hasher.verify(bob->password_hash, "new-password")) << "the password change lost";
}

TEST(HttpsServer, ImpossibleUsernamesAreRefusedWithoutCountingAgainstTheAddress) {
  ApiHarness h([](Config& c) { c.api.login_attempts_per_minute = 3; });
  ASSERT_TRUE(h.accounts.create({"ada", h.hasher.hash("s3cret-pass").value(), Role::kAdmin}).ok());
  auto c = h.client();
  // Names no account can have (too long, a line break): 401 at once, no rate-limiter entry.
  for (const std::string& name : {std::string(5000, 'x'), std::string("ada\nforged log line"),
                                  std::string("x y"), std::string("")}) {
    boost::json::object body{{"username", name}, {"password", "whatever"}};
    expect_error(c->request("POST", "/v1/auth/token", boost::json::serialize(body)), 401, 40101);
  }
  // Four failures from this address, yet (limit 3) the address is not blocked.
  auto ok = c->request("POST", "/v1/auth/token", R"({"username":"ada","password":"s3cret-pass"})");
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(HttpsServer, InventedMethodsDoNotBecomeMetricLabels) {
  ApiHarness h;
  auto c = h.client();
  for (const char* method : {"FROBA", "FROBB", "FROBC"}) {
    expect_error(c->request(method, "/v1/nowhere", "", {{"Authorization", h.token(Role::kAdmin)}}),
                 404, 40402);
  }
  auto metrics = http_get(h.server->ops_port(), "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.body.find("FROB"), std::string::npos);
  EXPECT_NE(metrics.body.find("castellan_http_requests_total{method=\"OTHER\",route=\"unmatched\""),
            std::string::npos)
      << metrics.body;
}

TEST(HttpsServer, ErrorsHaveTheContractShapeAndTheRequestTraceId) {
  ApiHarness h;
  auto c = h.client();
  auto r = c->request("GET", "/v1/nowhere", "",
                      {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                       {"Authorization", h.token(Role::kAuditor)}});
  expect_error(r, 404, 40402);
  // Without a token nothing is said about which routes exist.
  expect_error(h.call("GET", "/v1/nowhere", "", std::nullopt), 401, 40101);
  expect_error(h.call("DELETE", "/v1/doors", "", std::nullopt), 401, 40101);
  expect_error(h.call("DELETE", "/v1/doors", "", Role::kAuditor), 404, 40402);
  EXPECT_EQ(body_of(r).at("error").at("trace_id").as_string(), "0af7651916cd43dd8448eb211c80319c");
  expect_error(h.call("POST", "/v1/doors", "{not json"), 400, 40001);
  expect_error(h.call("POST", "/v1/doors", "[1,2]"), 400, 40001);
  expect_error(h.call("GET", "/v1/doors/missing"), 404, 40402);
  expect_error(h.call("GET", "/v1/doors?limit=0"), 400, 40001);
  expect_error(h.call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"zz"})"), 400,
               40001);
  expect_error(
      h.call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"04A1B2C3","dir":"up"})"),
      400, 40001);
  expect_error(h.call("GET", "/v1/events?kind=nope"), 400, 40001);
  expect_error(h.call("GET", "/v1/events?from=yesterday"), 400, 40001);
  // A target that is not a valid URL is a bad request, not an unknown route.
  auto bad_target = h.call("GET", "/v1/events?door=%zz", "", Role::kAuditor);
  expect_error(bad_target, 400, 40001);
  EXPECT_NE(bad_target.body.find("The request target is not a valid URL"), std::string::npos)
      << bad_target.body;
}

// A query is read as RFC 3986 says: '+' is a plus (a time's offset as typed), %20 a space.
TEST(HttpsServer, APlusInTheQueryIsAPlus) {
  ApiHarness h;
  ASSERT_EQ(h.call("GET", "/v1/events?from=2026-11-22T04:04:05.123+01:00&door=front%20door", "",
                   Role::kAuditor)
                .status,
            200);
  EXPECT_EQ(h.events.last_query.from, "2026-11-22T04:04:05.123+01:00");
  EXPECT_EQ(h.events.last_query.door, "front door");
  // Two values for one parameter, or an empty cursor (a client's null turned into ""), are
  // refused rather than guessed at.
  auto twice = h.call("GET", "/v1/events?door=d1&door=d2", "", Role::kAuditor);
  expect_error(twice, 400, 40001);
  EXPECT_NE(twice.body.find("Query parameter 'door' is given more than once."), std::string::npos)
      << twice.body;
  auto empty = h.call("GET", "/v1/sites?cursor=", "", Role::kAuditor);
  expect_error(empty, 400, 40001);
  EXPECT_NE(empty.body.find("Query parameter 'cursor' is empty"), std::string::npos) << empty.body;
}

TEST(HttpsServer, ResourcesAreCreatedReadAndJournaledAsAdminChanges) {
  ApiHarness h;
  auto created = h.call("POST", "/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})");
  ASSERT_EQ(created.status, 201) << created.body;
  expect_error(h.call("POST", "/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})"), 409,
               40901);
  auto got = h.call("GET", "/v1/sites/hq", "", Role::kAuditor);
  EXPECT_EQ(got.status, 200);
  auto list = h.call("GET", "/v1/sites?limit=10", "", Role::kAuditor);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(body_of(list).at("items").as_array().size(), 1u);
  EXPECT_TRUE(body_of(list).at("next_cursor").is_null());
  EXPECT_EQ(h.call("DELETE", "/v1/sites/hq").status, 204);
  std::lock_guard lock(h.events.mu);
  ASSERT_EQ(h.events.admin.size(), 2u);
  EXPECT_EQ(h.events.admin[0].at("who").as_string(), "admin-user");
  EXPECT_EQ(h.events.admin[0].at("what").at("action").as_string(), "create");
  EXPECT_EQ(h.events.admin[0].at("what").at("id").as_string(), "hq");
  EXPECT_EQ(h.events.admin[1].at("what").at("action").as_string(), "delete");
}

// Only an admin gives a door a new key; the client gets it once, the journal says who did it
// and to which door, never the key itself.
TEST(HttpsServer, ADoorKeyRotationAnswersTheNewKeyAndJournalsWhoButNotTheKey) {
  ApiHarness h;
  expect_error(h.call("POST", "/v1/doors/d1/key", "", Role::kOperator), 403, 40311);
  auto rotated = h.call("POST", "/v1/doors/d1/key", "", Role::kAdmin);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  EXPECT_EQ(body_of(rotated).at("key").as_string(), "ff00");
  expect_error(h.call("POST", "/v1/doors/nope/key", "", Role::kAdmin), 404, 40401);
  std::lock_guard lock(h.events.mu);
  ASSERT_EQ(h.events.admin.size(), 1u);
  EXPECT_EQ(h.events.admin[0].at("who").as_string(), "admin-user");
  EXPECT_EQ(h.events.admin[0].at("what").at("action").as_string(), "rotate_door_key");
  EXPECT_EQ(h.events.admin[0].at("what").at("door").as_string(), "d1");
  EXPECT_EQ(json::serialize(h.events.admin[0]).find("ff00"), std::string::npos);
}

// While the journal cannot take records (a full disk), a change would be made unrecorded:
// it is refused, and nothing is changed. Reads and door commands still work.
TEST(HttpsServer, ChangesAreRefusedWhileTheJournalCannotRecordThemAndDoorCommandsStillWork) {
  ApiHarness h;
  h.events.recording = false;
  auto refused = h.call("POST", "/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})");
  expect_error(refused, 503, 50301);
  EXPECT_NE(refused.body.find("The journal cannot record changes right now"), std::string::npos)
      << refused.body;
  expect_error(h.call("GET", "/v1/sites/hq", "", Role::kAuditor), 404, 40402);  // not created
  for (const auto& [method, path, body, role] :
       std::vector<std::tuple<std::string, std::string, std::string, Role>>{
           {"PATCH", "/v1/doors/d1", R"({"name":"x"})", Role::kAdmin},
           {"DELETE", "/v1/doors/d1", "", Role::kAdmin},
           {"POST", "/v1/passes", R"({"card":"DEADBEEF"})", Role::kOperator},
           {"POST", "/v1/accounts", R"({"username":"x","password":"y","role":"auditor"})",
            Role::kAdmin},
           {"GET", "/v1/doors/d1/key", "", Role::kAdmin},
           {"POST", "/v1/doors/d1/key", "", Role::kAdmin},
           {"POST", "/v1/devices/dev1/credentials", "", Role::kAdmin}}) {
    expect_error(h.call(method, path, body, role), 503, 50301);
  }
  // Roles are still checked first: a caller who may not change anything learns nothing more.
  expect_error(h.call("POST", "/v1/sites", "{}", Role::kAuditor), 403, 40311);
  EXPECT_EQ(h.call("GET", "/v1/sites?limit=10", "", Role::kAuditor).status, 200);
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/lockdown", "", Role::kOperator).status, 200);
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/release", "", Role::kOperator).status, 200);
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/unlock", R"({"reason":"fire"})").status, 200);
  {
    std::lock_guard lock(h.events.mu);
    for (const auto& record : h.events.admin) {
      const auto action = record.at("what").at("action").as_string();
      EXPECT_TRUE(action == "lockdown" || action == "release" || action == "force_unlock")
          << action;
    }
  }
  h.events.recording = true;
  EXPECT_EQ(h.call("POST", "/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})").status,
            201);
}

// The journal took the check but then failed the change's admin record: the change is made and
// stays, and the client is told so with the error, not a 2xx as if it were on record. A door
// command keeps its answer: the door has moved.
TEST(HttpsServer, AChangeWhoseAdminRecordFailsIsAnsweredWithTheErrorAndStaysMade) {
  ApiHarness h;
  h.events.admin_fails = true;
  auto made = h.call("POST", "/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})");
  expect_error(made, 503, 50301);
  EXPECT_NE(made.body.find("The change was made and stays in effect, but its journal record "
                           "failed. See GET /v1/events?kind=admin and /readyz."),
            std::string::npos)
      << made.body;
  EXPECT_EQ(h.call("GET", "/v1/sites/hq", "", Role::kAuditor).status, 200);
  expect_error(h.call("PATCH", "/v1/sites/hq", R"({"name":"x"})"), 503, 50301);
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/unlock", R"({"reason":"fire"})").status, 200);
  // A key is read only on record; a new key is given once, so it is kept, marked unrecorded.
  auto read = h.call("GET", "/v1/doors/d1/key", "", Role::kAdmin);
  expect_error(read, 503, 50301);
  EXPECT_NE(read.body.find("Nothing is given: this read must be on record"), std::string::npos)
      << read.body;
  EXPECT_EQ(read.body.find("\"key\""), std::string::npos) << read.body;
  auto rotated = h.call("POST", "/v1/doors/d1/key", "", Role::kAdmin);
  ASSERT_EQ(rotated.status, 200) << rotated.body;
  const auto body = json::parse(rotated.body).as_object();
  EXPECT_TRUE(body.contains("key")) << rotated.body;
  EXPECT_EQ(body.at("recorded"), false) << rotated.body;
  EXPECT_NE(body.at("warning").as_string().find("The change was made and stays in effect"),
            std::string::npos);
  h.events.admin_fails = false;
  EXPECT_EQ(h.call("PATCH", "/v1/sites/hq", R"({"name":"y"})").status, 200);
}

TEST(HttpsServer, ForceUnlockIsRefusedWhenUnsafeUnlessAnAdminOverrides) {
  ApiHarness h;
  const std::string body = R"({"duration_ms":3000,"reason":"delivery"})";
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/unlock", body, Role::kOperator).status, 200);
  expect_error(h.call("POST", "/v1/doors/d2/unlock", body, Role::kOperator), 409, 40901);
  const std::string override_body = R"({"duration_ms":3000,"reason":"fire drill","override":true})";
  // Contract §6: 409 unless an *admin* overrides. An operator's override does not count where
  // it is needed, and is not needed where the door is safe.
  auto refused = h.call("POST", "/v1/doors/d2/unlock", override_body, Role::kOperator);
  expect_error(refused, 409, 40901);
  EXPECT_NE(refused.body.find("Only an admin may override it"), std::string::npos) << refused.body;
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/unlock", override_body, Role::kOperator).status, 200);
  auto ok = h.call("POST", "/v1/doors/d2/unlock", override_body, Role::kAdmin);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(body_of(ok).at("override").as_bool());
  expect_error(h.call("POST", "/v1/doors/nope/unlock", body, Role::kAdmin), 404, 40401);
  expect_error(h.call("POST", "/v1/doors/d1/unlock", R"({"duration_ms":"long","reason":"x"})"), 400,
               40001);
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/lockdown", "", Role::kOperator).status, 200);
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/release", "", Role::kAdmin).status, 200);
  std::lock_guard lock(h.devices.mu);
  EXPECT_EQ(h.devices.unlocked, (std::vector<std::string>{"d1", "d1", "d2"}));
  // The operator's name goes with each command to the door (and into its journal record).
  EXPECT_EQ(h.devices.actors,
            (std::vector<std::string>{"operator-user", "operator-user", "admin-user",
                                      "operator-user", "admin-user"}));
}

TEST(HttpsServer, ForceUnlockWithoutADurationUsesTheDoorsUnlockTime) {
  ApiHarness h;
  auto door_default = h.call("POST", "/v1/doors/d1/unlock", R"({"reason":"delivery"})");
  ASSERT_EQ(door_default.status, 200) << door_default.body;
  EXPECT_EQ(body_of(door_default).at("duration_ms").as_int64(), 4000) << "the fake door's";
  auto asked = h.call("POST", "/v1/doors/d1/unlock", R"({"duration_ms":3000,"reason":"x"})");
  EXPECT_EQ(body_of(asked).at("duration_ms").as_int64(), 3000);
  ASSERT_EQ(h.events.admin.size(), 2u);
  EXPECT_EQ(h.events.admin[0].at("what").at("duration_ms").as_int64(), 4000);
}

// A lockdown is in force once its flag is set, even when its command then fails: the failed
// attempt is on record as an admin record with its error, and the client gets the 503.
TEST(HttpsServer, ALockdownOrReleaseThatFailedIsOnRecord) {
  ApiHarness h;
  h.devices.broker_down = true;
  expect_error(h.call("POST", "/v1/doors/d1/lockdown", "", Role::kOperator), 503, 50301);
  expect_error(h.call("POST", "/v1/doors/d1/release", "", Role::kOperator), 503, 50301);
  expect_error(h.call("POST", "/v1/doors/nope/lockdown", "", Role::kOperator), 404, 40401);
  ASSERT_EQ(h.events.admin.size(), 2u) << "not the unknown door";
  const auto& what = h.events.admin[0].at("what");
  EXPECT_EQ(what.at("action").as_string(), "lockdown");
  EXPECT_EQ(what.at("result").as_string(), "failed");
  EXPECT_NE(what.at("error").as_string().find("broker connection is down"), std::string::npos);
  EXPECT_EQ(h.events.admin[1].at("what").at("action").as_string(), "release");
}

TEST(HttpsServer, BodyOverTheLimitIs413ByContentLengthAndWhenChunked) {
  ApiHarness h;
  {
    auto c = h.client();
    c->write_raw(
        "POST /v1/doors HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
        std::to_string((1 << 20) + 1) + "\r\n\r\n");
    const std::string reply = c->read_until("}}");
    EXPECT_NE(reply.find("HTTP/1.1 413"), std::string::npos) << reply;
    EXPECT_NE(reply.find("41301"), std::string::npos) << reply;
  }
  {
    auto c = h.client();
    c->write_raw("POST /v1/doors HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk(64 * 1024, 'a');
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    std::string reply;
    for (int i = 0; i < 20 && reply.empty(); ++i) {
      try {
        c->write_raw(size + chunk + "\r\n");
      } catch (const std::exception&) {
        break;  // the server answered and closed
      }
    }
    reply = c->read_until("41301");
    EXPECT_NE(reply.find("HTTP/1.1 413"), std::string::npos) << reply.substr(0, 200);
  }
  // Exactly at the limit is fine as far as the transport goes (the fake then rejects it).
  const std::string big = "{\"id\":\"x\",\"pad\":\"" + std::string((1 << 20) - 30, 'p') + "\"}";
  ASSERT_LE(big.size(), static_cast<std::size_t>(1 << 20));
  EXPECT_EQ(h.call("POST", "/v1/doors", big).status, 201);
}

// Beast limits a chunked body by its chunk sizes only: a chunk-size line that never ends ("1;"
// and then endless extensions) or endless trailers were buffered until the request timeout, as
// fast as the client could send, without a token. Now the unparsed bytes are capped: 400, close.
TEST(HttpsServer, AnEndlessChunkLineOrTrailerIs400NotBuffered) {
  ApiHarness h;
  for (const std::string& start : {std::string("1;"), std::string("0\r\nX-Pad: ")}) {
    auto c = h.client();
    c->write_raw("POST /v1/doors HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                 start);
    const std::string pad(64 * 1024, 'a');
    int written = 0;
    for (; written < 64; ++written) {  // 4 MiB, far past the cap (16 KiB + 64 KiB)
      try {
        c->write_raw(pad);
      } catch (const std::exception&) {
        break;  // the server answered and closed
      }
    }
    const std::string reply = c->read_until("}}");
    EXPECT_NE(reply.find("HTTP/1.1 400"), std::string::npos)
        << start << ": " << reply.substr(0, 200);
    EXPECT_NE(reply.find("40001"), std::string::npos) << reply.substr(0, 300);
    EXPECT_TRUE(c->closed_by_peer());
  }
  EXPECT_EQ(h.call("GET", "/v1/doors").status, 200) << "the server is fine";
}

TEST(HttpsServer, SlowAndSilentClientsAreDroppedAndLeaveNoTask) {
  // Not shorter: the request timer also bounds the TLS handshake, which a loaded machine under
  // a sanitizer can slow down (closed_by_peer() waits up to 10 s).
  ApiHarness h([](Config& c) {
    c.api.request_timeout_ms = 2000;
    c.api.idle_timeout_ms = 2000;
  });
  ASSERT_TRUE(h.wait_for_tasks(2));  // the two accept loops
  auto slow = h.client();
  auto silent = h.client();
  ASSERT_TRUE(slow->connected() && silent->connected());
  slow->write_raw("GET /v1/doors HTTP/1.1\r\nHost: x\r\n");  // never finishes the header
  EXPECT_TRUE(slow->closed_by_peer());
  EXPECT_TRUE(silent->closed_by_peer());
  EXPECT_TRUE(h.wait_for_tasks(2)) << h.registry.active_count() << " tasks left";
  EXPECT_EQ(h.server->open_connections(), 0u);
}

TEST(HttpsServer, SseStreamDeliversRecordsAppendedAfterItOpened) {
  ApiHarness h;
  auto c = h.client();
  c->write_raw("GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: " +
               h.token(Role::kAuditor) + "\r\n\r\n");
  const auto head = c->read_until(": stream open\n\n");
  EXPECT_NE(head.find("text/event-stream"), std::string::npos) << head;
  for (int i = 0; i < 500 && h.events.subscribers() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(h.events.subscribers(), 1u);
  h.events.publish(R"({"seq":7,"kind":"decision","door":"d1"})");
  const auto got = c->read_until("\n\n");
  EXPECT_NE(got.find("id: 7\n"
                     R"(data: {"seq":7,"kind":"decision","door":"d1"})"
                     "\n\n"),
            std::string::npos)
      << got;
  // Unauthenticated streams are refused like any route.
  expect_error(h.call("GET", "/v1/events/stream", "", std::nullopt), 401, 40101);
  c.reset();  // client goes away: the stream task and its subscription end
  EXPECT_TRUE(h.wait_for_tasks(2)) << h.registry.active_count() << " tasks left";
  for (int i = 0; i < 500 && h.events.subscribers() != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(h.events.subscribers(), 0u);
}

// A client that reconnects with Last-Event-ID (as EventSource does) is first given the records
// it missed, then the new ones, each once: a record that is both missed and new is sent once.
TEST(HttpsServer, SseStreamFirstSendsWhatAReconnectingClientMissed) {
  ApiHarness h;
  {
    std::lock_guard lock(h.events.mu);
    h.events.missed.lines = {R"({"seq":5,"kind":"admin"})", R"({"seq":6,"kind":"admin"})"};
  }
  auto c = h.client();
  c->write_raw("GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 4\r\nAuthorization: " +
               h.token(Role::kAuditor) + "\r\n\r\n");
  std::string got = c->read_until("id: 6\n");
  ASSERT_EQ(h.events.subscribers(), 1u);
  h.events.publish(R"({"seq":6,"kind":"admin"})");
  h.events.publish(R"({"seq":7,"kind":"decision"})");
  got += c->read_until(R"({"seq":7,"kind":"decision"})"
                       "\n\n");
  EXPECT_NE(got.find(": stream open\n\n"
                     "id: 5\n"
                     R"(data: {"seq":5,"kind":"admin"})"
                     "\n\nid: 6\n"
                     R"(data: {"seq":6,"kind":"admin"})"
                     "\n\nid: 7\n"
                     R"(data: {"seq":7,"kind":"decision"})"
                     "\n\n"),
            std::string::npos)
      << got;
  {
    std::lock_guard lock(h.events.mu);
    ASSERT_EQ(h.events.after_calls.size(), 1u);
    EXPECT_EQ(h.events.after_calls[0], std::make_pair(std::uint64_t{4}, EventFeed::kMaxQueued));
  }
  // An id that is not a seq is refused, not read as "nothing missed".
  auto bad = h.client();
  bad->write_raw(
      "GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: abc\r\n"
      "Authorization: " +
      h.token(Role::kAuditor) + "\r\n\r\n");
  const auto refused = bad->read_until("}}");
  EXPECT_NE(refused.find("HTTP/1.1 400"), std::string::npos) << refused;
  EXPECT_NE(refused.find("Header 'Last-Event-ID' must be the id of an event this stream sent"),
            std::string::npos)
      << refused;
}

// A client that missed more than one replay holds gets that much, and the stream ends: it
// reconnects with the last id it got and is given the next part.
TEST(HttpsServer, SseStreamThatMissedMoreThanAReplayHoldsEndsAfterIt) {
  ApiHarness h;
  {
    std::lock_guard lock(h.events.mu);
    h.events.missed.lines = {R"({"seq":2,"kind":"admin"})", R"({"seq":3,"kind":"admin"})"};
    h.events.missed.more = true;
  }
  auto c = h.client();
  c->write_raw("GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\nAuthorization: " +
               h.token(Role::kAuditor) + "\r\n\r\n");
  const auto got = c->read_until("id: 3\n");
  EXPECT_NE(got.find("id: 2\n"), std::string::npos) << got;
  EXPECT_TRUE(c->closed_by_peer());
  EXPECT_EQ(h.events.subscribers(), 0u);
  EXPECT_TRUE(h.wait_for_tasks(2)) << h.registry.active_count() << " tasks left";
}

// What a reconnecting client missed cannot be read (a damaged record): the stream is answered
// 200 and ends with a comment saying why, so that EventSource reconnects later; an error status
// would make it give up for good.
TEST(HttpsServer, SseStreamWhoseMissedRecordsCannotBeReadEndsAndIsNotRefused) {
  ApiHarness h;
  {
    std::lock_guard lock(h.events.mu);
    h.events.after_error = make_error(Code::ERR_UNAVAILABLE, "journal record 3 is damaged");
  }
  auto c = h.client();
  c->write_raw("GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 1\r\nAuthorization: " +
               h.token(Role::kAuditor) + "\r\n\r\n");
  const auto got = c->read_until("reconnect later\n\n");
  EXPECT_NE(got.find("HTTP/1.1 200"), std::string::npos) << got;
  EXPECT_NE(got.find(": stream open\n\n: the records missed cannot be read now (journal record 3 "
                     "is damaged); reconnect later\n\n"),
            std::string::npos)
      << got;
  EXPECT_TRUE(c->closed_by_peer());
  EXPECT_EQ(h.events.subscribers(), 0u);
}

// Requests held up by the store (a stalled disk) take both threads for blocking handlers; an
// operator's unlock runs on threads of its own and is answered at once, not after them.
TEST(HttpsServer, ADoorCommandIsNotQueuedBehindRequestsAStalledStoreHoldsUp) {
  ApiHarness h([](Config& c) { c.api.request_timeout_ms = 1500; });
  h.resources.get_delay = std::chrono::milliseconds(4000);
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      try {
        h.call("GET", "/v1/sites/hq", "", Role::kAuditor);  // 504 after 1.5 s
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what();
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both threads taken
  EXPECT_EQ(h.call("POST", "/v1/doors/d1/unlock", R"({"reason":"fire"})", Role::kOperator).status,
            200);
  for (auto& t : readers) t.join();
  // The two held-up jobs end before the harness (and the io_context their replies use) goes.
  for (int i = 0; i < 1000 && h.resources.gets_done < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(h.resources.gets_done, 2);
}

TEST(HttpsServer, ARequestThatTimedOutInTheQueueNeverRuns) {
  // 1 s, not less: the request timer also bounds the TLS handshake (slow under a sanitizer).
  ApiHarness h([](Config& c) { c.api.request_timeout_ms = 1000; });
  h.devices.unlock_delay = std::chrono::milliseconds(4000);  // a stalled journal
  const std::string body = R"({"reason":"test"})";
  // Two unlocks take both threads of the door commands for four seconds; the third waits in the
  // queue past its deadline. All three callers are told 504 after 1 s.
  std::vector<std::thread> callers;
  std::vector<int> statuses(3);
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&, i] {
      if (i == 2) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      try {
        statuses[static_cast<std::size_t>(i)] =
            h.call("POST", "/v1/doors/d1/unlock", body, Role::kOperator).status;
      } catch (const std::exception& e) {  // a failure of this caller, not of the whole binary
        ADD_FAILURE() << "caller " << i << ": " << e.what();
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(statuses, (std::vector<int>{504, 504, 504}));
  auto unlocked = [&] {
    std::lock_guard lock(h.devices.mu);
    return h.devices.unlocked.size();
  };
  for (int i = 0; i < 1000 && unlocked() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(unlocked(), 2u);
  // Had the third one run, it would have finished within another 4 s.
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));
  EXPECT_EQ(unlocked(), 2u) << "the queued one was dropped, not run late";
}

TEST(HttpsServer, ConnectionsBeyondTheLimitAreRefusedUntilOneCloses) {
  ApiHarness h([](Config& c) { c.api.max_connections = 2; });
  auto a = h.client();
  auto b = h.client();
  ASSERT_TRUE(a->connected() && b->connected());
  auto refused = h.client();
  EXPECT_FALSE(refused->connected()) << "a third connection over the limit of 2";
  a.reset();
  for (int i = 0; i < 500 && h.server->open_connections() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(h.server->open_connections(), 1u);
  auto again = h.client();
  EXPECT_TRUE(again->connected()) << "the closed one's place is free again";
}

TEST(HttpsServer, SseStreamEndsWhenItsTokenExpires) {
  ApiHarness h;
  auto c = h.client();
  // `exp` is in whole seconds (rounded down): 3 s leaves 2 to 3 s, enough to open the stream
  // and well inside the client's 10 s read timeout.
  const auto token = h.tokens.sign("short-lived", Role::kAuditor,
                                   SystemClock::instance().now() + std::chrono::seconds(3),
                                   h.account_tag_for("short-lived", Role::kAuditor));
  c->write_raw("GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
               "\r\n\r\n");
  ASSERT_NE(c->read_until(": stream open\n\n").find(": stream open"), std::string::npos);
  // No record and no keep-alive comes within the client's read timeout: only the expiry ends it.
  EXPECT_TRUE(c->closed_by_peer());
  EXPECT_TRUE(h.wait_for_tasks(2)) << h.registry.active_count() << " tasks left";
}

TEST(HttpsServer, StopEndsOpenStreamsAndConnections) {
  ApiHarness h;
  auto c = h.client();
  c->write_raw("GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: " +
               h.token(Role::kAuditor) + "\r\n\r\n");
  ASSERT_NE(c->read_until(": stream open\n\n").find(": stream open"), std::string::npos);
  auto idle = h.client();
  ASSERT_TRUE(idle->connected());
  h.server->stop();
  EXPECT_EQ(h.registry.active_count(), 0u);
  EXPECT_TRUE(c->closed_by_peer());
  EXPECT_TRUE(idle->closed_by_peer());
}

TEST(OpsListener, MetricsPassPromtoolAndHealthAndReadiness) {
  ApiHarness h;
  ASSERT_EQ(h.call("GET", "/v1/health/sli", "", Role::kAuditor).status, 200);
  h.call("GET", "/v1/doors/none", "", Role::kAuditor);
  auto metrics = http_get(h.server->ops_port(), "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("castellan_http_requests_total{method=\"GET\",route=\"/v1/health/"
                              "sli\",status=\"200\"} 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(
      metrics.body.find(
          "castellan_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/doors/{id}\""),
      std::string::npos);
  EXPECT_NE(metrics.body.find("castellan_test_up 1"), std::string::npos);
  const std::string file = h.dir + "/metrics.txt";
  std::ofstream(file) << metrics.body;
  EXPECT_EQ(
      std::system(
          ("promtool check metrics < " + file + " > " + h.dir + "/promtool.out 2>&1").c_str()),
      0)
      << std::ifstream(h.dir + "/promtool.out").rdbuf();

  EXPECT_EQ(http_get(h.server->ops_port(), "/healthz").status, 200);
  EXPECT_EQ(http_get(h.server->ops_port(), "/readyz").status, 200);
  h.readiness[2].ready = false;
  auto not_ready = http_get(h.server->ops_port(), "/readyz");
  EXPECT_EQ(not_ready.status, 503);
  EXPECT_NE(not_ready.body.find("\"broker\":\"down\""), std::string::npos) << not_ready.body;
}

// "Bearer <token>" of a log-in as the test account "eve" with `password`.
std::string eves_token(ApiHarness& h, const std::string& password) {
  auto r = h.client()->request("POST", "/v1/auth/token",
                               R"({"username":"eve","password":")" + password + R"("})");
  EXPECT_EQ(r.status, 200) << r.body;
  return "Bearer " + std::string(body_of(r).at("token").as_string());
}

// A stolen token must not outlive the answer to its theft: a new password, a new role or the
// account's deletion refuses every token issued before it.
TEST(HttpsServer, ATokenIsRefusedOnceItsAccountChangesPasswordOrRoleOrIsDeleted) {
  ApiHarness h;
  ASSERT_TRUE(
      h.accounts.create({"eve", h.hasher.hash("first-password").value(), Role::kAdmin}).ok());
  const auto log_in = [&](const std::string& password) { return eves_token(h, password); };
  const auto as = [&](const std::string& token) {
    return h.client()->request("GET", "/v1/accounts", "", {{"Authorization", token}});
  };
  const std::string before = log_in("first-password");
  ASSERT_EQ(as(before).status, 200);

  ASSERT_EQ(h.call("PATCH", "/v1/accounts/eve", R"({"password":"second-password"})").status, 200);
  const auto refused = as(before);
  expect_error(refused, 401, 40101);
  EXPECT_NE(refused.body.find("issued before its account's password or role changed"),
            std::string::npos)
      << refused.body;
  const std::string after_password = log_in("second-password");
  EXPECT_EQ(as(after_password).status, 200);

  ASSERT_EQ(h.call("PATCH", "/v1/accounts/eve", R"({"role":"auditor"})").status, 200);
  expect_error(as(after_password), 401, 40101);
  const std::string auditor = log_in("second-password");
  expect_error(as(auditor), 403, 40311);  // the new role, not the old one

  ASSERT_EQ(h.call("DELETE", "/v1/accounts/eve").status, 204);
  expect_error(as(auditor), 401, 40101);
}

// An open stream is no way around the check either: once the account changes, the stream
// ends before it sends another record.
TEST(HttpsServer, AnOpenEventStreamEndsOnceItsAccountChangesPasswordOrIsDeleted) {
  ApiHarness h;
  ASSERT_TRUE(
      h.accounts.create({"eve", h.hasher.hash("first-password").value(), Role::kAuditor}).ok());
  const auto open_stream = [&](const std::string& password) {
    auto c = h.client();
    c->write_raw("GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                 eves_token(h, password) + "\r\n\r\n");
    EXPECT_NE(c->read_until(": stream open\n\n").find(": stream open"), std::string::npos);
    for (int i = 0; i < 500 && h.events.subscribers() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(h.events.subscribers(), 1u);
    return c;
  };
  const auto ends_before = [&](HttpsClient& c, const std::string& record) {
    h.events.publish(record);
    const auto got = c.read_until(record);  // returns early if the server closes the stream
    EXPECT_EQ(got.find(record), std::string::npos) << got;
    EXPECT_TRUE(c.closed_by_peer());
  };

  auto first = open_stream("first-password");
  h.events.publish(R"({"seq":7})");
  EXPECT_NE(first->read_until(R"({"seq":7})").find(R"(data: {"seq":7})"), std::string::npos);
  ASSERT_EQ(h.call("PATCH", "/v1/accounts/eve", R"({"password":"second-password"})").status, 200);
  ends_before(*first, R"({"seq":8})");
  EXPECT_TRUE(h.wait_for_tasks(2)) << h.registry.active_count() << " tasks left";

  auto second = open_stream("second-password");
  ASSERT_EQ(h.call("DELETE", "/v1/accounts/eve").status, 204);
  ends_before(*second, R"({"seq":9})");
  EXPECT_TRUE(h.wait_for_tasks(2)) << h.registry.active_count() << " tasks left";
}

TEST(HttpsServer, AccountsCrudNeverReturnsPasswords) {
  ApiHarness h;
  auto created = h.call("POST", "/v1/accounts",
                        R"({"username":"ops1","password":"long-enough","role":"operator"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.body.find("password"), std::string::npos);
  expect_error(h.call("POST", "/v1/accounts",
                      R"({"username":"ops1","password":"long-enough","role":"operator"})"),
               409, 40901);
  expect_error(
      h.call("POST", "/v1/accounts", R"({"username":"ops2","password":"short","role":"operator"})"),
      400, 40001);
  expect_error(h.call("POST", "/v1/accounts",
                      R"({"username":"ops2","password":"long-enough","role":"boss"})"),
               400, 40001);
  auto list = h.call("GET", "/v1/accounts");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find("password"), std::string::npos);
  EXPECT_EQ(list.body.find("argon2"), std::string::npos);
  auto patched = h.call("PATCH", "/v1/accounts/ops1", R"({"role":"auditor"})");
  ASSERT_EQ(patched.status, 200);
  EXPECT_EQ(body_of(patched).at("role").as_string(), "auditor");
  EXPECT_EQ(h.accounts.find("ops1").value()->role, Role::kAuditor);
  EXPECT_EQ(h.call("DELETE", "/v1/accounts/ops1").status, 204);
  expect_error(h.call("DELETE", "/v1/accounts/ops1"), 404, 40402);
}

TEST(HttpsServer, FaultInjectionIs404WhenDisabled) {
  ApiHarness off;
  expect_error(off.call("POST", "/v1/debug/faults", R"({"kind":"leak_tasks","count":1})"), 404,
               40402);
  // Whatever the role: a switched-off route does not exist for anyone (403 would say it does).
  expect_error(
      off.call("POST", "/v1/debug/faults", R"({"kind":"leak_tasks","count":1})", Role::kAuditor),
      404, 40402);
  expect_error(off.call("POST", "/v1/debug/faults", "{}", std::nullopt), 401, 40101);
  EXPECT_TRUE(off.runtime_port.faults.empty());
  ApiHarness on([](Config& c) { c.debug.fault_injection = true; });
  EXPECT_EQ(on.call("POST", "/v1/debug/faults", R"({"kind":"leak_tasks","count":1})").status, 202);
  EXPECT_EQ(on.runtime_port.faults.size(), 1u);
  expect_error(
      on.call("POST", "/v1/debug/faults", R"({"kind":"leak_tasks","count":1})", Role::kOperator),
      403, 40311);
}

}  // namespace
}  // namespace castellan::api::testing
