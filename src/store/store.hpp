// Store: persistence of the resource documents (JSON objects, with any extra fields) and of
// pass use counts. Blocking calls: run them off the io threads. The interface speaks only
// collections and documents so that a PostgreSQL backend can implement it beside SQLite.
// Every successful write bumps a monotonically increasing revision, in the same transaction.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "access/model.hpp"
#include "access/pass_ledger.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace castellan::store {

using access::Collection;
using access::PassUse;
namespace json = boost::json;

struct Page {
  std::vector<json::object> items;         // ordered by key
  std::optional<std::string> next_cursor;  // key of the last item when more may follow
};

// One write of an atomic batch. The key of insert/replace is taken from the document
// ("id", or "username" for accounts).
struct Write {
  enum class Kind { insert, replace, remove };
  Kind kind = Kind::insert;
  Collection collection = Collection::sites;
  std::string key;   // for remove; for insert/replace filled from the document if empty
  json::object doc;  // for insert/replace
};

// A write batch made under a ChangeScope (core/change_scope.hpp), noted in the batch's own
// transaction: the change is in the store, and its admin record may not be in the journal yet.
struct ChangeNote {
  std::string change_id;
  std::string trace_id;
  std::string actor;
  std::string route;
  TimePoint at{};
  json::array writes;  // [{"op":"insert"|"replace"|"remove","collection","id"}], in order
};

class Store {
 public:
  virtual ~Store() = default;

  // 40402 ERR_NOT_FOUND if absent.
  virtual Result<json::object> get(Collection c, std::string_view key) = 0;
  // Items with key > `after` (empty = from the start), at most `limit` (>= 1).
  virtual Result<Page> list(Collection c, std::string_view after, std::size_t limit) = 0;
  // Every document of a collection (snapshot building at start).
  virtual Result<std::vector<json::object>> load_all(Collection c) = 0;

  // All-or-nothing. insert of an existing key -> 40901 ERR_CONFLICT; replace/remove of a
  // missing key -> 40402 ERR_NOT_FOUND; nothing of the batch is applied then.
  virtual Result<void> apply(std::span<const Write> writes) = 0;

  Result<void> insert(Collection c, const json::object& doc);
  Result<void> replace(Collection c, const json::object& doc);
  Result<void> remove(Collection c, std::string_view key);

  // Revision after the last committed write (0 for an empty store).
  virtual Result<std::uint64_t> revision() = 0;

  // Unrecorded changes: apply() under a ChangeScope also notes the batch (ChangeNote), so that a
  // crash between the commit and the change's admin record loses no record: the server journals
  // the notes it finds at start. forget_change() drops the notes of a change once its record is
  // durable. Notes in the order they were made.
  virtual Result<std::vector<ChangeNote>> unrecorded_changes() = 0;
  virtual Result<void> forget_change(std::string_view change_id) = 0;

  // Pass use counts: upsert, and read all back at start. `as_of` is a time before which every
  // use taken is in the counts saved so far (the saver's clock, read before it took them).
  virtual Result<void> save_pass_uses(std::span<const PassUse> uses, TimePoint as_of) = 0;
  virtual Result<std::vector<PassUse>> load_pass_uses() = 0;
  // The latest `as_of` saved (nullopt: counts were never saved).
  virtual Result<std::optional<TimePoint>> pass_uses_saved_at() = 0;
};

}  // namespace castellan::store
