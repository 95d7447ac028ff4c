// The API over the real parts: SQLite store + ResourceService, decision engine, journal on
// disk. Validation errors of each resource, verify journaled with source "api", SSE of a
// journaled decision, admin records, accounts in the store.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <atomic>
#include <thread>

#include <csignal>

#include <boost/json.hpp>

#include "access/engine.hpp"
#include "api/engine_verify.hpp"
#include "api/journal_events.hpp"
#include "api/store_adapters.hpp"
#include "core/crypto.hpp"
#include "harness.hpp"
#include "journal/journal.hpp"
#include "journal/record.hpp"
#include "runtime/io_pool.hpp"
#include "store/resource_service.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::api::testing {
namespace {
namespace json = boost::json;

struct RealParts {
  std::string dir = make_temp_dir();
  std::unique_ptr<store::SqliteStore> db = store::SqliteStore::open(dir + "/castellan.db").value();
  access::SnapshotHolder holder;
  access::PassUseLedger ledger;
  store::ResourceService service{*db, holder, ledger, "card-secret"};
  access::DecisionEngine engine{holder};
  std::unique_ptr<journal::Journal> journal =
      journal::Journal::open(journal::JournalOptions{dir + "/journal"}, SystemClock::instance())
          .value();
  StoreResources resources{service};
  StoreAccounts accounts{*db};
  JournalEvents events{*journal};
  EngineVerify verify{engine, *journal, SystemClock::instance(), "card-secret"};
  RealParts() { EXPECT_TRUE(service.start().ok()); }
  ~RealParts() {
    journal.reset();
    std::filesystem::remove_all(dir);
  }
};

class RealApi : public ::testing::Test {
 protected:
  RealParts parts;
  ApiHarness h{{}, PortOverrides{&parts.resources, &parts.events, &parts.accounts, &parts.verify}};

