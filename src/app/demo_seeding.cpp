#include "app/demo_seeding.hpp"

#include <boost/json.hpp>

#include "access/pass_ledger.hpp"
#include "access/snapshot.hpp"
#include "core/secrets.hpp"
#include "store/resource_service.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::app {

Result<void> seed_demo_store(const std::string& db_path, const std::string& card_secret,
                             const DemoSeed& seed, const std::string& keys_file) {
  auto db = store::SqliteStore::open(db_path);
  if (!db) return db.error();
  access::SnapshotHolder snapshots;
  access::PassUseLedger ledger;
  store::ResourceService resources(**db, snapshots, ledger, card_secret);
  if (auto started = resources.start(); !started) return started.error();

  if (!resources.get(access::Collection::sites, "hq").ok()) {
    for (const auto& doc : seed.documents) {
      if (doc.collection == "user_groups") {
        auto r =
            resources.set_user_groups(doc.body.at("id").as_string(), doc.body.at("groups"), "demo");
        if (!r) return r.error();
        continue;
      }
      auto c = access::collection_from_name(doc.collection);
      if (!c) return make_error(Code::ERR_INTERNAL, "seed: unknown collection " + doc.collection);
      auto r = resources.create(*c, doc.body, "demo");
      if (!r) {
        return make_error(r.error().code, "seed " + doc.collection + " " +
                                              boost::json::serialize(doc.body) + ": " +
                                              r.error().message);
      }
    }
  }

  boost::json::object keys;
  for (const auto& door : seed.door_ids) {
    auto key = resources.door_key(door);
    if (!key) return key.error();
    keys[door] = *key;
  }
  return write_secret_file(keys_file, boost::json::serialize(keys));
}

}  // namespace castellan::app
