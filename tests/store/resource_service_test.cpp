// ResourceService end to end on a real SQLite file: writes are visible to the very next
// decision, references are checked, pass counts persist across a restart.
#include <gtest/gtest.h>

#include <thread>

#include "access/engine.hpp"
#include "runtime/task_registry.hpp"
#include "store/pass_use_flusher.hpp"
#include "store/resource_service.hpp"
#include "store/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace castellan::store {
namespace {

using access::DecisionRequest;
using access::Direction;
using testing::TempDir;

json::value body(std::string_view text) {
  return json::parse(text);
}
TimePoint at(std::string_view utc) {
  return parse_utc(utc).value();
}
const TimePoint kTue10 = at("2026-11-24T09:00:00Z");  // Tuesday 10:00 in Berlin

// Store, snapshot holder, ledger, service and engine over one database file.
struct Node {
  std::unique_ptr<SqliteStore> store;
  access::SnapshotHolder holder;
  access::PassUseLedger ledger;
  std::unique_ptr<ResourceService> service;
  access::DecisionEngine engine{holder};

  explicit Node(const std::filesystem::path& file) {
    store = SqliteStore::open(file).value();
    service = std::make_unique<ResourceService>(*store, holder, ledger, "card-secret");
    EXPECT_TRUE(service->start().ok());
  }
  json::object create(access::Collection c, std::string_view text) {
    auto r = service->create(c, body(text), "admin");
    EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : json::object{};
  }
  access::DecisionResult swipe(std::string_view door, std::string_view uid, TimePoint now,
                               Direction dir = Direction::in) {
    auto hash = access::card_hash_from_uid(service->card_secret(), uid).value();
    return engine.decide(DecisionRequest{"hq", door, hash, dir, now});
  }
  void seed() {
    create(access::Collection::sites, R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})");
    create(access::Collection::doors,
           R"({"id":"d1","site":"hq","name":"Main","controller":"ctl-1","unlock_ms":3000})");
    create(access::Collection::doors,
           R"({"id":"d2","site":"hq","name":"Lab","controller":"ctl-1"})");
    create(access::Collection::users, R"({"id":"u1","name":"Ada"})");
    create(
        access::Collection::schedules,
        R"({"id":"office","windows":[{"days":["mon","tue","wed","thu","fri"],"from":"08:00","to":"18:00"}]})");
    create(access::Collection::groups,
           R"({"id":"staff","doors":["d1"],"schedule":"office","members":["u1"]})");
    create(access::Collection::cards, R"({"id":"c1","uid":"04A1B2C3","user":"u1"})");
  }
};

TEST(ResourceService, CreateIsVisibleToTheNextDecision) {
  TempDir dir;
  Node n(dir.path() / "db");
  EXPECT_EQ(n.swipe("d1", "04a1b2c3", kTue10).code, Code::ERR_DOOR_UNKNOWN);
  n.seed();
  auto r = n.swipe("d1", "04a1b2c3", kTue10);
  EXPECT_EQ(r.code, Code::OK);
  EXPECT_EQ(r.user, "u1");
  EXPECT_EQ(r.unlock_ms, 3000);
  EXPECT_EQ(n.swipe("d2", "04a1b2c3", kTue10).code, Code::ERR_NO_ACCESS);

  ASSERT_TRUE(
      n.service->patch(access::Collection::cards, "c1", body(R"({"status":"lost"})"), "a").ok());
  EXPECT_EQ(n.swipe("d1", "04a1b2c3", kTue10).code, Code::ERR_CARD_REVOKED);
  ASSERT_TRUE(
      n.service->patch(access::Collection::cards, "c1", body(R"({"status":"active"})"), "a").ok());

  ASSERT_TRUE(n.service->set_lockdown("d1", true, "a").ok());
  EXPECT_EQ(n.swipe("d1", "04a1b2c3", kTue10).code, Code::ERR_DOOR_LOCKDOWN);
  ASSERT_TRUE(n.service->set_lockdown("d1", false, "a").ok());
  ASSERT_TRUE(n.service->set_site_lockdown("hq", true, "a").ok());
  EXPECT_EQ(n.swipe("d1", "04a1b2c3", kTue10).code, Code::ERR_DOOR_LOCKDOWN);
  ASSERT_TRUE(n.service->set_site_lockdown("hq", false, "a").ok());

  ASSERT_TRUE(
      n.service->patch(access::Collection::users, "u1", body(R"({"status":"suspended"})"), "a")
          .ok());
  EXPECT_EQ(n.swipe("d1", "04a1b2c3", kTue10).code, Code::ERR_USER_SUSPENDED);
}

