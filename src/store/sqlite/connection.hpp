// RAII wrappers over the SQLite C API: Connection owns a sqlite3* and a cache of prepared
// statements; Statement is a borrowed, reset-on-scope-exit handle to a cached statement;
// Transaction rolls back unless committed.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/result.hpp"

namespace castellan::store::sqlite {

class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}
  ~Statement() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);
  // SQLITE_ROW -> true, SQLITE_DONE -> false; other codes -> error.
  Result<bool> step();
  std::string_view text(int column) const;
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }

 private:
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> open(const std::filesystem::path& file);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results.
  Result<void> exec(std::string_view sql);
  // A cached prepared statement (prepared on first use).
  Result<Statement> prepare(const std::string& sql);
  // The last error as "<context>: <sqlite message>", as an ERR_UNAVAILABLE Error.
  Error error(std::string_view context) const;
  int changes() const { return sqlite3_changes(db_); }
  // "store PATH: ", the start of every error about this connection's file.
  std::string where() const;
  sqlite3* handle() const { return db_; }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  struct Finalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  sqlite3* db_;
  std::map<std::string, std::unique_ptr<sqlite3_stmt, Finalize>> cache_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK in the destructor unless commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) {}
  ~Transaction();
  Result<void> begin();
  Result<void> commit();

 private:
  Connection& db_;
  bool open_ = false;
};

}  // namespace castellan::store::sqlite
