#include "sqlite_store.h"

#include "hopbox/sqlite.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace hopboxd {

using hopbox::sqlite::exec;
using hopbox::sqlite::Stmt;

namespace {

// BEGIN IMMEDIATE ... COMMIT, rolled back if not committed (exceptions included); within a
// transaction already (atomically()), a savepoint, so that the outer one commits it all.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db), nested_(sqlite3_get_autocommit(db) == 0) {
    exec(db_, nested_ ? "SAVEPOINT nested" : "BEGIN IMMEDIATE");
  }
  ~Transaction() {
    if (done_) return;
    sqlite3_exec(db_, nested_ ? "ROLLBACK TO nested; RELEASE nested" : "ROLLBACK", nullptr, nullptr,
                 nullptr);
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec(db_, nested_ ? "RELEASE nested" : "COMMIT");
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool nested_;
  bool done_ = false;
};

// The schema, one migration per entry; user_version counts the migrations applied. Ids are
// AUTOINCREMENT: a revoked key's or removed device's id is never given to another.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE TABLE devices (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  is_primary INTEGER NOT NULL,
  signing_key BLOB NOT NULL,
  encryption_key BLOB NOT NULL,
  fingerprint BLOB NOT NULL UNIQUE,
  certificate_chain BLOB NOT NULL,
  created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE TABLE challenges (
  device_id INTEGER NOT NULL REFERENCES devices(id),
  challenge BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (device_id, challenge)
);
CREATE TABLE sessions (
  token_hash BLOB PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  expires_at INTEGER NOT NULL
);
CREATE TABLE items (
  owner_id INTEGER NOT NULL REFERENCES users(id),
  item_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  folder TEXT NOT NULL,
  capsule BLOB NOT NULL,
  wrapped_key BLOB NOT NULL,
  metadata BLOB NOT NULL,
  payload_header BLOB NOT NULL,
  payload_digest TEXT NOT NULL,
  payload_size INTEGER NOT NULL,
  signature BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (owner_id, item_id)
);
CREATE INDEX items_by_digest ON items(payload_digest);
CREATE TABLE rekeys (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  creator_device INTEGER NOT NULL REFERENCES devices(id),
  from_device INTEGER NOT NULL REFERENCES devices(id),
  to_device INTEGER NOT NULL REFERENCES devices(id),
  kind INTEGER NOT NULL,
  user_id INTEGER NOT NULL REFERENCES users(id),
  scope INTEGER NOT NULL,
  folder TEXT NOT NULL,
  items TEXT NOT NULL,
  expires_at INTEGER,
  rekey BLOB NOT NULL,
  from_fingerprint BLOB NOT NULL,
  to_fingerprint BLOB NOT NULL
);
CREATE INDEX rekeys_by_user ON rekeys(user_id);
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  to_device INTEGER NOT NULL REFERENCES devices(id),
  from_device INTEGER NOT NULL REFERENCES devices(id),
  kind TEXT NOT NULL,
  body BLOB NOT NULL,
  created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX notifications_by_device ON notifications(to_device, id);
CREATE TABLE recovery_blobs (
  user_id INTEGER NOT NULL REFERENCES users(id),
  name TEXT NOT NULL,
  blob BLOB NOT NULL,
  PRIMARY KEY (user_id, name)
);
)sql",
    // Recovery by a secondary device: a lost device is locked out but stays a node of the key
    // network, so that data encrypted for it remains readable through its edges.
    R"sql(
ALTER TABLE devices ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
)sql",
    // Recovery by recovery users: a recovery user's dedicated key for one protected user is a
    // node of the key network (never a device that signs in); a new device of a user who lost
    // every device waits, pending, until a recovery makes it the primary.
    R"sql(
ALTER TABLE devices ADD COLUMN recovery_for INTEGER REFERENCES users(id);
ALTER TABLE devices ADD COLUMN pending_recovery INTEGER NOT NULL DEFAULT 0;
)sql",
    // Recoveries in progress, each with its waiting period, the recovery users it asked and
    // those who refused: PromoteDevice completes only such a request, and any device of the
    // account can cancel it meanwhile.
    R"sql(
CREATE TABLE recovery_requests (
  device_id INTEGER PRIMARY KEY REFERENCES devices(id),
  user_id INTEGER NOT NULL REFERENCES users(id),
  new_device INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  not_before INTEGER NOT NULL
);
CREATE INDEX recovery_requests_by_user ON recovery_requests(user_id);
CREATE TABLE recovery_request_users (
  device_id INTEGER NOT NULL REFERENCES recovery_requests(device_id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  refused INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (device_id, user_id)
);
CREATE INDEX notifications_by_sender ON notifications(to_device, from_device);
DELETE FROM notifications;
)sql",
    // R3 in its own tables, its per-user approvals (which counted for any request) dropped:
    // approvals and the "keys installed" flag belong to one request (a pending device) and go
    // with it. A key the service opens serves that request only (rekeys.only_towards).
    R"sql(
