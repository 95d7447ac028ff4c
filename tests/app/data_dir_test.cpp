// The card secret at a server's start: created at the first start, never silently replaced once
// the store holds card hashes made with it.
#include "app/data_dir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/secrets.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::app {
namespace {

namespace fs = std::filesystem;

class CardSecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("castellan-card-secret-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    ASSERT_TRUE(ensure_private_dir(dir_.string()).ok());
    auto db = store::SqliteStore::open(dir_ / "castellan.db");
    ASSERT_TRUE(db.ok()) << db.error().message;
    store_ = std::move(*db);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void store_one(store::Collection c, const char* id) {
    store::Write w;
    w.kind = store::Write::Kind::insert;
    w.collection = c;
    w.doc = {{"id", id}};
    ASSERT_TRUE(store_->apply({&w, 1}).ok());
  }

  fs::path dir_;
  std::unique_ptr<store::SqliteStore> store_;
};

TEST_F(CardSecretTest, IsCreatedWhileTheStoreHoldsNoCardAndKeptAfterwards) {
  auto first = load_card_secret(dir_.string(), *store_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->size(), 64u);
  store_one(store::Collection::cards, "c-1");
  auto again = load_card_secret(dir_.string(), *store_);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *first);
}

TEST_F(CardSecretTest, AMissingSecretIsNotReplacedWhileCardsOrPassesAreStored) {
  for (auto c : {store::Collection::cards, store::Collection::passes}) {
    SCOPED_TRACE(std::string(access::collection_name(c)));
    store_.reset();  // closed before its files go (WAL mode: -wal and -shm too)
    for (const char* f : {"castellan.db", "castellan.db-wal", "castellan.db-shm", "card-secret"}) {
      fs::remove(dir_ / f);
    }
    auto db = store::SqliteStore::open(dir_ / "castellan.db");
    ASSERT_TRUE(db.ok());
    store_ = std::move(*db);
    store_one(c, "x-1");
    auto refused = load_card_secret(dir_.string(), *store_);
    ASSERT_FALSE(refused.ok()) << "a new secret would deny every stored card";
    EXPECT_NE(refused.error().message.find((dir_ / "card-secret").string() + " is missing"),
              std::string::npos)
        << refused.error().message;
    EXPECT_NE(refused.error().message.find("restore it from a backup"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir_ / "card-secret")) << "nothing created in its place";
  }
}

}  // namespace
}  // namespace castellan::app