  HttpResult post(const std::string& path, const std::string& body) {
    return h.call("POST", path, body);
  }
  void created(const std::string& path, const std::string& body) {
    auto r = post(path, body);
    ASSERT_EQ(r.status, 201) << path << " " << body << " -> " << r.body;
  }
  void seed() {
    created("/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})");
    created("/v1/doors", R"({"id":"d1","site":"hq","name":"Main","controller":"ctl-1"})");
    created("/v1/users", R"({"id":"u1","name":"Ada"})");
    created(
        "/v1/schedules",
        R"({"id":"always","windows":[{"days":["mon","tue","wed","thu","fri","sat","sun"],"from":"00:00","to":"23:59"}]})");
    created("/v1/groups", R"({"id":"staff","doors":["d1"],"members":["u1"]})");
    created("/v1/cards", R"({"id":"c1","uid":"04A1B2C3","user":"u1"})");
  }
};

std::int64_t code_of(const HttpResult& r) {
  auto v = json::parse(r.body);
  return v.at("error").at("code").as_int64();
}

#define EXPECT_API_ERROR(result, status_, code_) \
  do {                                           \
    const auto& _r = (result);                   \
    EXPECT_EQ(_r.status, status_) << _r.body;    \
    if (_r.status == status_) {                  \
      EXPECT_EQ(code_of(_r), code_) << _r.body;  \
    }                                            \
  } while (0)

TEST_F(RealApi, EachResourceRejectsMissingFieldsWrongTypesAndUnknownReferences) {
  seed();
  // Missing required field.
  EXPECT_API_ERROR(post("/v1/sites", R"({"id":"s2","name":"S2"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/doors", R"({"id":"d2","name":"D2","controller":"c"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/users", R"({"id":"u2"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/cards", R"({"id":"c2","user":"u1"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/groups", R"({"id":"g2"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/schedules", R"({"id":"s2"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/holidays", R"({"id":"h1","site":"hq","name":"X"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/passes", R"({"holder":"V","doors":["d1"]})"), 400, 40001);
  // Wrong type.
  EXPECT_API_ERROR(post("/v1/sites", R"({"id":"s2","name":7,"tz":"Europe/Berlin"})"), 400, 40001);
  EXPECT_API_ERROR(
      post("/v1/doors", R"({"id":"d2","site":"hq","name":"D2","controller":"c","unlock_ms":"5s"})"),
      400, 40001);
  EXPECT_API_ERROR(post("/v1/users", R"({"id":"u2","name":"B","status":true})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/groups", R"({"id":"g2","doors":"d1"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/schedules", R"({"id":"s2","windows":{}})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/holidays", R"({"id":"h1","site":"hq","date":20261225,"name":"X"})"),
                   400, 40001);
  // Unknown reference.
  EXPECT_API_ERROR(
      post("/v1/doors", R"({"id":"d2","site":"nowhere","name":"D2","controller":"c"})"), 404,
      40402);
  EXPECT_API_ERROR(post("/v1/cards", R"({"id":"c2","uid":"04A1B2C4","user":"ghost"})"), 404, 40402);
  EXPECT_API_ERROR(post("/v1/groups", R"({"id":"g2","doors":["nodoor"]})"), 404, 40402);
  EXPECT_API_ERROR(post("/v1/groups", R"({"id":"g2","doors":["d1"],"schedule":"nosched"})"), 404,
                   40402);
  EXPECT_API_ERROR(
      post("/v1/holidays", R"({"id":"h1","site":"nowhere","date":"2026-12-25","name":"X"})"), 404,
      40402);
  // Bad time zone and bad schedule time.
  EXPECT_API_ERROR(post("/v1/sites", R"({"id":"s2","name":"S2","tz":"Mars/Olympus"})"), 400, 40001);
  EXPECT_API_ERROR(post("/v1/schedules",
                        R"({"id":"s2","windows":[{"days":["mon"],"from":"25:00","to":"18:00"}]})"),
                   400, 40001);
  EXPECT_API_ERROR(
      post("/v1/schedules",
           R"({"id":"s2","windows":[{"days":["moonday"],"from":"08:00","to":"18:00"}]})"),
      400, 40001);
  // Duplicate id and a delete that something refers to.
  EXPECT_API_ERROR(post("/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})"), 409,
                   40901);
  EXPECT_API_ERROR(h.call("DELETE", "/v1/sites/hq"), 409, 40901);
  EXPECT_API_ERROR(h.call("GET", "/v1/doors/none"), 404, 40402);
  // Nothing accepted was lost.
  auto doors = h.call("GET", "/v1/doors", "", Role::kAuditor);
  ASSERT_EQ(doors.status, 200);
  EXPECT_EQ(json::parse(doors.body).at("items").as_array().size(), 1u);
}

TEST_F(RealApi, VerifyIsDecidedAndJournaledWithSourceApiAndTheTraceId) {
  seed();
  auto c = h.client();
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto r = c->request("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"04a1b2c3"})",
                      {{"Authorization", h.token(Role::kOperator)},
                       {"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("decision").as_string(), "grant");
  auto unknown = h.call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"DEADBEEF"})",
                        Role::kOperator);
  EXPECT_EQ(json::parse(unknown.body).at("code").as_int64(), 40304);
  auto events = h.call("GET", "/v1/events?kind=decision&limit=10", "", Role::kAuditor);
  ASSERT_EQ(events.status, 200) << events.body;
  const auto list = json::parse(events.body).at("events").as_array();
  ASSERT_EQ(list.size(), 2u);
  const auto& granted = list[1].as_object();  // newest first
  EXPECT_EQ(granted.at("source").as_string(), "api");
  EXPECT_EQ(granted.at("trace_id").as_string(), trace);
  EXPECT_EQ(granted.at("user").as_string(), "u1");
  EXPECT_EQ(granted.at("gateway_ip").as_string(), "127.0.0.1");
  EXPECT_EQ(granted.at("dir").as_string(), "in");  // the default; replayed for anti-passback
  EXPECT_EQ(events.body.find("04a1b2c3"), std::string::npos);  // raw uid never returned
}

// The journal refuses writes (the file size limit stands in for a full disk): a fail-safe door
// is answered "grant" with 50301, any other door gets 503 — never a decision without its record.
// A number too large for a double parsed as infinity and was stored as `Infinity` (not JSON):
// the collection then answered 503 and the server could not start. It is a 400 now, and the
// store is left as it was.
TEST_F(RealApi, ANumberTooLargeForADoubleIs400AndNothingIsStored) {
  EXPECT_API_ERROR(post("/v1/sites", R"({"id":"x","name":"X","tz":"UTC","note":1e400})"), 400,
                   40001);
  EXPECT_API_ERROR(post("/v1/sites", R"({"id":"x","name":"X","tz":"UTC","n":[1,{"m":-1e999}]})"),
                   400, 40001);
  created("/v1/sites", R"({"id":"x","name":"X","tz":"UTC","note":1e300})");
  EXPECT_API_ERROR(h.call("PATCH", "/v1/sites/x", R"({"note":1e400})"), 400, 40001);
  auto got = h.call("GET", "/v1/sites/x", "", Role::kAuditor);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(json::parse(got.body).at("note").as_double(), 1e300);
  store::ResourceService again{*parts.db, parts.holder, parts.ledger, "card-secret"};
  EXPECT_TRUE(again.start().ok()) << "a restart reads every stored document";
}

// A body nested deeper than 16 levels is refused before anything is done: the admin record that
// quotes a body must fit the journal's own depth limit (32), or the change went unaudited.
TEST_F(RealApi, ABodyNestedDeeperThan16LevelsIs400) {
  auto nested = [](int depth) {
    std::string inner = "1";
    for (int i = 1; i < depth; ++i) inner = "{\"n\":" + inner + "}";
    return R"({"id":"x","name":"X","tz":"UTC","note":)" + inner + "}";
  };
  auto deep = post("/v1/sites", nested(17));
  EXPECT_API_ERROR(deep, 400, 40001);
  EXPECT_NE(deep.body.find("deeper than 16"), std::string::npos) << deep.body;
  created("/v1/sites", nested(16));
  std::size_t audited = 0;
  for (int i = 0; i < 100 && audited == 0; ++i) {  // the admin record is appended asynchronously
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto audit = h.call("GET", "/v1/events?kind=admin&limit=10", "", Role::kAuditor);
    ASSERT_EQ(audit.status, 200) << audit.body;
    audited = json::parse(audit.body).at("events").as_array().size();
  }
  EXPECT_EQ(audited, 1u) << "the change is audited";
}

TEST_F(RealApi, VerifyWhenTheJournalCannotWriteFollowsTheDoorsFailMode) {
  seed();
  created(
      "/v1/doors",
      R"({"id":"exit","site":"hq","name":"Fire exit","controller":"ctl-2","fail_mode":"safe"})");
  created("/v1/doors",
          R"({"id":"gate","site":"hq","name":"Turnstile","controller":"ctl-3","apb":true})");
  created("/v1/groups", R"({"id":"exits","doors":["exit","gate"],"members":["u1"]})");
  EXPECT_API_ERROR(
      h.call("POST", "/v1/verify",
             R"({"site":"hq","door":"d1","card":"04a1b2c3","dir":"sideways"})", Role::kOperator),
      400, 40001);

  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead
  rlimit tiny = old;
  tiny.rlim_cur = 1;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  auto safe = h.call("POST", "/v1/verify", R"({"site":"hq","door":"exit","card":"04a1b2c3"})",
                     Role::kOperator);
  auto secure = h.call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"04a1b2c3"})",
                       Role::kOperator);
  auto gate = h.call("POST", "/v1/verify", R"({"site":"hq","door":"gate","card":"04a1b2c3"})",
                     Role::kOperator);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, SIG_DFL);

  ASSERT_EQ(safe.status, 200) << safe.body;
  EXPECT_EQ(json::parse(safe.body).at("decision").as_string(), "grant");
  EXPECT_EQ(json::parse(safe.body).at("code").as_int64(), 50301);
  EXPECT_API_ERROR(secure, 503, 50301);
  EXPECT_API_ERROR(gate, 503, 50301);

  // Space is back: the next decision is journaled and nothing half-written is in the way.
  auto later = h.call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"04a1b2c3"})",
                      Role::kOperator);
  ASSERT_EQ(later.status, 200) << later.body;
  EXPECT_EQ(json::parse(later.body).at("code").as_int64(), 0);
  // The 503 at the turnstile let nobody in, so the card is not inside (not 40307).
  auto in = h.call("POST", "/v1/verify", R"({"site":"hq","door":"gate","card":"04a1b2c3"})",
                   Role::kOperator);
  ASSERT_EQ(in.status, 200) << in.body;
  EXPECT_EQ(json::parse(in.body).at("code").as_int64(), 0);
  auto events = h.call("GET", "/v1/events?kind=decision&limit=10", "", Role::kAuditor);
  ASSERT_EQ(json::parse(events.body).at("events").as_array().size(), 2u) << events.body;

  // In lockdown, the fire exit's failure is a deny: a failed disk never opens it.
  ASSERT_TRUE(parts.service.set_lockdown("exit", true, "ops").ok());
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  std::signal(SIGXFSZ, SIG_IGN);
  auto locked = h.call("POST", "/v1/verify", R"({"site":"hq","door":"exit","card":"04a1b2c3"})",
                       Role::kOperator);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, SIG_DFL);
  EXPECT_API_ERROR(locked, 503, 50301);
}

