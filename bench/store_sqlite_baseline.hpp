// The obvious alternative to the in-memory engine, for bench/access_bench.cpp: answer each swipe
// with indexed SQLite queries over normalized tables (a door lookup and one join from the card
// hash to the groups that contain the door), then apply the same schedule code in C++.
// Passes and anti-passback are left out, which only flatters the baseline.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "access/dataset.hpp"
#include "access/engine.hpp"
#include "access/schedule_eval.hpp"

namespace castellan::bench {

class SqliteAccessBaseline {
 public:
  explicit SqliteAccessBaseline(const access::Dataset& data) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "castellan-access-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    dir_ = tmpl;
    check(sqlite3_open((dir_ + "/baseline.db").c_str(), &db_));
    exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA cache_size=-524288;");
    exec(R"sql(
      CREATE TABLE doors(id TEXT PRIMARY KEY, site TEXT, lockdown INTEGER) WITHOUT ROWID;
      CREATE TABLE users(id TEXT PRIMARY KEY, suspended INTEGER) WITHOUT ROWID;
      CREATE TABLE cards(hash BLOB PRIMARY KEY, user TEXT, status INTEGER, valid_from INTEGER,
                         valid_until INTEGER) WITHOUT ROWID;
      CREATE TABLE members(user TEXT, grp TEXT, PRIMARY KEY (user, grp)) WITHOUT ROWID;
      CREATE TABLE group_doors(grp TEXT, door TEXT, PRIMARY KEY (grp, door)) WITHOUT ROWID;
      CREATE TABLE groups_(id TEXT PRIMARY KEY, schedule TEXT) WITHOUT ROWID;
    )sql");
    exec("BEGIN");
    load(data);
    exec("COMMIT; ANALYZE;");
    for (const auto& [id, s] : data.schedules) schedules_[id] = s;
    for (const auto& [id, h] : data.holidays) holidays_.push_back(date::local_days{h.date});
    std::sort(holidays_.begin(), holidays_.end());
    zone_ = date::locate_zone(data.sites.begin()->second.tz);
    door_q_ = prepare("SELECT site, lockdown FROM doors WHERE id = ?1");
    card_q_ = prepare(R"sql(
      SELECT c.status, c.valid_from, c.valid_until, u.suspended, gd.door IS NOT NULL, g.schedule
      FROM cards c JOIN users u ON u.id = c.user
      LEFT JOIN members m ON m.user = c.user
      LEFT JOIN group_doors gd ON gd.grp = m.grp AND gd.door = ?2
      LEFT JOIN groups_ g ON g.id = gd.grp
      WHERE c.hash = ?1)sql");
  }
  ~SqliteAccessBaseline() {
    sqlite3_finalize(door_q_);
    sqlite3_finalize(card_q_);
    sqlite3_close(db_);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Code decide(const access::DecisionRequest& req) {
    Code code = Code::ERR_DOOR_UNKNOWN;
    sqlite3_bind_text(door_q_, 1, req.door.data(), static_cast<int>(req.door.size()),
                      SQLITE_STATIC);
    if (sqlite3_step(door_q_) == SQLITE_ROW) {
      std::string_view site(reinterpret_cast<const char*>(sqlite3_column_text(door_q_, 0)));
      code = site != req.site                 ? Code::ERR_DOOR_UNKNOWN
             : sqlite3_column_int(door_q_, 1) ? Code::ERR_DOOR_LOCKDOWN
                                              : Code::ERR_CARD_UNKNOWN;
    }
    sqlite3_reset(door_q_);
    if (code != Code::ERR_CARD_UNKNOWN) return code;
    sqlite3_bind_blob(card_q_, 1, req.card_hash.data(), 32, SQLITE_STATIC);
    sqlite3_bind_text(card_q_, 2, req.door.data(), static_cast<int>(req.door.size()),
                      SQLITE_STATIC);
    bool any_door = false, first = true;
    std::int64_t now = to_unix_us(req.now);
    while (sqlite3_step(card_q_) == SQLITE_ROW) {
      if (first) {
        first = false;
        if (sqlite3_column_int(card_q_, 0) != 0) {
          code = Code::ERR_CARD_REVOKED;
          break;
        }
        if (sqlite3_column_int(card_q_, 3) != 0) {
          code = Code::ERR_USER_SUSPENDED;
          break;
        }
        if (now < sqlite3_column_int64(card_q_, 1)) {
          code = Code::ERR_CARD_NOT_YET_VALID;
          break;
        }
        if (now >= sqlite3_column_int64(card_q_, 2)) {
          code = Code::ERR_CARD_EXPIRED;
          break;
        }
        code = Code::ERR_NO_ACCESS;
      }
      if (!sqlite3_column_int(card_q_, 4)) continue;
      any_door = true;
      auto sched = reinterpret_cast<const char*>(sqlite3_column_text(card_q_, 5));
      if (sched == nullptr) {
        code = Code::OK;
        break;
      }
      auto it = schedules_.find(sched);
      if (it != schedules_.end() &&
          access::schedule_allows(it->second, holidays_, access::to_local(*zone_, req.now))) {
        code = Code::OK;
        break;
      }
    }
    sqlite3_reset(card_q_);
    if (code == Code::ERR_NO_ACCESS && any_door) code = Code::ERR_OUTSIDE_SCHEDULE;
    return code;
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) {
      std::fprintf(stderr, "sqlite: %s\n", db_ ? sqlite3_errmsg(db_) : "open failed");
      std::abort();
    }
  }
  void exec(const char* sql) { check(sqlite3_exec(db_, sql, nullptr, nullptr, nullptr)); }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr));
    return s;
  }
  void text(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void run(sqlite3_stmt* s) {
    if (sqlite3_step(s) != SQLITE_DONE) check(SQLITE_ERROR);
    sqlite3_reset(s);
  }

  void load(const access::Dataset& data) {
    sqlite3_stmt* s = prepare("INSERT INTO doors VALUES (?1, ?2, ?3)");
    for (const auto& [id, d] : data.doors) {
      text(s, 1, d.id);
      text(s, 2, d.site);
      sqlite3_bind_int(s, 3, d.lockdown);
      run(s);
    }
    sqlite3_finalize(s);
    s = prepare("INSERT INTO users VALUES (?1, ?2)");
    for (const auto& [id, u] : data.users) {
      text(s, 1, u.id);
      sqlite3_bind_int(s, 2, u.status == access::UserStatus::suspended);
      run(s);
    }
    sqlite3_finalize(s);
    s = prepare("INSERT INTO cards VALUES (?1, ?2, ?3, ?4, ?5)");
    for (const auto& [id, c] : data.cards) {
      sqlite3_bind_blob(s, 1, c.hash.data(), 32, SQLITE_STATIC);
      text(s, 2, c.user);
      sqlite3_bind_int(s, 3, c.status != access::CardStatus::active);
      sqlite3_bind_int64(s, 4, c.valid_from ? to_unix_us(*c.valid_from) : INT64_MIN);
      sqlite3_bind_int64(s, 5, c.valid_until ? to_unix_us(*c.valid_until) : INT64_MAX);
      run(s);
    }
    sqlite3_finalize(s);
    sqlite3_stmt* m = prepare("INSERT OR IGNORE INTO members VALUES (?1, ?2)");
    sqlite3_stmt* gd = prepare("INSERT OR IGNORE INTO group_doors VALUES (?1, ?2)");
    s = prepare("INSERT INTO groups_ VALUES (?1, ?2)");
    for (const auto& [id, g] : data.groups) {
      text(s, 1, g.id);
      if (g.schedule)
        text(s, 2, *g.schedule);
      else
        sqlite3_bind_null(s, 2);
      run(s);
      for (const auto& u : g.members) {
        text(m, 1, u);
        text(m, 2, g.id);
        run(m);
      }
      for (const auto& d : g.doors) {
        text(gd, 1, g.id);
        text(gd, 2, d);
        run(gd);
      }
    }
    sqlite3_finalize(s);
    sqlite3_finalize(m);
    sqlite3_finalize(gd);
  }

  std::string dir_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* door_q_ = nullptr;
  sqlite3_stmt* card_q_ = nullptr;
  std::unordered_map<std::string, access::Schedule> schedules_;
  std::vector<date::local_days> holidays_;
  const date::time_zone* zone_ = nullptr;
};

}  // namespace castellan::bench
