// SqliteStore: the embedded Store. One connection in WAL mode (synchronous=FULL), guarded by a
// mutex so callers on several threads are serialized; prepared statements are cached for the
// connection's lifetime. Schema migrations are numbered and recorded in `schema_version`; a
// database of an older version is migrated on open inside one transaction. A new database file
// is created with mode 0600.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "store/store.hpp"

namespace castellan {
struct ChangeAuthor;
}

namespace castellan::store {

namespace sqlite {
class Connection;
}

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) and migrates to the latest schema. 50301 with the reason on
  // failure (unreadable file, newer schema than this binary knows, ...).
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& file);
  ~SqliteStore() override;

  Result<json::object> get(Collection c, std::string_view key) override;
  Result<Page> list(Collection c, std::string_view after, std::size_t limit) override;
  Result<std::vector<json::object>> load_all(Collection c) override;
  Result<void> apply(std::span<const Write> writes) override;
  Result<std::uint64_t> revision() override;
  Result<std::vector<ChangeNote>> unrecorded_changes() override;
  Result<void> forget_change(std::string_view change_id) override;
  Result<void> save_pass_uses(std::span<const PassUse> uses, TimePoint as_of) override;
  Result<std::vector<PassUse>> load_pass_uses() override;
  Result<std::optional<TimePoint>> pass_uses_saved_at() override;

  // The schema version this binary writes.
  static int latest_schema_version();
  // Schema version of the open database (for tests and `castellan` diagnostics).
  int schema_version();

 private:
  explicit SqliteStore(std::unique_ptr<sqlite::Connection> db);
  Result<void> note_change(const ChangeAuthor& author, std::span<const Write> writes);

  std::mutex mu_;
  std::unique_ptr<sqlite::Connection> db_;
};

}  // namespace castellan::store
