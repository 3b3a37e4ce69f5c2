#include "ca_store.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "hopbox/sqlite.h"

namespace hopbox_ca {

using hopbox::sqlite::Stmt;
using hopbox::sqlite::Transaction;

namespace {

const char* const kMigrations[] = {
    R"sql(
CREATE TABLE identities (
  identifier TEXT PRIMARY KEY,
  skeleton TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX identities_by_skeleton ON identities(skeleton);
CREATE TABLE invites (
  identifier TEXT PRIMARY KEY,
  skeleton TEXT NOT NULL,
  code_hash BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  used_at INTEGER
);
CREATE INDEX invites_by_skeleton ON invites(skeleton);
CREATE TABLE certificates (
  serial INTEGER PRIMARY KEY,
  identifier TEXT NOT NULL REFERENCES identities(identifier),
  fingerprint BLOB NOT NULL UNIQUE,
  der BLOB NOT NULL,
  issued_at INTEGER NOT NULL
);
CREATE TABLE revocations (
  fingerprint BLOB PRIMARY KEY,
  identifier TEXT NOT NULL,
  revoked_at INTEGER NOT NULL,
  reason TEXT NOT NULL
);
)sql",
    R"sql(
CREATE TABLE recertifications (
  identifier TEXT PRIMARY KEY REFERENCES identities(identifier),
  signing_key BLOB NOT NULL,
  encryption_key BLOB NOT NULL,
  answer BLOB NOT NULL,
  expires_at INTEGER NOT NULL
);
)sql",
    // Challenges keyed by the new key too: one device's request cannot replace or burn
    // another's. The former table (challenges live ten minutes) is no longer read.
    R"sql(
CREATE TABLE recertification_challenges (
  identifier TEXT NOT NULL REFERENCES identities(identifier),
  signing_key BLOB NOT NULL,
  encryption_key BLOB NOT NULL,
  answer BLOB NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (identifier, encryption_key)
);
)sql",
    // R1 waits at the CA too (issue 12): one row per requesting device.
    R"sql(
CREATE TABLE primary_recoveries (
  identifier TEXT NOT NULL REFERENCES identities(identifier),
  requester_fingerprint BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  not_before INTEGER NOT NULL,
  PRIMARY KEY (identifier, requester_fingerprint)
);
)sql",
    // Challenges are sealed tickets kept by their requesters now (recertification_ticket.h).
    R"sql(
DROP TABLE recertification_challenges;
DROP TABLE recertifications;
)sql",
    // Issue 13: an enrollment the cloud never registered can resume, or be reset by the
    // operator; confirmed ones cannot.
    R"sql(
ALTER TABLE identities ADD COLUMN confirmed_at INTEGER;
ALTER TABLE identities ADD COLUMN reset_at INTEGER;
)sql",
    // A cancellation voids the re-certification challenges made before it.
    R"sql(
CREATE TABLE recovery_cancellations (
  identifier TEXT PRIMARY KEY REFERENCES identities(identifier),
  cancelled_at INTEGER NOT NULL  -- unix milliseconds
);
)sql",
};

constexpr char kResetReason[] = "reset by the operator: enrollment never completed";

Bytes sha256(const Bytes& b) {
  Bytes h(SHA256_DIGEST_LENGTH);
  SHA256(b.data(), b.size(), h.data());
  return h;
}

}  // namespace

CaStore::CaStore(const std::string& path)
    : db_(hopbox::sqlite::open_database(path, kMigrations, "hopbox-ca")) {}

CaStore::~CaStore() {
  sqlite3_close(db_);
}

std::optional<std::string> CaStore::confusable_with(const std::string& identifier,
                                                    const std::string& skeleton) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT identifier FROM identities WHERE skeleton = ?1 AND identifier <> ?2 "
         "UNION SELECT identifier FROM invites WHERE skeleton = ?1 AND identifier <> ?2 "
         "AND used_at IS NULL LIMIT 1");
  s.bind(1, skeleton).bind(2, identifier);
  if (s.step()) return s.text(0);
  return std::nullopt;
}

bool CaStore::is_certified(const std::string& identifier) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT 1 FROM identities WHERE identifier = ? AND reset_at IS NULL");
  s.bind(1, identifier);
  return s.step();
}

void CaStore::put_invite(const std::string& identifier, const std::string& skeleton,
                         const Bytes& code_hash, std::int64_t expires_at) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT OR REPLACE INTO invites (identifier, skeleton, code_hash, expires_at) "
         "VALUES (?, ?, ?, ?)");
  s.bind(1, identifier).bind(2, skeleton).bind(3, code_hash).bind(4, expires_at);
  s.step();
}