// A controller replaced, or its key leaked: the door gets a new key, which the next snapshot
// signs with and the store keeps; the door's other fields and its decisions are unchanged.
TEST(ResourceService, ADoorKeyRotationIsInTheNextSnapshotAndSurvivesARestart) {
  TempDir dir;
  std::string rotated;
  {
    Node n(dir.path() / "db");
    n.seed();
    const std::string old_key = n.service->door_key("d1").value();
    auto key = n.service->rotate_door_key("d1", "admin");
    ASSERT_TRUE(key.ok()) << key.error().message;
    rotated = *key;
    EXPECT_EQ(rotated.size(), 64u);
    EXPECT_NE(rotated, old_key);
    EXPECT_EQ(n.service->door_key("d1").value(), rotated);
    EXPECT_EQ(n.holder.load()->find_door("d1")->key_hex, rotated);
    EXPECT_EQ(n.holder.load()->find_door("d1")->unlock_ms, 3000) << "nothing else changed";
    EXPECT_FALSE(n.service->get(access::Collection::doors, "d1")->contains("key"));
    EXPECT_EQ(n.swipe("d1", "04a1b2c3", kTue10).code, Code::OK);
    EXPECT_EQ(n.service->rotate_door_key("nope", "admin").error().code, Code::ERR_NOT_FOUND);
  }
  Node again(dir.path() / "db");
  EXPECT_EQ(again.service->door_key("d1").value(), rotated);
}

TEST(ResourceService, ResponsesHideSecrets) {
  TempDir dir;
  Node n(dir.path() / "db");
  n.seed();
  auto door = n.service->get(access::Collection::doors, "d1");
  ASSERT_TRUE(door.ok());
  EXPECT_FALSE(door->contains("key"));
  auto key = n.service->door_key("d1");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->size(), 64u);
  EXPECT_EQ(n.holder.load()->find_door("d1")->key_hex, *key);
  EXPECT_EQ(n.service->door_key("nope").error().code, Code::ERR_NOT_FOUND);
  auto card = n.service->get(access::Collection::cards, "c1");
  EXPECT_EQ(card->at("last4").as_string(), "b2c3");
  EXPECT_FALSE(card->contains("uid"));
  auto acct = n.create(access::Collection::accounts,
                       R"({"username":"ops","password_hash":"$argon2id$abc","role":"operator"})");
  EXPECT_FALSE(acct.contains("password_hash"));
  EXPECT_EQ(n.store->get(access::Collection::accounts, "ops")->at("password_hash").as_string(),
            "$argon2id$abc");
}

TEST(ResourceService, ChecksReferences) {
  TempDir dir;
  Node n(dir.path() / "db");
  n.seed();
  auto door =
      n.service->create(access::Collection::doors,
                        body(R"({"id":"d9","site":"nope","name":"x","controller":"c"})"), "a");
  ASSERT_FALSE(door.ok());
  EXPECT_EQ(door.error().code, Code::ERR_NOT_FOUND);
  EXPECT_EQ(door.error().message, "field 'site': no site with id 'nope'");

  auto group = n.service->create(access::Collection::groups,
                                 body(R"({"id":"g","doors":["d1","d404"]})"), "a");
  EXPECT_EQ(group.error().message, "field 'doors[1]': no door with id 'd404'");

  auto dup =
      n.service->create(access::Collection::cards, body(R"({"uid":"04a1b2c3","user":"u1"})"), "a");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Code::ERR_CONFLICT);
  EXPECT_EQ(dup.error().message, "this card uid is already registered as card 'c1'");

  auto same_id =
      n.service->create(access::Collection::users, body(R"({"id":"u1","name":"B"})"), "a");
  EXPECT_EQ(same_id.error().code, Code::ERR_CONFLICT);

  auto busy = n.service->remove(access::Collection::sites, "hq", "a");
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, Code::ERR_CONFLICT);
  EXPECT_EQ(busy.error().message,
            "site 'hq' is still used by doors (d1, d2); change or delete them first");
  EXPECT_EQ(n.service->remove(access::Collection::users, "u1", "a").error().code,
            Code::ERR_CONFLICT);
  EXPECT_EQ(n.service->remove(access::Collection::users, "u404", "a").error().code,
            Code::ERR_NOT_FOUND);
  auto bad = n.service->patch(access::Collection::doors, "d1", body(R"({"unlock_ms":"x"})"), "a");
  EXPECT_EQ(bad.error().message, "field 'unlock_ms' must be an integer");

  // Delete in dependency order works, and the engine forgets the card at once.
  ASSERT_TRUE(n.service->remove(access::Collection::cards, "c1", "a").ok());
  EXPECT_EQ(n.swipe("d1", "04a1b2c3", kTue10).code, Code::ERR_CARD_UNKNOWN);
  ASSERT_TRUE(n.service->remove(access::Collection::users, "u1", "a").ok());
  EXPECT_TRUE(
      n.service->get(access::Collection::groups, "staff")->at("members").as_array().empty());
}

