#include "store/sqlite/migrations.hpp"

#include <string>
#include <vector>

namespace castellan::store::sqlite {

namespace {

// kSteps[i] migrates version i to version i + 1.
const std::vector<const char*> kSteps = {
    // 1: documents keyed by (collection, key), and the write revision.
    R"sql(
      CREATE TABLE schema_version(version INTEGER NOT NULL);
      INSERT INTO schema_version(version) VALUES (0);
      CREATE TABLE documents(
        collection TEXT NOT NULL,
        key TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (collection, key)) WITHOUT ROWID;
      CREATE TABLE meta(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO meta(name, value) VALUES ('revision', 0);
    )sql",
    // 2: lookups by reference (cards by hash and by user, doors by site, passes by hash) and
    //    persisted pass use counts.
    R"sql(
      CREATE INDEX cards_by_hash ON documents(json_extract(body, '$.card_hash'))
        WHERE collection = 'cards';
      CREATE INDEX cards_by_user ON documents(json_extract(body, '$.user'))
        WHERE collection = 'cards';
      CREATE INDEX doors_by_site ON documents(json_extract(body, '$.site'))
        WHERE collection = 'doors';
      CREATE INDEX passes_by_hash ON documents(json_extract(body, '$.card_hash'))
        WHERE collection = 'passes';
      CREATE TABLE pass_uses(pass_id TEXT PRIMARY KEY, used INTEGER NOT NULL) WITHOUT ROWID;
    )sql",
    // 3: notes of changes whose admin record may not be journaled yet (store.hpp).
    R"sql(
      CREATE TABLE unrecorded_changes(
        id INTEGER PRIMARY KEY,
        change_id TEXT NOT NULL,
        trace_id TEXT NOT NULL,
        actor TEXT NOT NULL,
        route TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        writes TEXT NOT NULL);
      CREATE INDEX unrecorded_changes_by_id ON unrecorded_changes(change_id);
    )sql",
};

}  // namespace

int latest_schema_version() {
  return static_cast<int>(kSteps.size());
}

Result<int> schema_version(Connection& db) {
  auto exists = db.prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!exists) return exists.error();
  auto row = exists->step();
  if (!row) return row.error();
  if (exists->integer(0) == 0) return 0;
  auto q = db.prepare("SELECT version FROM schema_version");
  if (!q) return q.error();
  auto r = q->step();
  if (!r) return r.error();
  if (!*r) return make_error(Code::ERR_UNAVAILABLE, db.where() + "schema_version table is empty");
  return static_cast<int>(q->integer(0));
}

Result<void> migrate(Connection& db, int target) {
  Transaction tx(db);
  if (auto b = tx.begin(); !b) return b;
  auto current = schema_version(db);
  if (!current) return current.error();
  if (*current > latest_schema_version()) {
    return make_error(Code::ERR_UNAVAILABLE, db.where() + "schema version " +
                                                 std::to_string(*current) +
                                                 " is newer than this castellan supports (" +
                                                 std::to_string(latest_schema_version()) + ")");
  }
  for (int v = *current; v < target; ++v) {
    if (auto r = db.exec(kSteps[v]); !r) {
      return make_error(
          Code::ERR_UNAVAILABLE,
          "migration to schema version " + std::to_string(v + 1) + " failed: " + r.error().message);
    }
    if (auto r = db.exec("UPDATE schema_version SET version = " + std::to_string(v + 1)); !r) {
      return r;
    }
  }
  return tx.commit();
}

}  // namespace castellan::store::sqlite