// A full disk: the journal cannot take the admin record of a change, so the change is refused
// and not made. Once there is room again the journal finds out by itself (nothing else is
// appended here), and changes are taken again.
TEST_F(RealApi, AChangeIsRefusedWhileTheJournalCannotRecordItAndTakenOnceItCan) {
  seed();
  // The harness makes the operator's account at its first call: before the store is full.
  ASSERT_EQ(h.call("GET", "/v1/sites?limit=1", "", Role::kOperator).status, 200);
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit tiny = old;
  tiny.rlim_cur = 1;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &tiny), 0);
  auto failed = h.call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"04a1b2c3"})",
                       Role::kOperator);
  auto refused = h.call("POST", "/v1/sites", R"({"id":"lab","name":"Lab","tz":"UTC"})");
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  std::signal(SIGXFSZ, SIG_DFL);
  EXPECT_API_ERROR(failed, 503, 50301);
  EXPECT_API_ERROR(refused, 503, 50301);
  EXPECT_API_ERROR(h.call("GET", "/v1/sites/lab", "", Role::kAuditor), 404, 40402);

  int status = 0;
  for (int i = 0; i < 500 && status != 201; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    status = h.call("POST", "/v1/sites", R"({"id":"lab","name":"Lab","tz":"UTC"})").status;
  }
  EXPECT_EQ(status, 201) << "changes still refused 10 s after the disk had room again";
  auto events = h.call("GET", "/v1/events?kind=admin&limit=10", "", Role::kAuditor);
  EXPECT_NE(events.body.find(R"("collection":"sites","id":"lab")"), std::string::npos)
      << events.body;
}