CREATE TABLE r3_setups (
  user_id INTEGER PRIMARY KEY REFERENCES users(id),
  config BLOB NOT NULL
);
CREATE TABLE r3_approvals (
  request_id INTEGER NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id),
  approver_id INTEGER NOT NULL REFERENCES users(id),
  shares BLOB NOT NULL,
  bad INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (request_id, approver_id)
);
CREATE INDEX r3_approvals_by_user ON r3_approvals(user_id);
CREATE TABLE r3_installed (
  request_id INTEGER PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id)
);
INSERT INTO r3_setups(user_id, config)
  SELECT user_id, blob FROM recovery_blobs WHERE name = 'r3:config' AND length(blob) > 0;
DROP TABLE recovery_blobs;
ALTER TABLE rekeys ADD COLUMN only_towards INTEGER REFERENCES devices(id);
)sql",
    // A recovery user vouches for the code a protected user showed them: that request enters
    // even when strangers fill the places for pending requests.
    R"sql(
CREATE TABLE recovery_vouches (
  user_id INTEGER NOT NULL REFERENCES users(id),
  voucher_id INTEGER NOT NULL REFERENCES users(id),
  code TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, voucher_id, code)
);
)sql",
    // An invitation registers one recovery key, once: a recovery user removed by the protected
    // user cannot answer the same invitation again.
    R"sql(
CREATE TABLE used_invitations (
  nonce BLOB PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
)sql",
    // Issue 13: an item's real name and folder, sealed with its owner's name key (opaque).
    R"sql(
ALTER TABLE items ADD COLUMN sealed_name BLOB NOT NULL DEFAULT x'';
)sql",
    // Issue 14: the keys each account revoked (ids are never reused), so that a revocation
    // retried after a crash that lost its answer is answered as the first was.
    R"sql(
CREATE TABLE revoked_rekeys (
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id)
);
)sql",
    // A share's or recovery edge's statement, signed by the device that made it: a recovery
    // remakes only what the lost primary signed. Edges made before have none (not remade).
    R"sql(
ALTER TABLE rekeys ADD COLUMN statement BLOB NOT NULL DEFAULT x'';
)sql",
};

const char* const kDeviceColumns =
    "d.id, d.user_id, u.name, d.name, d.is_primary, d.signing_key, d.encryption_key, "
    "d.fingerprint, d.certificate_chain, d.lost, d.recovery_for, "
    "COALESCE((SELECT name FROM users WHERE id = d.recovery_for), ''), d.pending_recovery, "
    "d.created_at "
    "FROM devices d JOIN users u ON u.id = d.user_id ";

DeviceRecord read_device(Stmt& s) {
  DeviceRecord d;
  d.id = s.i64(0);
  d.user_id = s.i64(1);
  d.user = s.text(2);
  d.name = s.text(3);
  d.primary = s.i64(4) != 0;
  d.signing_key = s.blob(5);
  d.encryption_key = s.blob(6);
  d.fingerprint = s.blob(7);
  d.certificate_chain = s.blob(8);
  d.lost = s.i64(9) != 0;
  if (!s.is_null(10)) d.recovery_for = s.i64(10);
  d.recovery_for_user = s.text(11);
  d.pending_recovery = s.i64(12) != 0;
  d.created_at = s.i64(13);
  return d;
}

const char* const kItemColumns =
    "i.owner_id, u.name, i.item_id, i.version, i.folder, i.capsule, i.wrapped_key, i.metadata, "
    "i.payload_header, i.payload_digest, i.payload_size, i.signature, i.created_at, "
    "i.sealed_name "
    "FROM items i JOIN users u ON u.id = i.owner_id ";

ItemRecord read_item(Stmt& s) {
  ItemRecord r;
  r.owner_id = s.i64(0);
  r.owner = s.text(1);
  r.item_id = s.text(2);
  r.version = s.i64(3);
  r.folder = s.text(4);
  r.capsule = s.blob(5);
  r.wrapped_key = s.blob(6);
  r.metadata = s.blob(7);
  r.payload_header = s.blob(8);
  r.payload_digest = s.text(9);
  r.payload_size = s.i64(10);
  r.signature = s.blob(11);
  r.created_at = s.i64(12);
  r.sealed_name = s.blob(13);
  return r;
}