TEST(ResourceService, UserGroupsPatchSetsMembership) {
  TempDir dir;
  Node n(dir.path() / "db");
  n.seed();
  n.create(access::Collection::groups, R"({"id":"lab","doors":["d2"]})");
  auto u = n.service->patch(access::Collection::users, "u1",
                            body(R"({"groups":["lab"],"name":"Ada L"})"), "a");
  ASSERT_TRUE(u.ok()) << u.error().message;
  EXPECT_EQ(json::serialize(u->at("groups")), R"(["lab"])");
  EXPECT_EQ(u->at("name").as_string(), "Ada L");
  EXPECT_EQ(n.swipe("d2", "04a1b2c3", kTue10).code, Code::OK);
  EXPECT_EQ(n.swipe("d1", "04a1b2c3", kTue10).code, Code::ERR_NO_ACCESS);
  auto bad = n.service->set_user_groups("u1", body(R"(["nope"])"), "a");
  EXPECT_EQ(bad.error().message, "field 'groups[0]': no group with id 'nope'");
  auto created =
      n.create(access::Collection::users, R"({"id":"u2","name":"Bo","groups":["staff","lab"]})");
  EXPECT_EQ(json::serialize(created.at("groups")), R"(["lab","staff"])");
}

TEST(ResourceService, ListsWithCursor) {
  TempDir dir;
  Node n(dir.path() / "db");
  n.seed();
  auto page = n.service->list(access::Collection::doors, "", 1);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->at("items").as_array().size(), 1u);
  EXPECT_FALSE(page->at("items").as_array()[0].as_object().contains("key"));
  EXPECT_EQ(page->at("next_cursor").as_string(), "d1");
  auto next = n.service->list(access::Collection::doors, "d1", 1);
  EXPECT_TRUE(next->at("next_cursor").is_null());
}

TEST(ResourceService, PassUsesPersistAcrossRestart) {
  TempDir dir;
  auto file = dir.path() / "db";
  {
    Node n(file);
    n.seed();
    FakeClock clock(kTue10);
    PassUseFlusher flusher(*n.service, n.ledger, clock, std::chrono::milliseconds(50));
    auto pass = n.service->issue_pass(
        body(
            R"({"card":"CAFEBABE","holder":"V","doors":["d2"],"valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z","max_uses":2})"),
        "op");
    ASSERT_TRUE(pass.ok()) << pass.error().message;
    EXPECT_EQ(pass->at("uses_left").as_int64(), 2);
    EXPECT_EQ(pass->at("last4").as_string(), "babe");
    EXPECT_TRUE(n.swipe("d2", "cafebabe", kTue10).granted);
    auto id = std::string(pass->at("id").as_string());
    EXPECT_EQ(n.service->get(access::Collection::passes, id)->at("uses_left").as_int64(), 1);
  }  // the flusher writes the count on the way out
  Node again(file);
  EXPECT_EQ(*again.service->pass_uses_saved_at(), kTue10);
  EXPECT_TRUE(again.swipe("d2", "cafebabe", kTue10).granted);
  EXPECT_EQ(again.swipe("d2", "cafebabe", kTue10).code, Code::ERR_PASS_EXHAUSTED);
  EXPECT_TRUE(again.swipe("d1", "04a1b2c3", kTue10).granted);  // the rest survived too
}