// The two `decision` records of the verify answered by `answer` (its trace_id), newest first:
// what the client got, then what the engine decided. Waits for the second (failure timeout).
std::vector<json::object> records_of(ApiHarness& h, const HttpResult& answer) {
  const auto body = json::parse(answer.body);
  const auto* error = body.as_object().if_contains("error");
  const std::string trace_id(error ? error->at("trace_id").as_string()
                                   : body.at("trace_id").as_string());
  std::vector<json::object> found;
  for (int i = 0; i < 1000 && found.size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto events = h.call("GET", "/v1/events?kind=decision&limit=20", "", Role::kAuditor);
    found.clear();
    const auto page = json::parse(events.body);
    for (const auto& e : page.at("events").as_array()) {
      if (e.at("trace_id").as_string() == trace_id) found.push_back(e.as_object());
    }
  }
  return found;
}

// The journal stalls past api.request_timeout_ms: the client gets 504, and the grant the engine
// made meanwhile is given back and journaled as what the client got (deny 50401, same
// trace_id) — so the card is not inside the anti-passback gate it never went through.
TEST(RealApiTimeout, AVerifyAnswered504LeavesTheCardOutsideAndSaysSoInTheJournal) {
  RealParts parts;
  ApiHarness h{[](Config& c) { c.api.request_timeout_ms = 1000; },
               PortOverrides{&parts.resources, &parts.events, &parts.accounts, &parts.verify}};
  for (auto [path, body] :
       {std::pair{"/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})"},
        {"/v1/doors",
         R"({"id":"gate","site":"hq","name":"Turnstile","controller":"c","apb":true})"},
        {"/v1/users", R"({"id":"u1","name":"Ada"})"},
        {"/v1/groups", R"({"id":"staff","doors":["gate"],"members":["u1"]})"},
        {"/v1/cards", R"({"id":"c1","uid":"04A1B2C3","user":"u1"})"}}) {
    ASSERT_EQ(h.call("POST", path, body).status, 201) << path;
  }
  const std::string in = R"({"site":"hq","door":"gate","card":"04a1b2c3","dir":"in"})";
  parts.journal->stall_for(std::chrono::milliseconds(3000));
  auto late = h.call("POST", "/v1/verify", in, Role::kOperator);
  EXPECT_API_ERROR(late, 504, 50401);

  // Once the stalled record is on disk, its 504 follows it into the journal.
  const auto records = records_of(h, late);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].at("code").as_int64(), 50401) << "newest first: what the client got";
  EXPECT_EQ(records[1].at("code").as_int64(), 0) << "what the engine decided";

  auto again = h.call("POST", "/v1/verify", in, Role::kOperator);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body).at("code").as_int64(), 0) << "not 40307: nobody went in";
}