// Listed item ids of a policy, stored as one text field separated by newlines (item ids
// cannot contain a newline: the service checks their alphabet).
std::string join_items(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += '\n';
    out += i;
  }
  return out;
}
std::vector<std::string> split_items(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    const std::size_t end = s.find('\n', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

const char* const kReKeyColumns =
    "id, creator_device, from_device, to_device, kind, user_id, scope, folder, items, "
    "expires_at, rekey, from_fingerprint, to_fingerprint, only_towards, statement FROM rekeys ";

ReKeyRecord read_rekey(Stmt& s) {
  ReKeyRecord r;
  r.id = s.i64(0);
  r.creator_device = s.i64(1);
  r.edge.id = r.id;
  r.edge.from = s.i64(2);
  r.edge.to = s.i64(3);
  r.edge.kind = static_cast<EdgeKind>(s.i64(4));
  r.edge.user = s.i64(5);
  r.edge.policy.scope = static_cast<SharePolicy::Scope>(s.i64(6));
  r.edge.policy.folder = s.text(7);
  r.edge.policy.items = split_items(s.text(8));
  if (!s.is_null(9)) r.edge.expires = s.i64(9);
  r.rekey = s.blob(10);
  r.from_fingerprint = s.blob(11);
  r.to_fingerprint = s.blob(12);
  if (!s.is_null(13)) r.edge.only_towards = s.i64(13);
  r.statement = s.blob(14);
  return r;
}

std::vector<std::string> orphans_among(sqlite3* db, const std::vector<std::string>& digests) {
  std::vector<std::string> out;
  for (const auto& d : digests) {
    Stmt s(db, "SELECT COUNT(*) FROM items WHERE payload_digest = ?");
    s.bind(1, d);
    if (s.step() && s.i64(0) == 0) out.push_back(d);
  }
  return out;
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path)
    : db_(hopbox::sqlite::open_database(path, kMigrations, "hopboxd")) {}

SqliteStore::~SqliteStore() {
  sqlite3_close(db_);
}

void SqliteStore::atomically(const std::function<void()>& writes) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  writes();
  t.commit();
}

bool SqliteStore::writable() const {
  return sqlite3_db_readonly(db_, "main") == 0;
}

std::optional<DeviceRecord> SqliteStore::create_account(const std::string& user,
                                                        const DeviceRecord& first) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt u(db_, "INSERT INTO users(name) VALUES (?)");
  u.bind(1, user);
  if (!u.exec_allow_constraint()) return std::nullopt;
  const UserId uid = sqlite3_last_insert_rowid(db_);
  Stmt d(db_,
         "INSERT INTO devices(user_id, name, is_primary, signing_key, encryption_key, "
         "fingerprint, certificate_chain) VALUES (?, ?, 1, ?, ?, ?, ?)");
  d.bind(1, uid).bind(2, first.name).bind(3, first.signing_key).bind(4, first.encryption_key);
  d.bind(5, first.fingerprint).bind(6, first.certificate_chain);
  if (!d.exec_allow_constraint()) return std::nullopt;
  DeviceRecord out = first;
  out.id = sqlite3_last_insert_rowid(db_);
  out.user_id = uid;
  out.user = user;
  out.primary = true;
  t.commit();
  return out;
}

std::optional<DeviceRecord> SqliteStore::add_device(UserId user, const DeviceRecord& device) {
  std::lock_guard lock(mu_);
  return insert_device_locked(user, device);
}

std::optional<DeviceRecord> SqliteStore::add_recovering_device(UserId user,
                                                               const DeviceRecord& device,
                                                               RecoveryRequestRecord& request) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  auto added = insert_device_locked(user, device);
  if (!added) return std::nullopt;
  request.device = added->id;
  request.user_id = user;
  put_recovery_request_locked(request);
  t.commit();
  return added;
}

std::optional<DeviceRecord> SqliteStore::insert_device_locked(UserId user,
                                                              const DeviceRecord& device) {
  Stmt d(db_,
         "INSERT INTO devices(user_id, name, is_primary, signing_key, encryption_key, "
         "fingerprint, certificate_chain, recovery_for, pending_recovery) "
         "VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?)");
  d.bind(1, user).bind(2, device.name).bind(3, device.signing_key).bind(4, device.encryption_key);
  d.bind(5, device.fingerprint).bind(6, device.certificate_chain);
  if (device.recovery_for) {
    d.bind(7, *device.recovery_for);
  } else {
    d.bind_null(7);
  }
  d.bind(8, std::int64_t{device.pending_recovery ? 1 : 0});
  if (!d.exec_allow_constraint()) return std::nullopt;
  const std::int64_t id = sqlite3_last_insert_rowid(db_);
  Stmt s(db_, (std::string("SELECT ") + kDeviceColumns + "WHERE d.id = ?").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_device(s);
}

std::optional<DeviceRecord> SqliteStore::device(std::int64_t id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kDeviceColumns + "WHERE d.id = ?").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_device(s);
}

std::optional<DeviceRecord> SqliteStore::device_by_fingerprint(const Bytes& fingerprint) {
  std::lock_guard lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kDeviceColumns + "WHERE d.fingerprint = ?").c_str());
  s.bind(1, fingerprint);
  if (!s.step()) return std::nullopt;
  return read_device(s);
}

std::vector<DeviceRecord> SqliteStore::devices_of(UserId user) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         (std::string("SELECT ") + kDeviceColumns + "WHERE d.user_id = ? ORDER BY d.id").c_str());
  s.bind(1, user);
  std::vector<DeviceRecord> out;
  while (s.step()) out.push_back(read_device(s));
  return out;
}