EnrollOutcome CaStore::enroll(const std::string& identifier, const Bytes& code_hash,
                              std::int64_t now,
                              const std::function<bool(const Bytes& der)>& same_keys,
                              const std::function<Bytes(std::int64_t serial)>& issue,
                              Bytes& issued) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  bool reset = false;
  {
    Stmt known(db_,
               "SELECT confirmed_at IS NOT NULL, reset_at IS NOT NULL FROM identities "
               "WHERE identifier = ?");
    known.bind(1, identifier);
    if (known.step()) {
      reset = known.i64(1) != 0;
      if (!reset) {
        // Resuming: the same keys (a proof was checked) and the same code, before the cloud
        // registered the device; the certificate issued then, nothing new.
        if (known.i64(0) != 0) return EnrollOutcome::kAlreadyCertified;
        Stmt cur(db_,
                 "SELECT c.der FROM certificates c WHERE c.identifier = ? AND NOT EXISTS "
                 "(SELECT 1 FROM revocations r WHERE r.fingerprint = c.fingerprint) "
                 "ORDER BY c.serial DESC LIMIT 1");
        cur.bind(1, identifier);
        if (!cur.step()) return EnrollOutcome::kAlreadyCertified;
        const Bytes der = cur.blob(0);
        if (!same_keys(der)) return EnrollOutcome::kAlreadyCertified;
        Stmt inv(db_, "SELECT code_hash FROM invites WHERE identifier = ? AND used_at IS NOT NULL");
        inv.bind(1, identifier);
        if (!inv.step()) return EnrollOutcome::kAlreadyCertified;
        const Bytes expected = inv.blob(0);
        if (expected.size() != code_hash.size() ||
            CRYPTO_memcmp(expected.data(), code_hash.data(), code_hash.size()) != 0) {
          return EnrollOutcome::kAlreadyCertified;
        }
        issued = der;
        return EnrollOutcome::kResumed;
      }
    }
  }
  Stmt inv(db_,
           "SELECT skeleton, code_hash, expires_at, attempts FROM invites "
           "WHERE identifier = ? AND used_at IS NULL");
  inv.bind(1, identifier);
  if (!inv.step()) return EnrollOutcome::kNoInvite;
  const std::string skeleton = inv.text(0);
  const Bytes expected = inv.blob(1);
  if (inv.i64(3) >= kMaxCodeAttempts) return EnrollOutcome::kNoInvite;
  if (inv.i64(2) < now) return EnrollOutcome::kExpired;
  if (expected.size() != code_hash.size() ||
      CRYPTO_memcmp(expected.data(), code_hash.data(), code_hash.size()) != 0) {
    Stmt bump(db_, "UPDATE invites SET attempts = attempts + 1 WHERE identifier = ?");
    bump.bind(1, identifier);
    bump.step();
    t.commit();
    return EnrollOutcome::kWrongCode;
  }
  Stmt next(db_, "SELECT COALESCE(MAX(serial), 1) + 1 FROM certificates");
  next.step();
  const std::int64_t serial = next.i64(0);
  issued = issue(serial);
  Stmt used(db_, "UPDATE invites SET used_at = ? WHERE identifier = ?");
  used.bind(1, now).bind(2, identifier);
  used.step();
  if (reset) {
    Stmt id(db_,
            "UPDATE identities SET skeleton = ?, created_at = ?, confirmed_at = NULL, "
            "reset_at = NULL WHERE identifier = ?");
    id.bind(1, skeleton).bind(2, now).bind(3, identifier);
    id.step();
  } else {
    Stmt id(db_, "INSERT INTO identities (identifier, skeleton, created_at) VALUES (?, ?, ?)");
    id.bind(1, identifier).bind(2, skeleton).bind(3, now);
    id.step();
  }
  insert_certificate(serial, identifier, issued, now);
  t.commit();
  return EnrollOutcome::kIssued;
}

bool CaStore::confirm_enrollment(const std::string& identifier, const Bytes& fingerprint,
                                 std::int64_t now) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt cur(db_,
           "SELECT c.fingerprint FROM certificates c WHERE c.identifier = ? AND NOT EXISTS "
           "(SELECT 1 FROM revocations r WHERE r.fingerprint = c.fingerprint) "
           "ORDER BY c.serial DESC LIMIT 1");
  cur.bind(1, identifier);
  if (!cur.step() || cur.blob(0) != fingerprint) return false;
  Stmt s(db_,
         "UPDATE identities SET confirmed_at = ? WHERE identifier = ? AND confirmed_at IS NULL "
         "AND reset_at IS NULL");
  s.bind(1, now).bind(2, identifier);
  s.step();
  t.commit();
  return true;
}