// The decision deadline (decision.timeout_ms, contract §7): a verify whose record is not durable
// within it is answered as a door would be — 504 with 50401 at a fail-secure door, the grant
// given back; a grant with 50401 at a fail-safe door, but never in lockdown — long before the
// transport's request timeout. Once the record is durable, the journal says what the client got.
TEST(RealApiDeadline, AVerifyNotOnRecordWithinTheDecisionDeadlineIsAnswered50401) {
  RealParts parts;
  runtime::IoPool timers(1);
  EngineVerify verify{parts.engine, *parts.journal, SystemClock::instance(), "card-secret",
                      // 1 s, not the 300 ms default: the last verify below runs on a real
                      // disk, which a loaded CI machine can hold up for more than 300 ms.
                      VerifyDeadline{timers.executor(), std::chrono::milliseconds(1000)}};
  ApiHarness h{{}, PortOverrides{&parts.resources, &parts.events, &parts.accounts, &verify}};
  for (auto [path, body] :
       {std::pair{"/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})"},
        {"/v1/doors",
         R"({"id":"gate","site":"hq","name":"Turnstile","controller":"c","apb":true})"},
        {"/v1/doors",
         R"({"id":"exit","site":"hq","name":"Fire exit","controller":"c2","fail_mode":"safe"})"},
        {"/v1/users", R"({"id":"u1","name":"Ada"})"},
        {"/v1/groups", R"({"id":"staff","doors":["gate","exit"],"members":["u1"]})"},
        {"/v1/cards", R"({"id":"c1","uid":"04A1B2C3","user":"u1"})"}}) {
    ASSERT_EQ(h.call("POST", path, body).status, 201) << path;
  }
  const std::string gate = R"({"site":"hq","door":"gate","card":"04a1b2c3","dir":"in"})";
  const std::string exit = R"({"site":"hq","door":"exit","card":"04a1b2c3"})";
  parts.journal->stall_for(std::chrono::milliseconds(5000));  // outlasts the 3 deadlines below
  auto secure = h.call("POST", "/v1/verify", gate, Role::kOperator);
  EXPECT_API_ERROR(secure, 504, 50401);
  auto safe = h.call("POST", "/v1/verify", exit, Role::kOperator);
  ASSERT_EQ(safe.status, 200) << safe.body;
  EXPECT_EQ(json::parse(safe.body).at("decision").as_string(), "grant");
  EXPECT_EQ(json::parse(safe.body).at("code").as_int64(), 50401);
  ASSERT_TRUE(parts.service.set_lockdown("exit", true, "ops").ok());
  // A fail-safe door in lockdown is not opened by a slow disk.
  EXPECT_API_ERROR(h.call("POST", "/v1/verify", exit, Role::kOperator), 504, 50401);

  // Once the stalled records are on disk, each 50401 follows its decision into the journal.
  const auto at_gate = records_of(h, secure);
  ASSERT_EQ(at_gate.size(), 2u);
  EXPECT_EQ(at_gate[0].at("code").as_int64(), 50401) << "newest first: what the client got";
  EXPECT_EQ(at_gate[0].at("decision").as_string(), "deny");
  EXPECT_EQ(at_gate[0].at("outcome").as_string(), "timeout");
  EXPECT_EQ(at_gate[0].at("fail_mode").as_string(), "secure");
  EXPECT_EQ(at_gate[1].at("code").as_int64(), 0) << "what the engine decided";
  const auto at_exit = records_of(h, safe);
  ASSERT_EQ(at_exit.size(), 2u);
  EXPECT_EQ(at_exit[0].at("decision").as_string(), "grant");
  EXPECT_EQ(at_exit[0].at("code").as_int64(), 50401);
  EXPECT_TRUE(at_exit[0].at("granted_by_fail_mode").as_bool());

  auto again = h.call("POST", "/v1/verify", gate, Role::kOperator);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(json::parse(again.body).at("code").as_int64(), 0) << "not 40307: nobody went in";
}