std::optional<UserId> SqliteStore::user_id(const std::string& user) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT id FROM users WHERE name = ?");
  s.bind(1, user);
  if (!s.step()) return std::nullopt;
  return s.i64(0);
}

bool SqliteStore::promote_device(UserId user, std::int64_t new_primary, std::int64_t lost,
                                 const Bytes& certificate_chain) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt check(db_,
             "SELECT COUNT(*) FROM devices WHERE user_id = ?1 AND lost = 0 AND "
             "recovery_for IS NULL AND ((id = ?2 AND is_primary = 0) OR "
             "(id = ?3 AND is_primary = 1))");
  check.bind(1, user).bind(2, new_primary).bind(3, lost);
  if (!check.step() || check.i64(0) != 2) return false;
  Stmt old(db_, "UPDATE devices SET is_primary = 0, lost = 1 WHERE id = ?");
  old.bind(1, lost);
  old.step();
  Stmt promoted(db_,
                "UPDATE devices SET is_primary = 1, pending_recovery = 0, certificate_chain = ?2 "
                "WHERE id = ?1");
  promoted.bind(1, new_primary).bind(2, certificate_chain);
  promoted.step();
  // Its sessions stay on record only so that it hears why it is refused (authentication
  // checks the lost flag on every call).
  for (const char* sql : {"DELETE FROM challenges WHERE device_id = ?1",
                          "DELETE FROM notifications WHERE to_device = ?1"}) {
    Stmt s(db_, sql);
    s.bind(1, lost);
    s.step();
  }
  t.commit();
  return true;
}

void SqliteStore::set_certificate_chain(std::int64_t device, const Bytes& certificate_chain) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "UPDATE devices SET certificate_chain = ? WHERE id = ?");
  s.bind(1, certificate_chain).bind(2, device);
  s.step();
}

std::vector<std::int64_t> SqliteStore::remove_device(std::int64_t id) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt k(db_,
         "DELETE FROM rekeys WHERE from_device = ?1 OR to_device = ?1 OR creator_device = ?1 "
         "OR only_towards = ?1 RETURNING id");
  k.bind(1, id);
  std::vector<std::int64_t> removed;
  while (k.step()) removed.push_back(k.i64(0));
  for (const char* sql :
       {"DELETE FROM sessions WHERE device_id = ?1", "DELETE FROM challenges WHERE device_id = ?1",
        "DELETE FROM notifications WHERE to_device = ?1 OR from_device = ?1",
        "DELETE FROM recovery_request_users WHERE device_id = ?1",
        "DELETE FROM recovery_requests WHERE device_id = ?1",
        "DELETE FROM devices WHERE id = ?1"}) {
    Stmt s(db_, sql);
    s.bind(1, id);
    s.step();
  }
  t.commit();
  return removed;
}

void SqliteStore::put_challenge(std::int64_t device, const Bytes& challenge, std::int64_t expires,
                                std::int64_t max_outstanding) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  // Make room first: the device's newest max_outstanding - 1 challenges stay.
  Stmt old(
      db_,
      "DELETE FROM challenges WHERE rowid IN (SELECT rowid FROM challenges WHERE device_id = ? "
      "ORDER BY expires_at DESC, rowid DESC LIMIT -1 OFFSET ?)");
  old.bind(1, device).bind(2, std::max<std::int64_t>(max_outstanding - 1, 0));
  old.step();
  Stmt s(db_, "INSERT INTO challenges(device_id, challenge, expires_at) VALUES (?, ?, ?)");
  s.bind(1, device).bind(2, challenge).bind(3, expires);
  s.step();
  t.commit();
}

bool SqliteStore::take_challenge(std::int64_t device, const Bytes& challenge, std::int64_t now) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "DELETE FROM challenges WHERE device_id = ? AND challenge = ? RETURNING expires_at");
  s.bind(1, device).bind(2, challenge);
  bool ok = false;
  while (s.step()) ok = s.i64(0) > now;
  Stmt old(db_, "DELETE FROM challenges WHERE expires_at <= ?");
  old.bind(1, now);
  old.step();
  return ok;
}

void SqliteStore::put_session(const Bytes& token_hash, std::int64_t device, std::int64_t expires) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "INSERT INTO sessions(token_hash, device_id, expires_at) VALUES (?, ?, ?)");
  s.bind(1, token_hash).bind(2, device).bind(3, expires);
  s.step();
}

void SqliteStore::purge_expired(std::int64_t now) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  for (const char* sql : {"DELETE FROM challenges WHERE expires_at <= ?",
                          "DELETE FROM sessions WHERE expires_at <= ?"}) {
    Stmt s(db_, sql);
    s.bind(1, now);
    s.step();
  }
  t.commit();
}

std::optional<std::int64_t> SqliteStore::session_device(const Bytes& token_hash, std::int64_t now) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT device_id FROM sessions WHERE token_hash = ? AND expires_at > ?");
  s.bind(1, token_hash).bind(2, now);
  if (!s.step()) return std::nullopt;
  return s.i64(0);
}

