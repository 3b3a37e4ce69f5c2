// What hopboxd keeps, behind one interface: accounts, devices, sessions, items, the
// re-encryption key network, inboxes and recovery material. Payload bytes live apart, in a
// PayloadStore (content addressed). Every method is atomic: it commits entirely or not at all;
// atomically() makes several calls one commit. Implementations are thread-safe. A method that
// must write, on a store that cannot be written (a read-only database), throws
// hopbox::sqlite::NotWritable having changed nothing; reading methods still work.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "chain_search.h"

namespace hopboxd {

using Bytes = std::vector<std::uint8_t>;

struct DeviceRecord {
  std::int64_t id = 0;
  UserId user_id = 0;
  std::string user;
  std::string name;
  bool primary = false;
  Bytes signing_key;     // SubjectPublicKeyInfo DER
  Bytes encryption_key;  // mupre public key encoding
  Bytes fingerprint;     // SHA-256 of encryption_key
  Bytes certificate_chain;
  bool lost = false;  // replaced by a recovery: locked out, but still a key of the network
  // A recovery user's dedicated key for this protected user: a node, never a signed-in device.
  std::optional<UserId> recovery_for;
  std::string recovery_for_user;
  bool pending_recovery = false;  // a new device waiting to be made primary by a recovery
  std::int64_t created_at = 0;    // unix seconds
};

struct ItemRecord {
  UserId owner_id = 0;
  std::string owner;
  std::string item_id;
  std::int64_t version = 0;
  std::string folder;
  Bytes capsule;
  Bytes wrapped_key;
  Bytes metadata;
  Bytes payload_header;
  std::string payload_digest;  // hex SHA-256: the payload's name in the PayloadStore
  std::int64_t payload_size = 0;
  Bytes signature;
  std::int64_t created_at = 0;
  Bytes sealed_name;  // opaque: the real name sealed with the owner's name key
};

struct ReKeyRecord {
  std::int64_t id = 0;
  std::int64_t creator_device = 0;
  Edge edge;    // from/to are device ids; kind, user (whose data), policy, expiry
  Bytes rekey;  // mupre encoding
  Bytes from_fingerprint, to_fingerprint;
  Bytes statement;  // the creating device's signature over the edge (opaque to the service)
};

// One recovery user's answer to one R3 request.
struct RecoveryApproval {
  UserId approver = 0;
  std::string approver_name;
  Bytes shares;      // their share of every s_i, in protector order; empty: none valid yet
  bool bad = false;  // their last shares failed the commitments
};

struct NotificationRecord {
  std::int64_t id = 0;
  std::int64_t to_device = 0;
  std::int64_t from_device = 0;
  std::string from_user;
  std::string kind;
  Bytes body;
  std::int64_t created_at = 0;
};

// A recovery in progress (Protocol 2): a pending new device asking recovery users (R2, R3), or
// a secondary that announced it takes over (R1). PromoteDevice accepts only the device of a
// request whose waiting period has passed; any other device of the account can cancel it.
struct RecoveryRequestRecord {
  std::int64_t device = 0;
  UserId user_id = 0;
  bool new_device = false;  // R2/R3: a pending device; false: an R1 announcement
  std::int64_t created_at = 0;
  std::int64_t not_before = 0;  // the end of the waiting period (unix seconds)
  std::vector<UserId> via;      // recovery users asked (R2/R3)
  std::vector<UserId> refused_by;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs `writes` as one transaction: every call it makes on this Store commits together or
  // not at all (an exception, or the process dying, leaves none of them). A call that would
  // roll back on its own rolls back only its part. Other threads' calls wait until it ends.
  virtual void atomically(const std::function<void()>& writes) = 0;