TEST_F(RealApi, OperatorsListChangeAndRevokePasses) {
  seed();
  const auto verify = [&] {
    auto r = h.call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"0BADC0DE"})",
                    Role::kOperator);
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body).at("code").as_int64();
  };
  auto issued =
      h.call("POST", "/v1/passes",
             R"({"card":"0BADC0DE","holder":"Visitor","doors":["d1"],)"
             R"("valid_from":"2020-01-01T00:00:00Z","valid_until":"2099-01-01T00:00:00Z",)"
             R"("max_uses":5})",
             Role::kOperator);
  ASSERT_EQ(issued.status, 201) << issued.body;
  const std::string id(json::parse(issued.body).at("id").as_string());
  EXPECT_EQ(verify(), 0);
  // Its record names the pass and the use it took (read back at start after a crash).
  auto decided = h.call("GET", "/v1/events?kind=decision&limit=1", "", Role::kAuditor);
  ASSERT_EQ(decided.status, 200) << decided.body;
  const auto record = json::parse(decided.body).at("events").as_array().at(0).as_object();
  EXPECT_EQ(record.at("pass").as_string(), id);
  EXPECT_EQ(record.at("pass_use").as_int64(), 1);

  auto listed = h.call("GET", "/v1/passes", "", Role::kAuditor);
  ASSERT_EQ(listed.status, 200) << listed.body;
  const auto items = json::parse(listed.body).at("items").as_array();
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].at("id").as_string(), id);
  EXPECT_EQ(items[0].at("uses_left").as_int64(), 4);
  EXPECT_EQ(listed.body.find("0BADC0DE"), std::string::npos);  // never the raw uid
  EXPECT_EQ(listed.body.find("0badc0de"), std::string::npos);

  auto changed = h.call("PATCH", "/v1/passes/" + id, R"({"max_uses":1})", Role::kOperator);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(json::parse(changed.body).at("uses_left").as_int64(), 0);
  EXPECT_EQ(verify(), 40308);
  EXPECT_API_ERROR(h.call("PATCH", "/v1/passes/" + id, R"({"card":"04A1B2C3"})", Role::kOperator),
                   400, 40001);
  EXPECT_API_ERROR(h.call("PATCH", "/v1/passes/" + id, R"({"max_uses":2})", Role::kAuditor), 403,
                   40311);

  // Revoked: it stops granting at once, and is gone.
  EXPECT_EQ(h.call("DELETE", "/v1/passes/" + id, "", Role::kOperator).status, 204);
  EXPECT_EQ(verify(), 40304);
  EXPECT_API_ERROR(h.call("GET", "/v1/passes/" + id, "", Role::kAuditor), 404, 40402);
  EXPECT_API_ERROR(h.call("DELETE", "/v1/passes/" + id, "", Role::kOperator), 404, 40402);
  // Nothing else holds the door now: the pass no longer blocks deleting it (after its group).
  EXPECT_EQ(h.call("DELETE", "/v1/groups/staff").status, 204);
  EXPECT_EQ(h.call("DELETE", "/v1/doors/d1").status, 204);

  auto admin = h.call("GET", "/v1/events?kind=admin&limit=100", "", Role::kAuditor);
  for (const char* action : {"\"issue_pass\"", "\"update\"", "\"delete\""}) {
    EXPECT_NE(admin.body.find(action), std::string::npos) << action << " " << admin.body;
  }
}

TEST_F(RealApi, SseReceivesADecisionJournaledAfterTheStreamOpened) {
  seed();
  auto stream = h.client();
  stream->write_raw("GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                    h.token(Role::kAuditor) + "\r\n\r\n");
  stream->read_until(": stream open\n\n");
  ASSERT_EQ(h.call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"04A1B2C3"})",
                   Role::kOperator)
                .status,
            200);
  const auto got = stream->read_until("\"kind\":\"decision\"");
  EXPECT_NE(got.find("data: {"), std::string::npos) << got;
  EXPECT_NE(got.find("\"source\":\"api\""), std::string::npos) << got;
}

// Each event of GET /v1/events is the record's export line byte for byte, so a copy taken from
// the API checks out with sha256sum. Before, the lines were parsed and written again, and a
// control character the journal wrote as \u0008 came back as \b: the copy's hash was wrong.
TEST_F(RealApi, EventsAreServedAsJournaledSoACopysHashesCheckOut) {
  journal::JournalRecord record;
  record.kind = journal::RecordKind::resilience;
  record.door = "d1";
  record.req = std::string("r\b\f\x01\x1f\x7f-\xc3\xa9\"\\");
  record.extra = R"({"event":"test","note":"tab\there\bback\fform"})";
  auto appended = parts.journal->append_and_wait(std::move(record));
  ASSERT_TRUE(appended.ok()) << appended.error().message;
  const std::string line = journal::to_json_line(*appended);
  ASSERT_NE(line.find(R"(\u0008)"), std::string::npos) << line;  // the case that was broken

  const std::string body = h.call("GET", "/v1/events?door=d1", "", Role::kAuditor).body;
  const auto at = body.find(line);
  ASSERT_NE(at, std::string::npos) << body << "\nlacks\n" << line;
  // The auditor's check: SHA-256 of the line without its hash member is the hash.
  const auto hash_at = line.rfind(R"(,"hash":")");
  EXPECT_EQ(to_hex(sha256(line.substr(0, hash_at) + "}")), appended->hash);
  // And the page is still JSON a client can read.
  auto page = json::parse(body);
  EXPECT_EQ(page.at("events").as_array().at(0).at("req").as_string(),
            std::string("r\b\f\x01\x1f\x7f-\xc3\xa9\"\\"));
  EXPECT_TRUE(page.at("next_cursor").is_null());
}