std::optional<std::int64_t> SqliteStore::put_item(const ItemRecord& item, bool replace,
                                                  std::vector<std::string>& orphaned) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt cur(db_, "SELECT version, payload_digest FROM items WHERE owner_id = ? AND item_id = ?");
  cur.bind(1, item.owner_id).bind(2, item.item_id);
  std::int64_t version = 1;
  std::string old_digest;
  if (cur.step()) {
    if (!replace) return std::nullopt;
    version = cur.i64(0) + 1;
    old_digest = cur.text(1);
  }
  Stmt s(db_,
         "INSERT OR REPLACE INTO items(owner_id, item_id, version, folder, capsule, wrapped_key, "
         "metadata, payload_header, payload_digest, payload_size, signature, created_at, "
         "sealed_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, unixepoch(), ?)");
  s.bind(1, item.owner_id).bind(2, item.item_id).bind(3, version).bind(4, item.folder);
  s.bind(5, item.capsule).bind(6, item.wrapped_key).bind(7, item.metadata);
  s.bind(8, item.payload_header).bind(9, item.payload_digest).bind(10, item.payload_size);
  s.bind(11, item.signature).bind(12, item.sealed_name);
  s.step();
  if (!old_digest.empty() && old_digest != item.payload_digest) {
    orphaned = orphans_among(db_, {old_digest});
  }
  t.commit();
  return version;
}

std::optional<ItemRecord> SqliteStore::item(UserId owner, const std::string& item_id) {
  std::lock_guard lock(mu_);
  Stmt s(
      db_,
      (std::string("SELECT ") + kItemColumns + "WHERE i.owner_id = ? AND i.item_id = ?").c_str());
  s.bind(1, owner).bind(2, item_id);
  if (!s.step()) return std::nullopt;
  return read_item(s);
}

std::optional<std::int64_t> SqliteStore::refresh_item(UserId owner, const std::string& item_id,
                                                      std::int64_t expected_version,
                                                      const Bytes& capsule,
                                                      const Bytes& wrapped_key,
                                                      const Bytes& signature) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "UPDATE items SET version = version + 1, capsule = ?, wrapped_key = ?, signature = ? "
         "WHERE owner_id = ? AND item_id = ? AND version = ? RETURNING version");
  s.bind(1, capsule).bind(2, wrapped_key).bind(3, signature).bind(4, owner).bind(5, item_id);
  s.bind(6, expected_version);
  std::optional<std::int64_t> version;
  while (s.step()) version = s.i64(0);
  return version;
}

std::vector<ItemRecord> SqliteStore::items_of(UserId owner) {
  std::lock_guard lock(mu_);
  Stmt s(
      db_,
      (std::string("SELECT ") + kItemColumns + "WHERE i.owner_id = ? ORDER BY i.item_id").c_str());
  s.bind(1, owner);
  std::vector<ItemRecord> out;
  while (s.step()) out.push_back(read_item(s));
  return out;
}

bool SqliteStore::delete_item(UserId owner, const std::string& item_id,
                              std::vector<std::string>& orphaned) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt s(db_, "DELETE FROM items WHERE owner_id = ? AND item_id = ? RETURNING payload_digest");
  s.bind(1, owner).bind(2, item_id);
  std::vector<std::string> digests;
  while (s.step()) digests.push_back(s.text(0));
  if (digests.empty()) return false;
  orphaned = orphans_among(db_, digests);
  t.commit();
  return true;
}

std::vector<std::string> SqliteStore::all_payload_digests() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT DISTINCT payload_digest FROM items");
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::int64_t SqliteStore::put_rekey(const ReKeyRecord& rk) {
  std::lock_guard lock(mu_);
  return insert_rekey(rk);
}

std::optional<std::int64_t> SqliteStore::put_rekey_bounded(const ReKeyRecord& rk,
                                                           std::int64_t max_from_key) {
  // Counted and inserted under one lock: concurrent installs cannot pass the bound together.
  std::lock_guard lock(mu_);
  Stmt n(db_, "SELECT COUNT(*) FROM rekeys WHERE from_device = ?");
  n.bind(1, rk.edge.from);
  n.step();
  if (n.i64(0) >= max_from_key) return std::nullopt;
  return insert_rekey(rk);
}

