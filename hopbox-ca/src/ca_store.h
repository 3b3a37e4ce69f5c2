// The CA's records in one SQLite file (WAL): identities, enrollment invitations, the
// certificates it issued, and every revoked certificate (also those a device issued).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "certs/certificate.h"

struct sqlite3;

namespace hopbox_ca {

using Bytes = hopbox::certs::Bytes;

struct CertificateRecord {
  std::int64_t serial = 0;
  std::string identifier;
  Bytes fingerprint;
  std::int64_t issued_at = 0;
  std::int64_t revoked_at = 0;  // 0: valid
};

// R1 waiting at the CA: a secondary asked to replace the identifier's primary (issue 12).
struct PrimaryRecoveryAnnouncement {
  Bytes requester_fingerprint;  // SHA-256 of the requesting device's certificate
  std::int64_t created_at = 0;
  std::int64_t not_before = 0;
};

enum class EnrollOutcome {
  kIssued,
  kNoInvite,   // never invited, or the invitation was burned
  kWrongCode,  // counts towards kMaxCodeAttempts
  kExpired,
  kAlreadyCertified,  // one identifier, one certificate (re-certification is recovery's)
  kResumed,           // the same code and keys again before the enrollment was confirmed
};

enum class ResetOutcome {
  kReset,
  kNotEnrolled,  // no identity (or reset already)
  kConfirmed,    // the cloud registered it (confirmed, or recovered since): never reset
};

class CaStore {
 public:
  static constexpr int kMaxCodeAttempts = 5;

  explicit CaStore(const std::string& path);
  ~CaStore();
  CaStore(const CaStore&) = delete;
  CaStore& operator=(const CaStore&) = delete;

  // An identity or open invitation other than `identifier` with the same skeleton, if any.
  std::optional<std::string> confusable_with(const std::string& identifier,
                                             const std::string& skeleton);
  bool is_certified(const std::string& identifier);
  // Records (or replaces an unused) invitation; code_hash is SHA-256 of the code.
  void put_invite(const std::string& identifier, const std::string& skeleton,
                  const Bytes& code_hash, std::int64_t expires_at);
  // Checks the invitation and, in the same transaction, burns it, records the identity and
  // the certificate `issue(serial)` returns. For an identity enrolled but not confirmed whose
  // current certificate `same_keys` accepts, the same code returns that certificate
  // (kResumed). A reset identity enrolls again with a new invitation.
  EnrollOutcome enroll(const std::string& identifier, const Bytes& code_hash, std::int64_t now,
                       const std::function<bool(const Bytes& der)>& same_keys,
                       const std::function<Bytes(std::int64_t serial)>& issue, Bytes& issued);
  // Records that the cloud registered the identifier's primary, if `fingerprint` is its
  // current certificate. False if it is not.
  bool confirm_enrollment(const std::string& identifier, const Bytes& fingerprint,
                          std::int64_t now);
  // The operator's way out of an enrollment that never completed: revokes the identifier's
  // certificates and frees it for a new invitation, unless it was confirmed or recovered.
  ResetOutcome reset_identity(const std::string& identifier, std::int64_t now);
  std::vector<CertificateRecord> certificates();
  // The newest valid certificate the CA issued for the identifier.
  std::optional<Bytes> current_certificate(const std::string& identifier);
  // R1: if `old_fingerprint` is the valid certificate the CA issued for `identifier`, revokes
  // it and records the certificate `issue(serial)` returns, in one transaction. With
  // `announced_by`, only if that requester's announcement exists and its not_before has come
  // (a cancellation meanwhile wins). The identifier's announcements go with the old primary.
  // False if not.
  bool replace_primary(const std::string& identifier, const Bytes& old_fingerprint,
                       std::int64_t now, const std::function<Bytes(std::int64_t serial)>& issue,
                       Bytes& issued, const Bytes* announced_by = nullptr);
  // Announcements are purged this long after their not_before: a requester that never came
  // back starts over.
  static constexpr std::int64_t kAnnouncementLifetime = 7 * 24 * 3600;
  // The not_before of `requester`'s announcement for `identifier`, recorded now with
  // `not_before` unless it exists (asking again does not move it). Nothing when `limit`
  // other requesters wait already.
  std::optional<std::int64_t> announce_primary_recovery(const std::string& identifier,
                                                        const Bytes& requester, std::int64_t now,
                                                        std::int64_t not_before, int limit);
  std::vector<PrimaryRecoveryAnnouncement> primary_recoveries(const std::string& identifier,
                                                              std::int64_t now);
  // Removes every announcement for the identifier, and records when (unix milliseconds); how
  // many there were.
  int cancel_primary_recoveries(const std::string& identifier, std::int64_t now_ms);
  // When the identifier's recoveries were last cancelled, unix milliseconds (0: never).
  std::int64_t last_cancellation(const std::string& identifier);
  // Revokes by fingerprint; the certificate need not be one the CA issued. False if it was
  // revoked already.
  bool revoke(const Bytes& fingerprint, const std::string& identifier, std::int64_t now,
              const std::string& reason);
  std::vector<Bytes> revoked_fingerprints();

 private:
  // Inside a transaction, under mu_.
  void insert_certificate(std::int64_t serial, const std::string& identifier, const Bytes& der,
                          std::int64_t now);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace hopbox_ca
