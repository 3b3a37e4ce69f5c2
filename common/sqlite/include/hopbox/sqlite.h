// SQLite as Hopbox's embedded stores use it: prepared statements with typed binds, immediate
// transactions that roll back unless committed, and a database opened in WAL mode with
// synchronous writes and foreign keys, migrated forward by numbered steps.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hopbox::sqlite {

using Bytes = std::vector<std::uint8_t>;

// A write refused because the database cannot be written (a read-only file or file system, a
// file owned by another user): nothing was changed, and reads still work. Callers tell it apart
// from other failures to say so, instead of "internal error".
class NotWritable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws NotWritable for SQLITE_READONLY (any extended code), else std::runtime_error.
[[noreturn]] inline void fail(sqlite3* db, int rc, const std::string& what) {
  const std::string msg = what + ": " + sqlite3_errmsg(db);
  if ((rc & 0xff) == SQLITE_READONLY) throw NotWritable(msg);
  throw std::runtime_error(msg);
}

// A prepared statement with typed binds and columns; finalized on destruction.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
    }
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, const Bytes& v) {
    // An empty vector may have no data pointer, which SQLite would store as NULL.
    if (v.empty()) {
      sqlite3_bind_zeroblob(st_, i, 0);
    } else {
      sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(st_, i);
    return *this;
  }
  // True while there is a row; throws on errors (constraint violations included).
  bool step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, "sqlite step");
  }
  // Runs a statement that returns no rows; false on a constraint violation.
  bool exec_allow_constraint() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_DONE) return true;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) return false;
    fail(db_, rc, "sqlite step");
  }
  std::int64_t i64(int c) { return sqlite3_column_int64(st_, c); }
  bool is_null(int c) { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
  std::string text(int c) {
    const auto* p = sqlite3_column_text(st_, c);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(st_, c)))
             : std::string();
  }
  Bytes blob(int c) {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st_, c));
    return p ? Bytes(p, p + sqlite3_column_bytes(st_, c)) : Bytes();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

inline void exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err); rc != SQLITE_OK) {
    std::string msg = err ? err : "unknown";
    sqlite3_free(err);
    if ((rc & 0xff) == SQLITE_READONLY) throw NotWritable("sqlite: " + msg);
    throw std::runtime_error("sqlite: " + msg);
  }
}

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed (exceptions included).
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) { exec(db_, "BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec(db_, "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

// Opens (creating) the database at `path` and applies the migrations it has not seen yet
// (PRAGMA user_version counts them). `owner` names the program in errors. A file that cannot be
// written is opened read-only (sqlite3_db_readonly tells; writes then throw NotWritable) if
// nothing needs writing to open it. Throws std::runtime_error naming `path`; the caller closes
// the handle with sqlite3_close.
sqlite3* open_database(const std::string& path, std::span<const char* const> migrations,
                       const std::string& owner);

}  // namespace hopbox::sqlite