std::int64_t SqliteStore::insert_rekey(const ReKeyRecord& rk) {
  Stmt s(db_,
         "INSERT INTO rekeys(creator_device, from_device, to_device, kind, user_id, scope, "
         "folder, items, expires_at, rekey, from_fingerprint, to_fingerprint, only_towards, "
         "statement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, rk.creator_device).bind(2, rk.edge.from).bind(3, rk.edge.to);
  s.bind(4, static_cast<std::int64_t>(rk.edge.kind)).bind(5, rk.edge.user);
  s.bind(6, static_cast<std::int64_t>(rk.edge.policy.scope)).bind(7, rk.edge.policy.folder);
  s.bind(8, join_items(rk.edge.policy.items));
  if (rk.edge.expires) {
    s.bind(9, *rk.edge.expires);
  } else {
    s.bind_null(9);
  }
  s.bind(10, rk.rekey).bind(11, rk.from_fingerprint).bind(12, rk.to_fingerprint);
  if (rk.edge.only_towards != 0) {
    s.bind(13, rk.edge.only_towards);
  } else {
    s.bind_null(13);
  }
  s.bind(14, rk.statement);
  s.step();
  return sqlite3_last_insert_rowid(db_);
}

std::optional<ReKeyRecord> SqliteStore::rekey(std::int64_t id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kReKeyColumns + "WHERE id = ?").c_str());
  s.bind(1, id);
  if (!s.step()) return std::nullopt;
  return read_rekey(s);
}

bool SqliteStore::delete_rekey(std::int64_t id, UserId by) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt s(db_, "DELETE FROM rekeys WHERE id = ?");
  s.bind(1, id);
  s.step();
  if (sqlite3_changes(db_) == 0) return false;
  Stmt r(db_, "INSERT OR IGNORE INTO revoked_rekeys(id, user_id) VALUES (?, ?)");
  r.bind(1, id).bind(2, by);
  r.step();
  t.commit();
  return true;
}

bool SqliteStore::revoked_rekey(std::int64_t id, UserId by) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT 1 FROM revoked_rekeys WHERE id = ? AND user_id = ?");
  s.bind(1, id).bind(2, by);
  return s.step();
}

std::vector<ReKeyRecord> SqliteStore::rekeys_created_by(UserId user) {
  std::lock_guard lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kReKeyColumns +
               "WHERE creator_device IN (SELECT id FROM devices WHERE user_id = ?) ORDER BY id")
                  .c_str());
  s.bind(1, user);
  std::vector<ReKeyRecord> out;
  while (s.step()) out.push_back(read_rekey(s));
  return out;
}

std::vector<UserId> SqliteStore::sharers_with(UserId recipient) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT DISTINCT r.user_id FROM rekeys r JOIN devices d ON d.id = r.to_device "
         "WHERE r.kind = ? AND d.user_id = ? AND r.user_id <> ?");
  s.bind(1, static_cast<std::int64_t>(EdgeKind::kShare)).bind(2, recipient).bind(3, recipient);
  std::vector<UserId> out;
  while (s.step()) out.push_back(s.i64(0));
  return out;
}

std::vector<ReKeyRecord> SqliteStore::edges_for(UserId owner, UserId requester) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         (std::string("SELECT ") + kReKeyColumns + "WHERE user_id = ? OR user_id = ? ORDER BY id")
             .c_str());
  s.bind(1, owner).bind(2, requester);
  std::vector<ReKeyRecord> out;
  while (s.step()) out.push_back(read_rekey(s));
  return out;
}

std::int64_t SqliteStore::put_notification(const NotificationRecord& n) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "INSERT INTO notifications(to_device, from_device, kind, body) VALUES (?, ?, ?, ?)");
  s.bind(1, n.to_device).bind(2, n.from_device).bind(3, n.kind).bind(4, n.body);
  s.step();
  return sqlite3_last_insert_rowid(db_);
}

std::vector<NotificationRecord> SqliteStore::pending_notifications(std::int64_t device,
                                                                   std::int64_t after_id) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT n.id, n.to_device, n.from_device, u.name, n.kind, n.body, n.created_at "
         "FROM notifications n JOIN devices d ON d.id = n.from_device "
         "JOIN users u ON u.id = d.user_id WHERE n.to_device = ? AND n.id > ? ORDER BY n.id");
  s.bind(1, device).bind(2, after_id);
  std::vector<NotificationRecord> out;
  while (s.step()) {
    out.push_back(NotificationRecord{s.i64(0), s.i64(1), s.i64(2), s.text(3), s.text(4), s.blob(5),
                                     s.i64(6)});
  }
  return out;
}

bool SqliteStore::ack_notification(std::int64_t device, std::int64_t id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "DELETE FROM notifications WHERE id = ? AND to_device = ?");
  s.bind(1, id).bind(2, device);
  s.step();
  return sqlite3_changes(db_) > 0;
}

void SqliteStore::trim_notifications(std::int64_t device, const std::string& kind,
                                     std::int64_t keep) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "DELETE FROM notifications WHERE to_device = ?1 AND kind = ?2 AND id NOT IN (SELECT id "
         "FROM notifications WHERE to_device = ?1 AND kind = ?2 ORDER BY id DESC LIMIT ?3)");
  s.bind(1, device).bind(2, kind).bind(3, keep);
  s.step();
}

std::int64_t SqliteStore::count_notifications(std::int64_t device, const std::string& kind) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT COUNT(*) FROM notifications WHERE to_device = ? AND kind = ?");
  s.bind(1, device).bind(2, kind);
  s.step();
  return s.i64(0);
}

