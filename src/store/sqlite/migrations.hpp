// Numbered schema migrations of the SQLite store. Version N's script turns a version N-1
// database into version N; `schema_version` records where a database is. migrate() runs the
// missing steps in one transaction, so a failed migration leaves the old schema intact.
#pragma once

#include "core/result.hpp"
#include "store/sqlite/connection.hpp"

namespace castellan::store::sqlite {

int latest_schema_version();
// 0 for a brand-new (empty) database.
Result<int> schema_version(Connection& db);
// Brings the database to `target` (<= latest). A database newer than this binary is refused.
Result<void> migrate(Connection& db, int target);

}  // namespace castellan::store::sqlite
