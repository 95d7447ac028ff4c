#include "app/demo_seeding.hpp"

#include <boost/json.hpp>
#include <filesystem>
#include <set>

#include "access/pass_ledger.hpp"
#include "access/snapshot.hpp"
#include "core/secrets.hpp"
#include "store/resource_service.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::app {
namespace {

using access::Collection;

// Written once every seed document exists: from then on the demo creates nothing again.
std::string seeded_marker(const std::string& db_path) {
  return (std::filesystem::path(db_path).parent_path() / "demo-seeded").string();
}

std::string id_of(const SeedDocument& doc) {
  return std::string(doc.body.at("id").as_string());
}

// Names only the collection and the id: a card's body holds its raw uid, which is never
// logged or echoed (contract §2).
Error seed_error(const SeedDocument& doc, const Error& e) {
  return {e.code, "seed " + doc.collection + " '" + id_of(doc) + "': " + e.message};
}

// Whether a document with this id exists (a store failure is an error, not "missing").
Result<bool> exists(store::ResourceService& resources, Collection c, const std::string& id) {
  auto got = resources.get(c, id);
  if (got) return true;
  if (got.error().code == Code::ERR_NOT_FOUND) return false;
  return got.error();
}

// Creates each seed document that is missing, in creation order (references resolve), so a
// first seeding that was interrupted part-way is completed by the next start.
Result<void> create_missing(store::ResourceService& resources, const DemoSeed& seed) {
  for (const auto& doc : seed.documents) {
    if (doc.collection == "user_groups") {
      // A membership is not a document of its own: setting it again changes nothing.
      auto r = resources.set_user_groups(id_of(doc), doc.body.at("groups"), "demo");
      if (!r) return seed_error(doc, r.error());
      continue;
    }
    auto c = access::collection_from_name(doc.collection);
    if (!c) return make_error(Code::ERR_INTERNAL, "seed: unknown collection " + doc.collection);
    auto present = exists(resources, *c, id_of(doc));
    if (!present) return seed_error(doc, present.error());
    if (*present) continue;
    if (auto r = resources.create(*c, doc.body, "demo"); !r) return seed_error(doc, r.error());
  }
  return {};
}

// Drops the seed cards that no longer exist from the simulator's card lists: a "valid" card
// that an admin deleted would be denied as unknown, which the simulator counts as wrong.
Result<void> keep_existing_cards(store::ResourceService& resources, DemoSeed& seed) {
  std::set<std::string> gone;
  for (const auto& doc : seed.documents) {
    if (doc.collection != "cards") continue;
    auto present = exists(resources, Collection::cards, id_of(doc));
    if (!present) return seed_error(doc, present.error());
    if (!*present) gone.insert(std::string(doc.body.at("uid").as_string()));
  }
  auto drop_gone = [&gone](std::vector<std::string>& uids) {
    std::erase_if(uids, [&gone](const std::string& uid) { return gone.count(uid) != 0; });
  };
  drop_gone(seed.valid_uids);
  drop_gone(seed.expired_uids);
  return {};
}

// The signing key of every seed door that exists. A door an admin deleted is left out of the
// keys and of `seed`'s door lists (the simulator then gets no controller for it), rather than
// being created again: an operator who deletes a door expects it to stay deleted, and a new
// door would come back with a new key that nobody asked for.
Result<void> export_door_keys(store::ResourceService& resources, DemoSeed& seed,
                              const std::string& keys_file) {
  boost::json::object keys;
  std::vector<std::string> doors;
  std::vector<std::string> controllers;
  for (std::size_t i = 0; i < seed.door_ids.size(); ++i) {
    auto key = resources.door_key(seed.door_ids[i]);
    if (!key && key.error().code == Code::ERR_NOT_FOUND) continue;
    if (!key) return key.error();
    keys[seed.door_ids[i]] = *key;
    doors.push_back(seed.door_ids[i]);
    controllers.push_back(seed.controller_ids[i]);
  }
  seed.door_ids = std::move(doors);
  seed.controller_ids = std::move(controllers);
  return write_secret_file(keys_file, boost::json::serialize(keys));
}

}  // namespace

Result<void> seed_demo_store(const std::string& db_path, const std::string& card_secret,
                             DemoSeed& seed, const std::string& keys_file) {
  auto db = store::SqliteStore::open(db_path);
  if (!db) return db.error();
  access::SnapshotHolder snapshots;
  access::PassUseLedger ledger;
  store::ResourceService resources(**db, snapshots, ledger, card_secret);
  if (auto started = resources.start(); !started) return started.error();

  // Without site `hq` the store is new (or was emptied): seed it, whatever the marker says.
  const std::string marker = seeded_marker(db_path);
  auto has_site = exists(resources, Collection::sites, "hq");
  if (!has_site) return has_site.error();
  std::error_code ec;
  if (!*has_site || !std::filesystem::exists(marker, ec)) {
    if (auto created = create_missing(resources, seed); !created) return created;
    if (auto w = write_secret_file(marker, "every demo seed document was created\n"); !w) return w;
  }
  if (auto kept = keep_existing_cards(resources, seed); !kept) return kept;
  return export_door_keys(resources, seed, keys_file);
}

}  // namespace castellan::app
