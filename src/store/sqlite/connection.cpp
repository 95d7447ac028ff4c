#include "store/sqlite/connection.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace castellan::store::sqlite {
namespace {

// Every error names its store file: "database or disk is full" must say which disk.
std::string store_of(sqlite3* db) {
  const char* file = db ? sqlite3_db_filename(db, "main") : nullptr;
  return std::string("store ") + (file && *file ? file : "(no file)") + ": ";
}

}  // namespace

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  return make_error(Code::ERR_UNAVAILABLE, store_of(db) + "sqlite step: " + sqlite3_errmsg(db));
}

std::string_view Statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p == nullptr
             ? std::string_view()
             : std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

Result<std::unique_ptr<Connection>> Connection::open(const std::filesystem::path& file) {
  // Create the file ourselves first so it is 0600 from its first byte (SQLite would use 0644).
  int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "cannot open store file " + file.string() + ": " + std::strerror(errno));
  }
  ::fchmod(fd, 0600);
  ::close(fd);
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<Connection> conn(new Connection(raw));  // closes even on failure
  if (rc != SQLITE_OK) {
    return make_error(Code::ERR_UNAVAILABLE, "store " + file.string() + ": open: " +
                                                 (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, 5000);
  // synchronous=FULL: in WAL mode NORMAL does not sync at commit, so a power cut could undo a
  // change the API already confirmed (a revoked card active again). Writes here are rare.
  auto pragmas =
      conn->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  if (!pragmas) return pragmas.error();
  return conn;
}

std::string Connection::where() const {
  return store_of(db_);
}

Connection::~Connection() {
  cache_.clear();
  sqlite3_close_v2(db_);
}

Error Connection::error(std::string_view context) const {
  return make_error(Code::ERR_UNAVAILABLE, store_of(db_) + std::string(context) + ": " +
                                               (db_ ? sqlite3_errmsg(db_) : "out of memory"));
}

Result<void> Connection::exec(std::string_view sql) {
  char* msg = nullptr;
  std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string m = msg ? msg : "unknown error";
    sqlite3_free(msg);
    return make_error(Code::ERR_UNAVAILABLE, store_of(db_) + "sqlite: " + m);
  }
  return {};
}

Result<Statement> Connection::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
        SQLITE_OK) {
      return error("prepare");
    }
    it = cache_.emplace(sql, std::unique_ptr<sqlite3_stmt, Finalize>(stmt)).first;
  }
  return Statement(it->second.get());
}

Transaction::~Transaction() {
  if (open_) (void)db_.exec("ROLLBACK");
}

Result<void> Transaction::begin() {
  auto r = db_.exec("BEGIN IMMEDIATE");
  open_ = r.ok();
  return r;
}

Result<void> Transaction::commit() {
  auto r = db_.exec("COMMIT");
  if (r) open_ = false;
  return r;
}

}  // namespace castellan::store::sqlite