// A stream's client that reconnects with the id of the last event it got is sent, from the
// real journal, each record it missed, oldest first, then the new ones.
TEST_F(RealApi, AReconnectingStreamClientGetsTheRecordsItMissedThenTheNewOnes) {
  seed();
  const auto verify = [&] {
    return h
        .call("POST", "/v1/verify", R"({"site":"hq","door":"d1","card":"04A1B2C3"})",
              Role::kOperator)
        .status;
  };
  ASSERT_EQ(verify(), 200);
  const auto seen = json::parse(h.call("GET", "/v1/events?limit=1", "", Role::kAuditor).body)
                        .at("events")
                        .at(0)
                        .at("seq")
                        .as_int64();
  ASSERT_EQ(verify(), 200);
  ASSERT_EQ(verify(), 200);
  auto stream = h.client();
  stream->write_raw(
      "GET /v1/events/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: " + std::to_string(seen) +
      "\r\nAuthorization: " + h.token(Role::kAuditor) + "\r\n\r\n");
  std::string got = stream->read_until("id: " + std::to_string(seen + 2) + "\n");
  ASSERT_EQ(verify(), 200);
  got += stream->read_until("id: " + std::to_string(seen + 3) + "\n");
  EXPECT_EQ(got.find("id: " + std::to_string(seen) + "\n"), std::string::npos) << got;
  const auto first = got.find("id: " + std::to_string(seen + 1) + "\n");
  const auto second = got.find("id: " + std::to_string(seen + 2) + "\n");
  ASSERT_NE(first, std::string::npos) << got;
  EXPECT_LT(first, second) << got;
  EXPECT_NE(got.find("\"kind\":\"decision\""), std::string::npos) << got;

  // What was missed is read a bounded part at a time: the rest is for the next reconnect.
  auto part = parts.events.after(static_cast<std::uint64_t>(seen), 2);
  ASSERT_TRUE(part.ok()) << part.error().message;
  ASSERT_EQ(part->lines.size(), 2u);
  EXPECT_TRUE(part->lines[0].starts_with("{\"seq\":" + std::to_string(seen + 1) + ","));
  EXPECT_TRUE(part->lines[1].starts_with("{\"seq\":" + std::to_string(seen + 2) + ","));
  EXPECT_TRUE(part->more);
  auto rest = parts.events.after(static_cast<std::uint64_t>(seen + 2), 4096);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->lines.size(), 1u);
  EXPECT_FALSE(rest->more);
  auto none = parts.events.after(static_cast<std::uint64_t>(seen + 3), 4096);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->lines.empty());
  EXPECT_FALSE(none->more);
}

// A client whose last record retention has removed since is given the oldest records still
// kept, not an empty part and the stream's end on every reconnect.
TEST(JournalEventsTest, WhatAClientMissedStartsAtTheOldestRecordRetentionKept) {
  const std::string dir = make_temp_dir();
  journal::JournalOptions options{dir};
  options.segment_bytes = 4096;
  options.retention_bytes = 12 * 1024;
  {
    auto journal = journal::Journal::open(options, SystemClock::instance()).value();
    for (int i = 0; i < 200; ++i) {
      journal::JournalRecord r;
      r.kind = journal::RecordKind::decision;
      r.door = "d1";
      r.decision = "grant";
      r.code = 0;
      ASSERT_TRUE(journal->append_and_wait(std::move(r)).ok());
    }
    const auto [oldest, newest] = journal->seq_range();
    ASSERT_GT(oldest, 20u) << "retention removed the first records";
    ASSERT_EQ(newest, 200u);
    JournalEvents events{*journal};
    const auto seq_at = [](const std::string& line) { return line.substr(0, line.find(',')); };
    auto part = events.after(5, 10);
    ASSERT_TRUE(part.ok()) << part.error().message;
    ASSERT_EQ(part->lines.size(), 10u);
    EXPECT_EQ(seq_at(part->lines.front()), "{\"seq\":" + std::to_string(oldest));
    EXPECT_EQ(seq_at(part->lines.back()), "{\"seq\":" + std::to_string(oldest + 9));
    EXPECT_TRUE(part->more);
    auto all = events.after(0, 4096);
    ASSERT_TRUE(all.ok());
    ASSERT_EQ(all->lines.size(), 200 - oldest + 1);
    for (std::size_t i = 0; i < all->lines.size(); ++i) {
      ASSERT_EQ(seq_at(all->lines[i]), "{\"seq\":" + std::to_string(oldest + i));
    }
    EXPECT_FALSE(all->more);
  }
  std::filesystem::remove_all(dir);
}

