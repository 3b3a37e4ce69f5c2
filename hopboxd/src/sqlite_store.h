// The embedded Store: one SQLite database file in WAL mode with foreign keys, migrated on
// open (PRAGMA user_version). One connection behind a mutex: simple, and writes are short.
// Inside atomically(), a method's own transaction is a savepoint of the enclosing one.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store.h"

struct sqlite3;

namespace hopboxd {

class SqliteStore final : public Store {
 public:
  // Opens or creates the database at path; throws std::runtime_error when it cannot.
  explicit SqliteStore(const std::string& path);
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  void atomically(const std::function<void()>& writes) override;

  // False when the database could only be opened read-only: every write will be refused.
  bool writable() const;

  std::optional<DeviceRecord> create_account(const std::string& user,
                                             const DeviceRecord& first_device) override;
  std::optional<DeviceRecord> add_device(UserId user, const DeviceRecord& device) override;
  std::optional<DeviceRecord> add_recovering_device(UserId user, const DeviceRecord& device,
                                                    RecoveryRequestRecord& request) override;
  std::optional<DeviceRecord> device(std::int64_t id) override;
  std::optional<DeviceRecord> device_by_fingerprint(const Bytes& fingerprint) override;
  std::vector<DeviceRecord> devices_of(UserId user) override;
  std::optional<UserId> user_id(const std::string& user) override;
  std::vector<UserId> protectors_of(UserId user) override;
  std::vector<std::int64_t> remove_device(std::int64_t id) override;
  bool promote_device(UserId user, std::int64_t new_primary, std::int64_t lost,
                      const Bytes& certificate_chain) override;
  void set_certificate_chain(std::int64_t device, const Bytes& certificate_chain) override;

  void put_challenge(std::int64_t device, const Bytes& challenge, std::int64_t expires,
                     std::int64_t max_outstanding) override;
  bool take_challenge(std::int64_t device, const Bytes& challenge, std::int64_t now) override;
  void put_session(const Bytes& token_hash, std::int64_t device, std::int64_t expires) override;
  std::optional<std::int64_t> session_device(const Bytes& token_hash, std::int64_t now) override;
  void purge_expired(std::int64_t now) override;

  std::optional<std::int64_t> put_item(const ItemRecord& item, bool replace,
                                       std::vector<std::string>& orphaned) override;
  std::optional<ItemRecord> item(UserId owner, const std::string& item_id) override;
  std::optional<std::int64_t> refresh_item(UserId owner, const std::string& item_id,
                                           std::int64_t expected_version, const Bytes& capsule,
                                           const Bytes& wrapped_key,
                                           const Bytes& signature) override;
  std::vector<ItemRecord> items_of(UserId owner) override;
  bool delete_item(UserId owner, const std::string& item_id,
                   std::vector<std::string>& orphaned) override;
  std::vector<std::string> all_payload_digests() override;

  std::int64_t put_rekey(const ReKeyRecord& rk) override;
  std::optional<std::int64_t> put_rekey_bounded(const ReKeyRecord& rk,
                                                std::int64_t max_from_key) override;
  std::optional<ReKeyRecord> rekey(std::int64_t id) override;
  bool delete_rekey(std::int64_t id, UserId by) override;
  bool revoked_rekey(std::int64_t id, UserId by) override;
  std::vector<ReKeyRecord> rekeys_created_by(UserId user) override;
  std::vector<UserId> sharers_with(UserId recipient) override;
  std::vector<ReKeyRecord> edges_for(UserId owner, UserId requester) override;

  std::int64_t put_notification(const NotificationRecord& n) override;
  std::vector<NotificationRecord> pending_notifications(std::int64_t device,
                                                        std::int64_t after_id) override;
  bool ack_notification(std::int64_t device, std::int64_t id) override;
  std::int64_t count_notifications(std::int64_t device, const std::string& kind) override;
  void trim_notifications(std::int64_t device, const std::string& kind, std::int64_t keep) override;

  std::int64_t count_inbox(std::int64_t device) override;
  std::int64_t count_inbox_from(std::int64_t device, UserId sender) override;

  void put_recovery_request(const RecoveryRequestRecord& r) override;
  std::optional<RecoveryRequestRecord> recovery_request(std::int64_t device) override;
  std::vector<RecoveryRequestRecord> recovery_requests_of(UserId user) override;
  void delete_recovery_request(std::int64_t device) override;
  bool refuse_recovery_request(std::int64_t device, UserId user) override;
  bool use_invitation(const Bytes& nonce, std::int64_t expires_at, std::int64_t now) override;
  void put_recovery_vouch(UserId user, UserId voucher, const std::string& code,
                          std::int64_t expires_at, std::int64_t now, int limit) override;
  std::vector<UserId> recovery_vouchers(UserId user, const std::string& code,
                                        std::int64_t now) override;

  void put_threshold_config(UserId user, const Bytes& config) override;
  std::optional<Bytes> threshold_config(UserId user) override;
  void put_recovery_approval(UserId user, std::int64_t request, UserId approver,
                             const Bytes& shares) override;
  void mark_bad_shares(UserId user, std::int64_t request, UserId approver) override;
  std::vector<RecoveryApproval> recovery_approvals(std::int64_t request) override;
  bool mark_recovery_installed(UserId user, std::int64_t request) override;
  bool recovery_installed(std::int64_t request) override;
  void clear_recovery_approvals(std::int64_t request) override;
  bool refuse_recovery_approvals(std::int64_t request, UserId refusing_user) override;

 private:
  // Callers hold mu_.
  std::optional<DeviceRecord> insert_device_locked(UserId user, const DeviceRecord& device);
  void put_recovery_request_locked(const RecoveryRequestRecord& r);
  std::optional<RecoveryRequestRecord> recovery_request_locked(std::int64_t device);

  std::int64_t insert_rekey(const ReKeyRecord& rk);  // with mu_ held
  sqlite3* db_ = nullptr;
  std::recursive_mutex mu_;  // recursive: atomically() holds it around other calls
};

}  // namespace hopboxd