std::vector<UserId> SqliteStore::protectors_of(UserId user) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT DISTINCT user_id FROM devices WHERE recovery_for = ? ORDER BY user_id");
  s.bind(1, user);
  std::vector<UserId> out;
  while (s.step()) out.push_back(s.i64(0));
  return out;
}

std::int64_t SqliteStore::count_inbox(std::int64_t device) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT COUNT(*) FROM notifications WHERE to_device = ?");
  s.bind(1, device);
  s.step();
  return s.i64(0);
}

std::int64_t SqliteStore::count_inbox_from(std::int64_t device, UserId sender) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT COUNT(*) FROM notifications n JOIN devices d ON d.id = n.from_device "
         "WHERE n.to_device = ? AND d.user_id = ?");
  s.bind(1, device).bind(2, sender);
  s.step();
  return s.i64(0);
}

void SqliteStore::put_recovery_request(const RecoveryRequestRecord& r) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  put_recovery_request_locked(r);
  t.commit();
}

void SqliteStore::put_recovery_request_locked(const RecoveryRequestRecord& r) {
  {
    Stmt del(db_, "DELETE FROM recovery_request_users WHERE device_id = ?");
    del.bind(1, r.device);
    del.step();
  }
  Stmt s(db_,
         "INSERT OR REPLACE INTO recovery_requests(device_id, user_id, new_device, created_at, "
         "not_before) VALUES (?, ?, ?, ?, ?)");
  s.bind(1, r.device).bind(2, r.user_id).bind(3, std::int64_t{r.new_device ? 1 : 0});
  s.bind(4, r.created_at).bind(5, r.not_before);
  s.step();
  for (const UserId u : r.via) {
    const bool refused =
        std::find(r.refused_by.begin(), r.refused_by.end(), u) != r.refused_by.end();
    Stmt v(db_,
           "INSERT OR IGNORE INTO recovery_request_users(device_id, user_id, refused) "
           "VALUES (?, ?, ?)");
    v.bind(1, r.device).bind(2, u).bind(3, std::int64_t{refused ? 1 : 0});
    v.step();
  }
}

std::optional<RecoveryRequestRecord> SqliteStore::recovery_request_locked(std::int64_t device) {
  Stmt s(db_,
         "SELECT device_id, user_id, new_device, created_at, not_before FROM recovery_requests "
         "WHERE device_id = ?");
  s.bind(1, device);
  if (!s.step()) return std::nullopt;
  RecoveryRequestRecord r;
  r.device = s.i64(0);
  r.user_id = s.i64(1);
  r.new_device = s.i64(2) != 0;
  r.created_at = s.i64(3);
  r.not_before = s.i64(4);
  Stmt v(db_,
         "SELECT user_id, refused FROM recovery_request_users WHERE device_id = ? ORDER BY rowid");
  v.bind(1, device);
  while (v.step()) {
    r.via.push_back(v.i64(0));
    if (v.i64(1) != 0) r.refused_by.push_back(v.i64(0));
  }
  return r;
}

std::optional<RecoveryRequestRecord> SqliteStore::recovery_request(std::int64_t device) {
  std::lock_guard lock(mu_);
  return recovery_request_locked(device);
}

std::vector<RecoveryRequestRecord> SqliteStore::recovery_requests_of(UserId user) {
  std::lock_guard lock(mu_);
  std::vector<std::int64_t> ids;
  {
    Stmt s(db_, "SELECT device_id FROM recovery_requests WHERE user_id = ? ORDER BY device_id");
    s.bind(1, user);
    while (s.step()) ids.push_back(s.i64(0));
  }
  std::vector<RecoveryRequestRecord> out;
  for (const auto id : ids) {
    if (auto r = recovery_request_locked(id)) out.push_back(std::move(*r));
  }
  return out;
}

void SqliteStore::delete_recovery_request(std::int64_t device) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  for (const char* sql : {"DELETE FROM recovery_request_users WHERE device_id = ?",
                          "DELETE FROM recovery_requests WHERE device_id = ?"}) {
    Stmt s(db_, sql);
    s.bind(1, device);
    s.step();
  }
  t.commit();
}

bool SqliteStore::refuse_recovery_request(std::int64_t device, UserId user) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt s(db_, "UPDATE recovery_request_users SET refused = 1 WHERE device_id = ? AND user_id = ?");
  s.bind(1, device).bind(2, user);
  s.step();
  Stmt left(db_, "SELECT COUNT(*) FROM recovery_request_users WHERE device_id = ? AND refused = 0");
  left.bind(1, device);
  left.step();
  const bool all_refused = left.i64(0) == 0;
  t.commit();
  return all_refused;
}

bool SqliteStore::use_invitation(const Bytes& nonce, std::int64_t expires_at, std::int64_t now) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt purge(db_, "DELETE FROM used_invitations WHERE expires_at < ?");
  purge.bind(1, now);
  purge.step();
  Stmt s(db_, "INSERT OR IGNORE INTO used_invitations(nonce, expires_at) VALUES (?, ?)");
  s.bind(1, nonce).bind(2, expires_at);
  s.step();
  const bool fresh = sqlite3_changes(db_) == 1;
  t.commit();
  return fresh;
}