// A part longer than a query page (1000 records) comes whole, oldest first, with no gap.
TEST(JournalEventsTest, WhatAClientMissedIsReadAcrossQueryPages) {
  const std::string dir = make_temp_dir();
  {
    auto journal =
        journal::Journal::open(journal::JournalOptions{dir}, SystemClock::instance()).value();
    std::atomic<int> left = 2500;
    for (int i = 0; i < 2500; ++i) {
      journal::JournalRecord r;
      r.kind = journal::RecordKind::admin;
      r.extra = R"({"n":)" + std::to_string(i) + "}";
      journal->append(std::move(r), [&](Result<journal::JournalRecord>) { --left; });
    }
    for (int i = 0; i < 1000 && left > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(left.load(), 0);
    JournalEvents events{*journal};
    auto part = events.after(100, 4096);
    ASSERT_TRUE(part.ok()) << part.error().message;
    ASSERT_EQ(part->lines.size(), 2400u);
    for (std::size_t i = 0; i < part->lines.size(); ++i) {
      ASSERT_TRUE(part->lines[i].starts_with("{\"seq\":" + std::to_string(101 + i) + ","))
          << i << ": " << part->lines[i];
    }
    EXPECT_FALSE(part->more);
  }
  std::filesystem::remove_all(dir);
}

// A change is answered only once its admin record is durable: a crash right after a 201 loses
// no record of it. The journal is held up for a while here, and the record is there at once.
TEST_F(RealApi, ChangesAreJournaledAsAdminRecordsWithWhoAndWhatBeforeTheyAreAnswered) {
  parts.journal->stall_for(std::chrono::milliseconds(500));
  created("/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})");
  const std::string body = h.call("GET", "/v1/events?kind=admin", "", Role::kAuditor).body;
  EXPECT_NE(body.find(R"("actor":"admin-user")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("action":"create")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("collection":"sites")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("change_id":")"), std::string::npos) << body;
  // The store noted the change with its commit, and dropped the note once the record was durable.
  EXPECT_TRUE(parts.db->unrecorded_changes()->empty());
}

// A record held up past the admin record's wait (2 s): the change is made, but the client is
// not told 201 as if it were on record; once the journal moves again, the record follows.
TEST_F(RealApi, AChangeWhoseRecordIsNotDurableInTimeIsAnswered504NotCreated) {
  parts.journal->stall_for(std::chrono::milliseconds(3500));
  auto late = post("/v1/sites", R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})");
  EXPECT_API_ERROR(late, 504, 50401);
  EXPECT_NE(late.body.find("The change was made and stays in effect, but its journal record "
                           "was not durable within 2000 ms and may still be written."),
            std::string::npos)
      << late.body;
  EXPECT_EQ(h.call("GET", "/v1/sites/hq", "", Role::kAuditor).status, 200);
  // The store's note stays: should the record never be written, the next start journals it.
  const auto notes = parts.db->unrecorded_changes();
  ASSERT_EQ(notes->size(), 1u);
  EXPECT_EQ(notes->front().actor, "admin-user");
  EXPECT_EQ(notes->front().route, "POST /v1/sites");
  std::string admin;
  for (int i = 0; i < 500 && admin.find(R"("collection":"sites")") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    admin = h.call("GET", "/v1/events?kind=admin", "", Role::kAuditor).body;
  }
  EXPECT_NE(admin.find(R"("action":"create")"), std::string::npos) << admin;
}

TEST_F(RealApi, FirstStartAdminCanLogInWithThePrintedPassword) {
  auto admin = ensure_admin_account(parts.accounts, h.hasher, h.dir);
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  ASSERT_TRUE(admin->created);
  auto c = h.client();
  auto login = c->request(
      "POST", "/v1/auth/token",
      json::serialize(json::object{{"username", "admin"}, {"password", admin->password}}));
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string token(json::parse(login.body).at("token").as_string());
  auto accounts = c->request("GET", "/v1/accounts", "", {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(accounts.status, 200);
  EXPECT_NE(accounts.body.find("\"admin\""), std::string::npos);
  EXPECT_EQ(accounts.body.find("argon2"), std::string::npos);
  EXPECT_FALSE(ensure_admin_account(parts.accounts, h.hasher, h.dir)->created);
}

}  // namespace
}  // namespace castellan::api::testing
