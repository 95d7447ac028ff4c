#include "store/sqlite_store.hpp"

#include <fmt/format.h>

#include "access/codec.hpp"
#include "core/change_scope.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/migrations.hpp"

namespace castellan::store {

namespace {

std::string not_found(Collection c, std::string_view key) {
  std::string kind(access::collection_name(c));
  kind.pop_back();  // "doors" -> "door"
  return "no " + kind + " with " + std::string(access::key_field(c)) + " '" + std::string(key) +
         "'";
}

// A stored document's body; a corrupt one is an error naming the file, the collection and key.
Result<json::object> parse_body(const sqlite::Connection& db, Collection c, std::string_view key,
                                std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return make_error(Code::ERR_UNAVAILABLE, db.where() + "corrupt document " +
                                                 std::string(access::collection_name(c)) + " '" +
                                                 std::string(key) + "' (not a JSON object)");
  }
  return std::move(v.get_object());
}

}  // namespace

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& file) {
  auto db = sqlite::Connection::open(file);
  if (!db) return db.error();
  if (auto m = sqlite::migrate(**db, sqlite::latest_schema_version()); !m) return m.error();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(*db)));
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite::Connection> db) : db_(std::move(db)) {}
SqliteStore::~SqliteStore() = default;

int SqliteStore::latest_schema_version() {
  return sqlite::latest_schema_version();
}

int SqliteStore::schema_version() {
  std::lock_guard lock(mu_);
  auto v = sqlite::schema_version(*db_);
  return v ? *v : -1;
}

Result<json::object> SqliteStore::get(Collection c, std::string_view key) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("SELECT body FROM documents WHERE collection = ?1 AND key = ?2");
  if (!q) return q.error();
  q->bind(1, access::collection_name(c)).bind(2, key);
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return make_error(Code::ERR_NOT_FOUND, not_found(c, key));
  return parse_body(*db_, c, key, q->text(0));
}

Result<Page> SqliteStore::list(Collection c, std::string_view after, std::size_t limit) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT key, body FROM documents WHERE collection = ?1 AND key > ?2 ORDER BY key LIMIT ?3");
  if (!q) return q.error();
  limit = std::max<std::size_t>(limit, 1);
  // One extra row tells whether another page exists.
  q->bind(1, access::collection_name(c))
      .bind(2, after)
      .bind(3, static_cast<std::int64_t>(limit + 1));
  Page page;
  std::string last;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    if (page.items.size() == limit) {
      page.next_cursor = last;
      break;
    }
    last = std::string(q->text(0));
    auto doc = parse_body(*db_, c, last, q->text(1));
    if (!doc) return doc.error();
    page.items.push_back(std::move(*doc));
  }
  return page;
}

Result<std::vector<json::object>> SqliteStore::load_all(Collection c) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("SELECT key, body FROM documents WHERE collection = ?1 ORDER BY key");
  if (!q) return q.error();
  q->bind(1, access::collection_name(c));
  std::vector<json::object> out;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    auto doc = parse_body(*db_, c, q->text(0), q->text(1));
    if (!doc) return doc.error();
    out.push_back(std::move(*doc));
  }
  return out;
}

Result<void> SqliteStore::apply(std::span<const Write> writes) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  if (auto b = tx.begin(); !b) return b;
  for (const Write& w : writes) {
    std::string key = w.key.empty() ? access::document_key(w.collection, w.doc) : w.key;
    if (key.empty()) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "missing field '" + std::string(access::key_field(w.collection)) + "'");
    }
    std::string_view coll = access::collection_name(w.collection);
    const char* sql = nullptr;
    switch (w.kind) {
      case Write::Kind::insert:
        sql = "INSERT OR IGNORE INTO documents(collection, key, body) VALUES (?1, ?2, ?3)";
        break;
      case Write::Kind::replace:
        sql = "UPDATE documents SET body = ?3 WHERE collection = ?1 AND key = ?2";
        break;
      case Write::Kind::remove:
        sql = "DELETE FROM documents WHERE collection = ?1 AND key = ?2";
        break;
    }
    auto q = db_->prepare(sql);
    if (!q) return q.error();
    q->bind(1, coll).bind(2, key);
    if (w.kind != Write::Kind::remove) q->bind(3, json::serialize(w.doc));
    if (auto r = q->step(); !r) return r.error();
    if (db_->changes() == 0) {
      if (w.kind == Write::Kind::insert) {
        std::string kind(coll);
        kind.pop_back();
        return make_error(Code::ERR_CONFLICT, fmt::format("a {} with {} '{}' already exists", kind,
                                                          access::key_field(w.collection), key));
      }
      return make_error(Code::ERR_NOT_FOUND, not_found(w.collection, key));
    }
    if (w.kind != Write::Kind::replace && w.collection == Collection::passes) {
      // A removed pass takes its count along; a new pass never inherits the count of a
      // deleted one that had the same id.
      auto d = db_->prepare("DELETE FROM pass_uses WHERE pass_id = ?1");
      if (!d) return d.error();
      d->bind(1, key);
      if (auto r = d->step(); !r) return r.error();
    }
  }
  if (auto r = db_->exec("UPDATE meta SET value = value + 1 WHERE name = 'revision'"); !r) {
    return r;
  }
  if (const ChangeAuthor* author = ChangeScope::current()) {
    if (auto r = note_change(*author, writes); !r) return r;
  }
  return tx.commit();
}