void SqliteStore::put_recovery_vouch(UserId user, UserId voucher, const std::string& code,
                                     std::int64_t expires_at, std::int64_t now, int limit) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt purge(db_, "DELETE FROM recovery_vouches WHERE expires_at < ?");
  purge.bind(1, now);
  purge.step();
  Stmt put(db_,
           "INSERT OR REPLACE INTO recovery_vouches(user_id, voucher_id, code, created_at, "
           "expires_at) VALUES (?, ?, ?, ?, ?)");
  put.bind(1, user).bind(2, voucher).bind(3, code).bind(4, now).bind(5, expires_at);
  put.step();
  Stmt trim(db_,
            "DELETE FROM recovery_vouches WHERE user_id = ?1 AND voucher_id = ?2 AND rowid NOT IN "
            "(SELECT rowid FROM recovery_vouches WHERE user_id = ?1 AND voucher_id = ?2 "
            "ORDER BY created_at DESC, rowid DESC LIMIT ?3)");
  trim.bind(1, user).bind(2, voucher).bind(3, static_cast<std::int64_t>(limit));
  trim.step();
  t.commit();
}

std::vector<UserId> SqliteStore::recovery_vouchers(UserId user, const std::string& code,
                                                   std::int64_t now) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT voucher_id FROM recovery_vouches WHERE user_id = ? AND code = ? AND "
         "expires_at >= ? ORDER BY voucher_id");
  s.bind(1, user).bind(2, code).bind(3, now);
  std::vector<UserId> out;
  while (s.step()) out.push_back(s.i64(0));
  return out;
}

void SqliteStore::put_threshold_config(UserId user, const Bytes& config) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  for (const char* sql : {"DELETE FROM r3_approvals WHERE user_id = ?1",
                          "DELETE FROM r3_installed WHERE user_id = ?1",
                          "DELETE FROM r3_setups WHERE user_id = ?1"}) {
    Stmt s(db_, sql);
    s.bind(1, user);
    s.step();
  }
  if (!config.empty()) {
    Stmt s(db_, "INSERT INTO r3_setups(user_id, config) VALUES (?, ?)");
    s.bind(1, user).bind(2, config);
    s.step();
  }
  t.commit();
}

std::optional<Bytes> SqliteStore::threshold_config(UserId user) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT config FROM r3_setups WHERE user_id = ?");
  s.bind(1, user);
  if (!s.step()) return std::nullopt;
  return s.blob(0);
}

void SqliteStore::put_recovery_approval(UserId user, std::int64_t request, UserId approver,
                                        const Bytes& shares) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT INTO r3_approvals(request_id, user_id, approver_id, shares, bad) "
         "VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT(request_id, approver_id) DO UPDATE SET "
         "shares = excluded.shares, bad = 0");
  s.bind(1, request).bind(2, user).bind(3, approver).bind(4, shares);
  s.step();
}

void SqliteStore::mark_bad_shares(UserId user, std::int64_t request, UserId approver) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT INTO r3_approvals(request_id, user_id, approver_id, shares, bad) "
         "VALUES (?1, ?2, ?3, x'', 1) ON CONFLICT(request_id, approver_id) DO UPDATE SET bad = 1");
  s.bind(1, request).bind(2, user).bind(3, approver);
  s.step();
}

std::vector<RecoveryApproval> SqliteStore::recovery_approvals(std::int64_t request) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT a.approver_id, u.name, a.shares, a.bad FROM r3_approvals a "
         "JOIN users u ON u.id = a.approver_id WHERE a.request_id = ? ORDER BY a.approver_id");
  s.bind(1, request);
  std::vector<RecoveryApproval> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.blob(2), s.i64(3) != 0});
  return out;
}

bool SqliteStore::mark_recovery_installed(UserId user, std::int64_t request) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "INSERT OR IGNORE INTO r3_installed(request_id, user_id) VALUES (?, ?)");
  s.bind(1, request).bind(2, user);
  s.step();
  return sqlite3_changes(db_) > 0;
}

bool SqliteStore::recovery_installed(std::int64_t request) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT 1 FROM r3_installed WHERE request_id = ?");
  s.bind(1, request);
  return s.step();
}

void SqliteStore::clear_recovery_approvals(std::int64_t request) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  for (const char* sql : {"DELETE FROM r3_approvals WHERE request_id = ?1",
                          "DELETE FROM r3_installed WHERE request_id = ?1"}) {
    Stmt s(db_, sql);
    s.bind(1, request);
    s.step();
  }
  t.commit();
}

bool SqliteStore::refuse_recovery_approvals(std::int64_t request, UserId refusing_user) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "DELETE FROM r3_approvals WHERE request_id = ? AND approver_id = ?");
  s.bind(1, request).bind(2, refusing_user);
  s.step();
  return sqlite3_changes(db_) > 0;
}

}  // namespace hopboxd