  // Accounts and devices. create_account fails (nullopt) when the user exists.
  virtual std::optional<DeviceRecord> create_account(const std::string& user,
                                                     const DeviceRecord& first_device) = 0;
  virtual std::optional<DeviceRecord> add_device(UserId user, const DeviceRecord& device) = 0;
  // A pending device and its recovery request, in one transaction; request.device is set.
  virtual std::optional<DeviceRecord> add_recovering_device(UserId user, const DeviceRecord& device,
                                                            RecoveryRequestRecord& request) = 0;
  virtual std::optional<DeviceRecord> device(std::int64_t id) = 0;
  virtual std::optional<DeviceRecord> device_by_fingerprint(const Bytes& fingerprint) = 0;
  virtual std::vector<DeviceRecord> devices_of(UserId user) = 0;
  virtual std::optional<UserId> user_id(const std::string& user) = 0;
  // Users holding a recovery key made for `user` (its recovery users).
  virtual std::vector<UserId> protectors_of(UserId user) = 0;
  // Deletes the device with its sessions, challenges, notifications and every re-encryption
  // key from, to or made by it; returns the ids of the deleted keys.
  virtual std::vector<std::int64_t> remove_device(std::int64_t id) = 0;
  // Recovery by a secondary device, atomically: `lost` (the user's primary) is locked out (no
  // longer primary; authentication refuses it) and keeps its edges; `new_primary` (a device of the
  // user) becomes the primary with `certificate_chain`. False if they are not such devices.
  virtual bool promote_device(UserId user, std::int64_t new_primary, std::int64_t lost,
                              const Bytes& certificate_chain) = 0;
  virtual void set_certificate_chain(std::int64_t device, const Bytes& certificate_chain) = 0;

  // One-time challenges and sessions (tokens are stored hashed). put_challenge keeps at most
  // `max_outstanding` challenges per device: the oldest make way (anyone may ask for one).
  virtual void put_challenge(std::int64_t device, const Bytes& challenge, std::int64_t expires,
                             std::int64_t max_outstanding) = 0;
  // Deletes the challenge whatever the outcome; true if it existed and had not expired.
  virtual bool take_challenge(std::int64_t device, const Bytes& challenge, std::int64_t now) = 0;
  virtual void put_session(const Bytes& token_hash, std::int64_t device, std::int64_t expires) = 0;
  virtual std::optional<std::int64_t> session_device(const Bytes& token_hash, std::int64_t now) = 0;
  // Deletes the challenges and sessions that expired at or before `now`.
  virtual void purge_expired(std::int64_t now) = 0;

  // Items. put_item inserts, or replaces when replace is set (version + 1); returns the new
  // version, or nullopt (exists and !replace). Returns the digests no item uses any more.
  virtual std::optional<std::int64_t> put_item(const ItemRecord& item, bool replace,
                                               std::vector<std::string>& orphaned) = 0;
  virtual std::optional<ItemRecord> item(UserId owner, const std::string& item_id) = 0;
  // Replaces capsule, wrapped key and signature if the item is still at expected_version;
  // returns the new version.
  virtual std::optional<std::int64_t> refresh_item(UserId owner, const std::string& item_id,
                                                   std::int64_t expected_version,
                                                   const Bytes& capsule, const Bytes& wrapped_key,
                                                   const Bytes& signature) = 0;
  virtual std::vector<ItemRecord> items_of(UserId owner) = 0;
  virtual bool delete_item(UserId owner, const std::string& item_id,
                           std::vector<std::string>& orphaned) = 0;
  virtual std::vector<std::string> all_payload_digests() = 0;

  // The re-encryption key network.
  virtual std::int64_t put_rekey(const ReKeyRecord& rk) = 0;
  // put_rekey unless `max_from_key` keys already start at rk's source key: then nullopt.
  virtual std::optional<std::int64_t> put_rekey_bounded(const ReKeyRecord& rk,
                                                        std::int64_t max_from_key) = 0;
  virtual std::optional<ReKeyRecord> rekey(std::int64_t id) = 0;
  // Deletes the key and remembers that `by` (its creator's account) revoked it.
  virtual bool delete_rekey(std::int64_t id, UserId by) = 0;
  // True if `by` revoked that key (a revocation is answered the same when retried).
  virtual bool revoked_rekey(std::int64_t id, UserId by) = 0;
  virtual std::vector<ReKeyRecord> rekeys_created_by(UserId user) = 0;
  // Users with a share edge into one of `recipient`'s devices.
  virtual std::vector<UserId> sharers_with(UserId recipient) = 0;
  // Every edge that may lie on a chain from `owner`'s data to `requester`: edges whose `user`
  // is either of them.
  virtual std::vector<ReKeyRecord> edges_for(UserId owner, UserId requester) = 0;