// In apply()'s transaction: the note goes with the change or not at all.
Result<void> SqliteStore::note_change(const ChangeAuthor& author, std::span<const Write> writes) {
  static constexpr const char* kOps[] = {"insert", "replace", "remove"};
  json::array noted;
  for (const Write& w : writes) {
    noted.push_back(
        json::object{{"op", kOps[static_cast<int>(w.kind)]},
                     {"collection", access::collection_name(w.collection)},
                     {"id", w.key.empty() ? access::document_key(w.collection, w.doc) : w.key}});
  }
  auto q = db_->prepare(
      "INSERT INTO unrecorded_changes(change_id, trace_id, actor, route, at_ms, writes) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!q) return q.error();
  q->bind(1, author.change_id)
      .bind(2, author.trace_id)
      .bind(3, author.actor)
      .bind(4, author.route)
      .bind(5, to_unix_ms(author.at))
      .bind(6, json::serialize(noted));
  if (auto r = q->step(); !r) return r.error();
  author.noted = true;  // if the transaction then fails, forgetting the note is a no-op
  return {};
}

Result<std::vector<ChangeNote>> SqliteStore::unrecorded_changes() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare(
      "SELECT change_id, trace_id, actor, route, at_ms, writes FROM unrecorded_changes "
      "ORDER BY id");
  if (!q) return q.error();
  std::vector<ChangeNote> notes;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    boost::system::error_code ec;
    auto writes = json::parse(q->text(5), ec);
    if (ec || !writes.is_array()) {
      return make_error(Code::ERR_UNAVAILABLE,
                        db_->where() + "unreadable note of change " + std::string(q->text(0)));
    }
    notes.push_back(ChangeNote{std::string(q->text(0)), std::string(q->text(1)),
                               std::string(q->text(2)), std::string(q->text(3)),
                               from_unix_ms(q->integer(4)), std::move(writes.as_array())});
  }
  return notes;
}

Result<void> SqliteStore::forget_change(std::string_view change_id) {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("DELETE FROM unrecorded_changes WHERE change_id = ?1");
  if (!q) return q.error();
  q->bind(1, change_id);
  if (auto r = q->step(); !r) return r.error();
  return {};
}

Result<std::uint64_t> SqliteStore::revision() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("SELECT value FROM meta WHERE name = 'revision'");
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  return static_cast<std::uint64_t>(*row ? q->integer(0) : 0);
}

Result<void> SqliteStore::save_pass_uses(std::span<const PassUse> uses, TimePoint as_of) {
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(*db_);
  if (auto b = tx.begin(); !b) return b;
  for (const PassUse& u : uses) {
    // The count as it is now: lower than the one saved when a use was given back (a grant the
    // door never got). One flusher saves, in order, the newest count of each pass. A count of a
    // pass deleted meanwhile is not kept (it would pass to a new pass with the same id).
    auto q = db_->prepare(
        "INSERT INTO pass_uses(pass_id, used) SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM "
        "documents WHERE collection = 'passes' AND key = ?1) ON CONFLICT(pass_id) DO UPDATE "
        "SET used = excluded.used");
    if (!q) return q.error();
    q->bind(1, u.pass_id).bind(2, static_cast<std::int64_t>(u.used));
    if (auto r = q->step(); !r) return r.error();
  }
  // The newest save's time, even if earlier than the one before: after the wall clock was set
  // back, a time kept from before would claim uses taken since as saved, and a crash would
  // lose them. An earlier time only makes the start-up replay read more.
  auto at = db_->prepare(
      "INSERT INTO meta(name, value) VALUES ('pass_uses_saved_at_ms', ?1) ON CONFLICT(name) DO "
      "UPDATE SET value = excluded.value");
  if (!at) return at.error();
  at->bind(1, to_unix_ms(as_of));
  if (auto r = at->step(); !r) return r.error();
  return tx.commit();
}

Result<std::optional<TimePoint>> SqliteStore::pass_uses_saved_at() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("SELECT value FROM meta WHERE name = 'pass_uses_saved_at_ms'");
  if (!q) return q.error();
  auto row = q->step();
  if (!row) return row.error();
  if (!*row) return std::optional<TimePoint>{};
  return std::optional<TimePoint>{from_unix_ms(q->integer(0))};
}

Result<std::vector<PassUse>> SqliteStore::load_pass_uses() {
  std::lock_guard lock(mu_);
  auto q = db_->prepare("SELECT pass_id, used FROM pass_uses ORDER BY pass_id");
  if (!q) return q.error();
  std::vector<PassUse> out;
  for (;;) {
    auto row = q->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(PassUse{std::string(q->text(0)), static_cast<std::uint32_t>(q->integer(1))});
  }
  return out;
}

}  // namespace castellan::store