ResetOutcome CaStore::reset_identity(const std::string& identifier, std::int64_t now) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  {
    Stmt id(db_,
            "SELECT confirmed_at IS NOT NULL FROM identities WHERE identifier = ? AND "
            "reset_at IS NULL");
    id.bind(1, identifier);
    if (!id.step()) return ResetOutcome::kNotEnrolled;
    if (id.i64(0) != 0) return ResetOutcome::kConfirmed;
  }
  {
    // A recovery (R1, re-certification: announced once proven) happens only to a registered
    // account. Certificates
    // from before an earlier reset do not count.
    Stmt more(db_,
              "SELECT (SELECT COUNT(*) FROM certificates c JOIN identities i ON "
              "i.identifier = c.identifier WHERE c.identifier = ?1 AND c.issued_at >= "
              "i.created_at AND NOT EXISTS (SELECT 1 FROM revocations r WHERE r.fingerprint = "
              "c.fingerprint AND r.reason = ?2)) + "
              "(SELECT COUNT(*) FROM primary_recoveries WHERE identifier = ?1)");
    more.bind(1, identifier).bind(2, std::string(kResetReason));
    more.step();
    if (more.i64(0) > 1) return ResetOutcome::kConfirmed;
  }
  Stmt revoke(db_,
              "INSERT OR IGNORE INTO revocations (fingerprint, identifier, revoked_at, reason) "
              "SELECT fingerprint, identifier, ?, ? FROM certificates WHERE identifier = ?");
  revoke.bind(1, now).bind(2, std::string(kResetReason)).bind(3, identifier);
  revoke.step();
  Stmt mark(db_, "UPDATE identities SET reset_at = ? WHERE identifier = ?");
  mark.bind(1, now).bind(2, identifier);
  mark.step();
  // The used invitation goes: only a new `invite` enrolls the identifier again.
  Stmt inv(db_, "DELETE FROM invites WHERE identifier = ?");
  inv.bind(1, identifier);
  inv.step();
  t.commit();
  return ResetOutcome::kReset;
}

void CaStore::insert_certificate(std::int64_t serial, const std::string& identifier,
                                 const Bytes& der, std::int64_t now) {
  Stmt cert(db_,
            "INSERT INTO certificates (serial, identifier, fingerprint, der, issued_at) "
            "VALUES (?, ?, ?, ?, ?)");
  cert.bind(1, serial).bind(2, identifier).bind(3, sha256(der)).bind(4, der).bind(5, now);
  cert.step();
}

bool CaStore::replace_primary(const std::string& identifier, const Bytes& old_fingerprint,
                              std::int64_t now,
                              const std::function<Bytes(std::int64_t serial)>& issue, Bytes& issued,
                              const Bytes* announced_by) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  if (announced_by != nullptr) {
    Stmt due(db_,
             "SELECT 1 FROM primary_recoveries WHERE identifier = ? AND requester_fingerprint = ? "
             "AND not_before <= ?");
    due.bind(1, identifier).bind(2, *announced_by).bind(3, now);
    if (!due.step()) return false;
  }
  Stmt current(db_,
               "SELECT 1 FROM certificates c WHERE c.identifier = ?1 AND c.fingerprint = ?2 AND "
               "NOT EXISTS (SELECT 1 FROM revocations r WHERE r.fingerprint = c.fingerprint)");
  current.bind(1, identifier).bind(2, old_fingerprint);
  if (!current.step()) return false;
  Stmt next(db_, "SELECT COALESCE(MAX(serial), 1) + 1 FROM certificates");
  next.step();
  const std::int64_t serial = next.i64(0);
  issued = issue(serial);
  Stmt revoke(db_,
              "INSERT INTO revocations (fingerprint, identifier, revoked_at, reason) "
              "VALUES (?, ?, ?, 'replaced by recovery')");
  revoke.bind(1, old_fingerprint).bind(2, identifier).bind(3, now);
  revoke.step();
  insert_certificate(serial, identifier, issued, now);
  // Every announcement named chains through the old primary: none can complete any more.
  Stmt used(db_, "DELETE FROM primary_recoveries WHERE identifier = ?");
  used.bind(1, identifier);
  used.step();
  t.commit();
  return true;
}

