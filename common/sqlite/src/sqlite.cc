#include "hopbox/sqlite.h"

namespace hopbox::sqlite {

namespace {

void migrate(sqlite3* db, std::span<const char* const> migrations, const std::string& owner) {
  // Finalized before migrating: an open statement would keep DROP TABLE from running.
  const std::int64_t have = [&] {
    Stmt v(db, "PRAGMA user_version");
    v.step();
    return v.i64(0);
  }();
  const auto want = static_cast<std::int64_t>(migrations.size());
  if (have > want) throw std::runtime_error("database is newer than this " + owner);
  for (std::int64_t i = have; i < want; ++i) {
    Transaction t(db);
    exec(db, migrations[static_cast<std::size_t>(i)]);
    exec(db, ("PRAGMA user_version = " + std::to_string(i + 1)).c_str());
    t.commit();
  }
}

}  // namespace

sqlite3* open_database(const std::string& path, std::span<const char* const> migrations,
                       const std::string& owner) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error("cannot open database " + path + ": " + msg);
  }
  try {
    sqlite3_busy_timeout(db, 5000);
    exec(db, "PRAGMA journal_mode = WAL");
    exec(db, "PRAGMA synchronous = FULL");  // acknowledged means on disk
    exec(db, "PRAGMA foreign_keys = ON");
    migrate(db, migrations, owner);
  } catch (const NotWritable& e) {
    sqlite3_close(db);
    // A WAL database in a folder that cannot be written, or a migration still to make.
    throw std::runtime_error("cannot open database " + path + ": it cannot be written here (" +
                             e.what() + "); check the owner and permissions of it and its folder");
  } catch (const std::exception& e) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open database " + path + ": " + e.what());
  }
  return db;
}

}  // namespace hopbox::sqlite
