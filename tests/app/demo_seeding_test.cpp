// Seeding the demo's store: a first seeding that was interrupted is completed by the next
// start, what an admin deleted after it stays deleted (and is not handed to the simulator),
// and an error names the document without echoing a card's raw uid.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "access/pass_ledger.hpp"
#include "access/snapshot.hpp"
#include "app/demo_seed.hpp"
#include "app/demo_seeding.hpp"
#include "core/clock.hpp"
#include "store/resource_service.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using access::Collection;

class DemoSeedingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("castellan-demo-seeding-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string db_path() const { return (dir_ / "castellan.db").string(); }
  std::string keys_path() const { return (dir_ / "door-keys.json").string(); }

  Result<void> seed(DemoSeed& demo) {
    return seed_demo_store(db_path(), kSecret, demo, keys_path());
  }

  json::object keys() const {
    std::ifstream in(keys_path());
    return json::parse(std::string(std::istreambuf_iterator<char>(in), {})).as_object();
  }

  // Runs `change` on the store as the server's API would (the store is closed afterwards).
  template <typename Change>
  void with_resources(Change change) {
    auto db = store::SqliteStore::open(db_path());
    ASSERT_TRUE(db.ok()) << db.error().message;
    access::SnapshotHolder snapshots;
    access::PassUseLedger ledger;
    store::ResourceService resources(**db, snapshots, ledger, kSecret);
    ASSERT_TRUE(resources.start().ok());
    change(resources);
  }

  static std::string uid_of_card(const DemoSeed& seed, const std::string& card) {
    for (const auto& doc : seed.documents) {
      if (doc.collection == "cards" && doc.body.at("id").as_string() == card) {
        return std::string(doc.body.at("uid").as_string());
      }
    }
    return {};
  }

  static constexpr const char* kSecret =
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  fs::path dir_;
};

template <typename T>
bool contains(const std::vector<T>& items, const T& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

TEST_F(DemoSeedingTest, AnInterruptedFirstSeedingIsCompletedByTheNextStart) {
  DemoSeed demo = make_demo_seed(SystemClock::instance().now());
  // The first start stopped after the site, the schedules, the holiday and 8 of the 10 doors.
  with_resources([&](store::ResourceService& resources) {
    for (std::size_t i = 0; i < 12; ++i) {
      const auto& doc = demo.documents[i];
      auto c = access::collection_from_name(doc.collection);
      ASSERT_TRUE(c.has_value()) << doc.collection;
      ASSERT_TRUE(resources.create(*c, doc.body, "demo").ok()) << doc.collection;
    }
    ASSERT_FALSE(resources.get(Collection::doors, "d9").ok());
  });

  auto seeded = seed(demo);
  ASSERT_TRUE(seeded.ok()) << seeded.error().message;
  EXPECT_EQ(keys().size(), 10u);
  EXPECT_EQ(demo.door_ids.size(), 10u);
  with_resources([](store::ResourceService& resources) {
    EXPECT_TRUE(resources.get(Collection::doors, "d10").ok());
    EXPECT_TRUE(resources.get(Collection::users, "u060").ok());
    EXPECT_TRUE(resources.get(Collection::cards, "c-expired").ok());
  });
}

TEST_F(DemoSeedingTest, ASeedDoorAnAdminDeletedStaysDeletedAndIsNotHandedToTheSimulator) {
  const auto now = SystemClock::instance().now();
  DemoSeed first = make_demo_seed(now);
  ASSERT_TRUE(seed(first).ok());
  ASSERT_EQ(keys().size(), 10u);
  const std::string deleted_uid = uid_of_card(first, "c005");
  ASSERT_TRUE(contains(first.valid_uids, deleted_uid));

  with_resources([](store::ResourceService& resources) {
    // d10 is in two groups: an admin takes it out of them, then deletes it; and a card.
    const json::object security{
        {"doors", json::array{"d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"}}};
    ASSERT_TRUE(resources.patch(Collection::groups, "security", security, "admin").ok());
    const json::object night{{"doors", json::array{"d1", "d7"}}};
    ASSERT_TRUE(resources.patch(Collection::groups, "night", night, "admin").ok());
    auto removed = resources.remove(Collection::doors, "d10", "admin");
    ASSERT_TRUE(removed.ok()) << removed.error().message;
    ASSERT_TRUE(resources.remove(Collection::cards, "c005", "admin").ok());
  });

  DemoSeed again = make_demo_seed(now);
  auto seeded = seed(again);
  ASSERT_TRUE(seeded.ok()) << seeded.error().message;
  EXPECT_EQ(keys().size(), 9u);
  EXPECT_FALSE(keys().contains("d10"));
  EXPECT_EQ(again.door_ids.size(), 9u);
  EXPECT_EQ(again.controller_ids.size(), 9u);
  EXPECT_FALSE(contains(again.door_ids, std::string("d10")));
  EXPECT_FALSE(contains(again.controller_ids, std::string("ctl-10")));
  EXPECT_FALSE(contains(again.valid_uids, deleted_uid));
  EXPECT_EQ(again.valid_uids.size(), first.valid_uids.size() - 1);
  with_resources([](store::ResourceService& resources) {
    EXPECT_FALSE(resources.get(Collection::doors, "d10").ok()) << "deleted door came back";
    EXPECT_FALSE(resources.get(Collection::cards, "c005").ok()) << "deleted card came back";
  });
}

// Raw card uids are never logged or echoed: a failed card names its collection and id only.
TEST_F(DemoSeedingTest, ASeedingErrorNamesTheDocumentButNotTheCardUid) {
  DemoSeed demo = make_demo_seed(SystemClock::instance().now());
  const std::string uid = uid_of_card(demo, "c001");
  ASSERT_FALSE(uid.empty());
  // Someone else's badge already has the uid of seed card c001.
  with_resources([&](store::ResourceService& resources) {
    ASSERT_TRUE(
        resources.create(Collection::users, json::object{{"id", "x"}, {"name", "X"}}, "admin")
            .ok());
    auto card = resources.create(
        Collection::cards, json::object{{"id", "badge"}, {"uid", uid}, {"user", "x"}}, "admin");
    ASSERT_TRUE(card.ok()) << card.error().message;
  });

  auto seeded = seed(demo);
  ASSERT_FALSE(seeded.ok());
  const std::string& message = seeded.error().message;
  EXPECT_NE(message.find("cards"), std::string::npos) << message;
  EXPECT_NE(message.find("c001"), std::string::npos) << message;
  std::string lower = message;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  std::string lower_uid = uid;
  std::transform(lower_uid.begin(), lower_uid.end(), lower_uid.begin(), ::tolower);
  EXPECT_EQ(lower.find(lower_uid), std::string::npos) << "the raw uid is echoed: " << message;
}

}  // namespace
}  // namespace castellan::app