std::optional<std::int64_t> CaStore::announce_primary_recovery(const std::string& identifier,
                                                               const Bytes& requester,
                                                               std::int64_t now,
                                                               std::int64_t not_before, int limit) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  {
    Stmt purge(db_, "DELETE FROM primary_recoveries WHERE not_before < ?");
    purge.bind(1, now - kAnnouncementLifetime);
    purge.step();
  }
  std::optional<std::int64_t> found;
  std::int64_t waiting = 0;
  {
    Stmt existing(db_,
                  "SELECT not_before FROM primary_recoveries WHERE identifier = ? AND "
                  "requester_fingerprint = ?");
    existing.bind(1, identifier).bind(2, requester);
    if (existing.step()) found = existing.i64(0);
    Stmt count(db_, "SELECT COUNT(*) FROM primary_recoveries WHERE identifier = ?");
    count.bind(1, identifier);
    count.step();
    waiting = count.i64(0);
  }
  if (found || waiting >= limit) {
    t.commit();  // the purge
    return found;
  }
  Stmt s(db_,
         "INSERT INTO primary_recoveries (identifier, requester_fingerprint, created_at, "
         "not_before) VALUES (?, ?, ?, ?)");
  s.bind(1, identifier).bind(2, requester).bind(3, now).bind(4, not_before);
  s.step();
  t.commit();
  return not_before;
}

std::vector<PrimaryRecoveryAnnouncement> CaStore::primary_recoveries(const std::string& identifier,
                                                                     std::int64_t now) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT requester_fingerprint, created_at, not_before FROM primary_recoveries WHERE "
         "identifier = ? AND not_before >= ? ORDER BY created_at, requester_fingerprint");
  s.bind(1, identifier).bind(2, now - kAnnouncementLifetime);
  std::vector<PrimaryRecoveryAnnouncement> out;
  while (s.step()) out.push_back({s.blob(0), s.i64(1), s.i64(2)});
  return out;
}

int CaStore::cancel_primary_recoveries(const std::string& identifier, std::int64_t now_ms) {
  std::lock_guard lock(mu_);
  Transaction t(db_);
  Stmt s(db_, "DELETE FROM primary_recoveries WHERE identifier = ?");
  s.bind(1, identifier);
  s.step();
  const int cancelled = sqlite3_changes(db_);
  Stmt when(
      db_,
      "INSERT OR REPLACE INTO recovery_cancellations (identifier, cancelled_at) VALUES (?, ?)");
  when.bind(1, identifier).bind(2, now_ms);
  when.step();
  t.commit();
  return cancelled;
}

std::int64_t CaStore::last_cancellation(const std::string& identifier) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT cancelled_at FROM recovery_cancellations WHERE identifier = ?");
  s.bind(1, identifier);
  return s.step() ? s.i64(0) : 0;
}

std::optional<Bytes> CaStore::current_certificate(const std::string& identifier) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT c.der FROM certificates c WHERE c.identifier = ? AND NOT EXISTS "
         "(SELECT 1 FROM revocations r WHERE r.fingerprint = c.fingerprint) "
         "ORDER BY c.serial DESC LIMIT 1");
  s.bind(1, identifier);
  if (!s.step()) return std::nullopt;
  return s.blob(0);
}

std::vector<CertificateRecord> CaStore::certificates() {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT c.serial, c.identifier, c.fingerprint, c.issued_at, COALESCE(r.revoked_at, 0) "
         "FROM certificates c LEFT JOIN revocations r ON r.fingerprint = c.fingerprint "
         "ORDER BY c.serial");
  std::vector<CertificateRecord> out;
  while (s.step()) out.push_back({s.i64(0), s.text(1), s.blob(2), s.i64(3), s.i64(4)});
  return out;
}

bool CaStore::revoke(const Bytes& fingerprint, const std::string& identifier, std::int64_t now,
                     const std::string& reason) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT OR IGNORE INTO revocations (fingerprint, identifier, revoked_at, reason) "
         "VALUES (?, ?, ?, ?)");
  s.bind(1, fingerprint).bind(2, identifier).bind(3, now).bind(4, reason);
  s.step();
  return sqlite3_changes(db_) == 1;
}

std::vector<Bytes> CaStore::revoked_fingerprints() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT fingerprint FROM revocations ORDER BY revoked_at, fingerprint");
  std::vector<Bytes> out;
  while (s.step()) out.push_back(s.blob(0));
  return out;
}

}  // namespace hopbox_ca