  // Inboxes.
  virtual std::int64_t put_notification(const NotificationRecord& n) = 0;
  virtual std::vector<NotificationRecord> pending_notifications(std::int64_t device,
                                                                std::int64_t after_id) = 0;
  virtual bool ack_notification(std::int64_t device, std::int64_t id) = 0;
  virtual std::int64_t count_notifications(std::int64_t device, const std::string& kind) = 0;
  // Deletes `device`'s oldest notifications of `kind` beyond the newest `keep`.
  virtual void trim_notifications(std::int64_t device, const std::string& kind,
                                  std::int64_t keep) = 0;

  // Notifications waiting in `device`'s inbox: all of them, or those sent by devices of
  // `sender`.
  virtual std::int64_t count_inbox(std::int64_t device) = 0;
  virtual std::int64_t count_inbox_from(std::int64_t device, UserId sender) = 0;

  // Recoveries in progress. put_recovery_request replaces the device's request; removing a
  // device removes its request.
  virtual void put_recovery_request(const RecoveryRequestRecord& r) = 0;
  virtual std::optional<RecoveryRequestRecord> recovery_request(std::int64_t device) = 0;
  virtual std::vector<RecoveryRequestRecord> recovery_requests_of(UserId user) = 0;
  virtual void delete_recovery_request(std::int64_t device) = 0;
  // Records that `user` refused; true if every recovery user asked has refused.
  virtual bool refuse_recovery_request(std::int64_t device, UserId user) = 0;
  // Records a recovery invitation's nonce as used (kept until it expires); false if it was
  // used already: an invitation registers one recovery key, once.
  virtual bool use_invitation(const Bytes& nonce, std::int64_t expires_at, std::int64_t now) = 0;
  // `voucher` (a recovery user) vouched for a new device's key code for `user`'s account,
  // until expires_at. Expired ones are purged; beyond `limit` per (user, voucher) the oldest
  // make way.
  virtual void put_recovery_vouch(UserId user, UserId voucher, const std::string& code,
                                  std::int64_t expires_at, std::int64_t now, int limit) = 0;
  // Who vouched for `code` for `user`'s account and has not expired at `now`.
  virtual std::vector<UserId> recovery_vouchers(UserId user, const std::string& code,
                                                std::int64_t now) = 0;

  // R3, threshold recovery (DESIGN.md, "Recovery"). A user's set-up is one opaque record.
  // Approvals, bad-share marks and the "keys installed" flag belong to one request, named by
  // the pending device's id, and never count for another; they go when the request does.
  // Replaces the set-up whole: approvals, marks and flags of all the user's requests go too.
  // An empty config withdraws it.
  virtual void put_threshold_config(UserId user, const Bytes& config) = 0;
  virtual std::optional<Bytes> threshold_config(UserId user) = 0;
  // `approver`'s verified shares for `request` of `user`'s account (replacing earlier ones and
  // a bad-share mark).
  virtual void put_recovery_approval(UserId user, std::int64_t request, UserId approver,
                                     const Bytes& shares) = 0;
  // `approver` returned shares for `request` that failed the commitments (an earlier valid
  // approval stays).
  virtual void mark_bad_shares(UserId user, std::int64_t request, UserId approver) = 0;
  virtual std::vector<RecoveryApproval> recovery_approvals(std::int64_t request) = 0;
  // Sets the request's "keys installed" flag; false when it was set already.
  virtual bool mark_recovery_installed(UserId user, std::int64_t request) = 0;
  virtual bool recovery_installed(std::int64_t request) = 0;
  // Forgets the approvals, marks and flag of `request`: it expired, was removed or completed.
  virtual void clear_recovery_approvals(std::int64_t request) = 0;
  // `refusing_user` refused `request`: their approval of it, if any, no longer counts. True if
  // there was one.
  virtual bool refuse_recovery_approvals(std::int64_t request, UserId refusing_user) = 0;
};

}  // namespace hopboxd