// A grant the door never got (a 50401 deny) gives its pass use back; the lower count is saved
// like any other, so a restart does not take the use again.
TEST(ResourceService, AUseGivenBackIsSavedAndSurvivesARestart) {
  TempDir dir;
  auto file = dir.path() / "db";
  std::string id;
  {
    Node n(file);
    n.seed();
    FakeClock clock(kTue10);
    PassUseFlusher flusher(*n.service, n.ledger, clock, std::chrono::milliseconds(10));
    auto pass = n.service->issue_pass(
        body(R"({"card":"CAFEBABE","holder":"V","doors":["d2"],"valid_from":)"
             R"("2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z","max_uses":1})"),
        "op");
    ASSERT_TRUE(pass.ok()) << pass.error().message;
    id = std::string(pass->at("id").as_string());
    const auto saved = [&](std::uint32_t want) {
      for (int i = 0; i < 1000; ++i) {
        auto uses = n.store->load_pass_uses();
        if (uses.ok() && !uses->empty() && uses->front().used == want) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return false;
    };
    auto granted = n.swipe("d2", "cafebabe", kTue10);
    ASSERT_TRUE(granted.granted);
    ASSERT_TRUE(saved(1));
    n.engine.give_back(granted.taken);
    EXPECT_TRUE(saved(0)) << "the given-back use was not saved";
  }
  Node again(file);
  EXPECT_EQ(again.service->get(access::Collection::passes, id)->at("uses_left").as_int64(), 1);
  EXPECT_TRUE(again.swipe("d2", "cafebabe", kTue10).granted);
}

// The saved-at time bounds how much journal a start reads back, so an idle flusher still moves
// it on every `refresh`, and a busy one with every save.
TEST(PassUseFlusher, SavesItsTimeWhenIdleEveryRefreshAndWithEverySave) {
  TempDir dir;
  Node n(dir.path() / "db");
  n.seed();
  auto pass = n.service->issue_pass(
      body(
          R"({"card":"CAFEBABE","holder":"V","doors":["d2"],"valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z","max_uses":5})"),
      "op");
  ASSERT_TRUE(pass.ok()) << pass.error().message;
  FakeClock clock(kTue10);
  // Polls the store until the saved-at time is `t` (a deadline, not a wait for a fixed time).
  auto saved_at_becomes = [&](TimePoint t) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < give_up) {
      if (*n.service->pass_uses_saved_at() == t) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  };
  PassUseFlusher flusher(*n.service, n.ledger, clock, std::chrono::milliseconds(10),
                         std::chrono::seconds(60));
  EXPECT_TRUE(saved_at_becomes(kTue10)) << "the first wake saves its time";
  clock.advance(std::chrono::seconds(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // some idle wakes
  EXPECT_EQ(*n.service->pass_uses_saved_at(), kTue10) << "idle, before the refresh is due";
  clock.advance(std::chrono::seconds(30));
  EXPECT_TRUE(saved_at_becomes(kTue10 + std::chrono::seconds(60))) << "the refresh is due";
  clock.advance(std::chrono::seconds(1));
  EXPECT_TRUE(n.swipe("d2", "cafebabe", kTue10).granted);
  EXPECT_TRUE(saved_at_becomes(kTue10 + std::chrono::seconds(61))) << "a use is saved at once";
}

// The flusher's thread is a daemon task of the registry it is given (contract §7), idle while
// no use is waiting to be saved; gone with the flusher.
TEST(ResourceService, ThePassUseFlushersThreadIsARegisteredDaemonTask) {
  TempDir dir;
  Node n(dir.path() / "db");
  n.seed();
  FakeClock clock(kTue10);
  runtime::TaskRegistry registry(SystemClock::instance());
  {
    PassUseFlusher flusher(*n.service, n.ledger, clock, std::chrono::milliseconds(200),
                           std::chrono::seconds(60), &registry);
    std::vector<runtime::TaskInfo> tasks;
    for (int i = 0; i < 1000; ++i) {
      tasks = registry.snapshot();
      if (tasks.size() == 1 && tasks[0].waiting_on == "pass uses: next use") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(tasks.size(), 1u);
    EXPECT_EQ(tasks[0].name, "pass-use flusher");
    EXPECT_EQ(tasks[0].group, "store");
    EXPECT_TRUE(tasks[0].daemon);
    EXPECT_EQ(tasks[0].waiting_on, "pass uses: next use");
    EXPECT_EQ(tasks[0].wait_kind, runtime::WaitKind::kIdle);
  }
  EXPECT_EQ(registry.active_count(), 0u);
}

TEST(ResourceService, ConcurrentWritersAndDecisions) {
  TempDir dir;
  Node n(dir.path() / "db");
  n.seed();
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) (void)n.swipe("d1", "04a1b2c3", kTue10);
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        std::string id = "w" + std::to_string(t) + "-" + std::to_string(i);
        auto u =
            n.service->create(access::Collection::users,
                              body(R"({"id":")" + id + R"(","name":"x","groups":["staff"]})"), "a");
        ASSERT_TRUE(u.ok()) << u.error().message;
        char uid[9];
        std::snprintf(uid, sizeof uid, "%02x%02xabcd", t, i);
        auto c = n.service->create(
            access::Collection::cards,
            body(std::string(R"({"uid":")") + uid + R"(","user":")" + id + "\"}"), "a");
        ASSERT_TRUE(c.ok()) << c.error().message;
        // Visible to the next decision, whatever the other writers do.
        EXPECT_EQ(n.swipe("d1", uid, kTue10).code, Code::OK);
      }
    });
  }
  for (auto& w : writers) w.join();
  done.store(true);
  reader.join();
  EXPECT_EQ(n.service->get(access::Collection::groups, "staff")->at("members").as_array().size(),
            21u);
}

}  // namespace
}  // namespace castellan::store
