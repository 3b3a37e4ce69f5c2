// The device client's operations (Protocol 1 of the seed paper): set up an account, pair a
// new device, upload, list, download, delete, share and unshare. One Client is one device:
// its state directory, its token, its session with the service.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "certs/certificate.h"
#include "certs/item_signature.h"
#include "certs/verify.h"
#include "hopbox/v1/ca.pb.h"
#include "hopbox/v1/hopbox.grpc.pb.h"
#include "keystore.h"
#include "mupre/item.h"
#include "names.h"
#include "state.h"

namespace hopbox {

// A failure to show the user; exit_code follows the CLI's conventions (1 failure, 2 usage,
// 3 refused by the service, 4 integrity).
class ClientError : public std::runtime_error {
 public:
  ClientError(const std::string& what, int exit_code = 1)
      : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

struct SharePolicyArgs {
  std::string folder;              // empty: not a folder policy
  std::vector<std::string> items;  // non-empty: a listed-items policy
  std::int64_t expires_at = 0;     // unix seconds, 0: never
};

class Client {
 public:
  // A new account with this device as its primary. `base` gives server, server_ca, module,
  // token_label, user and device_name (and ca, ca_root to use a CA); the key label is derived
  // from the device name. module "software" selects the passphrase-protected software
  // keystore (weaker), with the PIN as its passphrase. With a CA, the device enrolls first
  // with the operator's one-time code, and the account takes the CA's normalized identifier.
  // A failure before anything irreversible (the CA refused or was down, no CA and the cloud
  // refused) deletes the keys and the state it made; after the CA certified the keys, they
  // and the state stay, and the same init run again (the same --user and code; --server and
  // --ca as now given) resumes: the CA returns the certificate it issued for those keys,
  // the cloud registers the device, and the CA is told (then its operator cannot reset it).
  static std::unique_ptr<Client> init(const std::filesystem::path& state_dir,
                                      const std::string& pin, DeviceState base,
                                      const std::string& enrollment_code = "");
  // A new device of an existing account: keys made, not yet registered. Its pairing code is
  // then approved on a device of the account.
  static std::unique_ptr<Client> prepare_device(const std::filesystem::path& state_dir,
                                                const std::string& pin, DeviceState base);
  // While a recovery's rebuild is pending, only to go on with it (`recover`) does the device
  // trust the lost primary's certificate; otherwise it warns that the rebuild is pending.
  static std::unique_ptr<Client> open(const std::filesystem::path& state_dir,
                                      const std::string& pin, bool to_recover = false);
  // Rolls back a device the service never registered: deletes its keys and its state
  // (remove_dir: the whole state folder, when the set-up created it).
  void discard(bool remove_dir = false);
  ~Client();

  const DeviceState& state() const { return state_; }
  // False when the keys live in the passphrase-protected software keystore.
  bool hardware_bound() const { return keys_->hardware_bound(); }
  // True when keys and items are checked against a CA root (see trust.h).
  bool certified() const { return trust_ != nullptr; }
  // The number to compare by eye with `user` (their `hopbox whoami`), after their primary
  // key's chain verified; empty without a CA.
  std::string safety_number_of(const std::string& user);
  // This account's safety number: its primary's (safety_number_of this user), the same on
  // every device of the account. Empty without a CA.
  std::string own_safety_number();
  // The number of this device's own keys (the primary's equals own_safety_number).
  std::string device_safety_number();
  // What the new device shows (and encodes as a QR code) for approval.
  std::string pairing_code() const;
  // The code to compare by eye for a device's keys under `user`'s identifier: the safety
  // number those keys will have (25 digits), so that grinding a look-alike key is infeasible.
  static std::string key_code(const std::string& user, const Bytes& signing_key,
                              const Bytes& encryption_key);
  // key_code of the keys a pairing code carries, under this account's identifier: the
  // approving device shows it for exactly the keys it then certifies.
  std::string pairing_key_code(const std::string& pairing_code) const;
  // On a prepared device: asks the account's primary (through its inbox) to approve it.
  void request_pairing();
  // On a prepared device: true once an existing device approved it (then it is usable).
  bool complete_pairing();
  // On an existing device of the account: registers the new device and, on the primary,
  // makes the re-encryption key to it. Returns the new device's id.
  std::int64_t approve(const std::string& pairing_code,
                       const std::string& device_name = "paired device");

  std::vector<hopbox::v1::Device> devices(const std::string& user = "");
  void remove_device(std::int64_t device_id);
  // Bytes done so far and in all (for a progress display).
  using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;
  // Bytes into buf (at most size), 0 at the end; throws ClientError on a read error.
  using Source = std::function<std::size_t(std::uint8_t* buf, std::size_t size)>;
  // Upload a file (streamed) as `name` (default: the file's name) in `folder` ("" the top
  // level; '/'-separated). The cloud sees an opaque id and folder label (names.h).
  hopbox::v1::UploadResponse put(const std::filesystem::path& file, std::string name,
                                 const std::string& folder, bool replace,
                                 const Progress& progress = {});
  // The same from any source (standard input); size, when known, goes into the metadata.
  hopbox::v1::UploadResponse put_from(const Source& source, std::optional<std::uint64_t> size,
                                      const std::string& name, const std::string& folder,
                                      bool replace, const Progress& progress = {});
  // Download, check and decrypt `path` ("FOLDER/NAME") of `owner` (empty: this account, or
  // else "OWNER/FOLDER/NAME", the form `ls --shared` prints; both existing is a usage error
  // naming --owner) into `out` (written aside and renamed only when complete; see
  // download_target for folders and "-", standard output).
  struct Downloaded {
    int reencryptions = 0;
    std::filesystem::path file;
    std::string owner, path;  // as resolved
  };
  Downloaded get(const std::string& owner, const std::string& path,
                 const std::filesystem::path& out, const Progress& progress = {});
  // A level refresh (paper 4.5) of one of this account's items: a new level-1 capsule for the
  // primary key and a new wrapped key, signed by this device; the payload stays. Returns the
  // re-encryptions the old capsule needed to reach this device, and the new version.
  std::pair<int, std::int64_t> refresh(const std::string& path);
  // The items as the service lists them (opaque ids).
  std::vector<hopbox::v1::ItemSummary> list(bool include_shared);
  // An item with its real name: this account's through the name key, others' through their
  // sealed metadata (cached in the state folder by owner, id and version).
  struct Entry {
    std::string owner, folder, name;
    hopbox::v1::ItemSummary summary;
  };
  // Others' items that fail to verify or open go to failures when given (else: thrown).
  std::vector<Entry> entries(bool include_shared, std::vector<ClientError>* failures = nullptr);
  // The item `owner` shares with this account at path p (without a folder: the one item of
  // that name); nullopt when there is none. Throws ClientError (usage) when several match.
  std::optional<Entry> shared_item(const std::string& owner, const names::Path& p,
                                   std::vector<ClientError>* failures);
  // get() of an entry just listed: no lookup by name (get -r).
  Downloaded get(const Entry& e, const std::filesystem::path& out, const Progress& progress = {});
  void remove(const std::string& path);
  // This account's items by their opaque id and its folders by their label, as paths: what
  // `shares` shows instead of what the cloud sees.
  struct OwnNames {
    std::map<std::string, std::string> items, folders;
  };
  OwnNames own_names();
  // A re-encryption key from this device's key to `user`'s primary key, with a policy.
  // confirm, when given, sees the target's safety number (empty without a CA) after its key
  // verified and before anything is made; false cancels (ClientError, exit code 1).
  using Confirm = std::function<bool(const std::string& safety_number)>;
  std::int64_t share(const std::string& user, const SharePolicyArgs& policy,
                     const Confirm& confirm = {});
  void unshare(std::int64_t rekey_id);
  std::vector<hopbox::v1::ReKeyInfo> shares();

  // Recovery by a secondary device (R1, Protocol 2): this device becomes the primary. With a
  // CA, the CA revokes the lost primary and certifies this device for the identifier; the
  // service locks the lost device out. Both the service and the CA first only record an
  // announcement and complete when asked again after their waiting periods (ClientError, exit
  // code 1, until then). Then this device re-certifies the other devices (or
  // removes them), makes its own-device and share keys anew, and refreshes every item so that
  // it is encrypted for, and signed by, the new primary.
  struct RebuildOptions {
    // Re-certify the other devices (false: remove them; a thief may have added one).
    bool keep_devices = true;
    // Refresh every item (false: pin the lost primary's signatures of them instead).
    bool refresh_items = true;
    // Who may recover the account afterwards is the user's to say, not the cloud's list: the
    // R2 recovery keys made again are those to these users only, and the R3 set-up only when
    // asked, each as the lost primary signed it.
    std::vector<std::string> keep_recovery_users;
    bool keep_threshold = false;
  };
  struct RecoveryReport {
    std::int64_t lost_device = 0;
    int devices_kept = 0, devices_removed = 0, shares_remade = 0, items_refreshed = 0;
    int users_notified = 0;
    // Devices listed whose certificate does not verify (revoked, another account's, or the
    // replaced primary's own key): neither re-certified nor given a key.
    int devices_refused = 0;
    // The R3 set-up the service returned was not the one the lost primary signed: not made
    // again (its users got no key either).
    bool threshold_refused = false;
    // R2 recovery keys made again from this device, to the same recovery keys.
    int recovery_keys_remade = 0;
    // Shares and recovery keys listed as the lost primary's that it did not sign (the cloud
    // added or changed them): not made again.
    int edges_refused = 0;
    // The shares and recovery keys made again, as listed: for the user to see to whom.
    std::vector<hopbox::v1::ReKeyInfo> remade;
    // Items left unreadable (not authentic even with the lost primary trusted: signed by a
    // device removed or revoked), and items left as they were with their signature pinned.
    int items_unreadable = 0, items_pinned = 0;
    // Recovery users of the lost primary (it signed their key) not kept: not named.
    std::vector<std::string> recovery_users_dropped;
    // The lost primary's R3 set-up was not made again: not asked for (keep_threshold).
    bool threshold_dropped = false;
    // Or it was, with this t and these users (0: none), for the user to check.
    int threshold_kept = 0;
    std::vector<std::string> threshold_users;
  };
  RecoveryReport recover_as_primary(const RebuildOptions& options);
  // R1 starts with an announcement: the account's other devices and recovery users are told,
  // and may cancel. Returns when the waiting period ends (unix seconds); recover_as_primary
  // is accepted from then on.
  std::int64_t announce_promotion();
  // The account's recoveries in progress; cancel_recovery ends one (0: every one) at the
  // service and, with a CA, every R1 request waiting at the CA (a thief with a secondary may
  // have gone to the CA alone).
  std::vector<hopbox::v1::RecoveryInProgress> recoveries();
  struct CancelledRecoveries {
    int at_service = 0, at_ca = 0;
  };
  CancelledRecoveries cancel_recovery(std::int64_t device_id);
  // R1 requests for this account waiting at the CA (none without a CA).
  std::vector<hopbox::v1::ListPrimaryRecoveriesResponse::Announcement> ca_recoveries();

  // ---- Recovery by recovery users (R2; DESIGN.md, "Recovery") ----
  // On the primary: asks `user` to protect this account with an invitation signed by this
  // device, recorded here. Returns their safety number.
  std::string ask_protection(const std::string& user);
  // On the recovery user's primary, answering `invitation` from `user`: makes a dedicated
  // recovery key for `user` (sealed by this device's token, certified by this device) and
  // registers it with the invitation; the service then tells `user`.
  void accept_protection(const std::string& user, const hopbox::v1::RecoveryInvitation& invitation);
  // On the protected user's primary: a RecoveryAccepted from `helper`. Installs the recovery
  // key only if it answers an invitation this device recorded for `helper`; false otherwise.
  bool answer_accepted(const std::string& helper, const hopbox::v1::RecoveryAccepted& accepted);
  // On the protected user's primary, once `helper` accepted: the recovery key from this
  // account's primary key to the recovery key `helper` made for it (its chain checked; and,
  // when given, its mupre key the one with `expected_fingerprint`).
  void install_recovery_edge(const std::string& helper, std::int64_t recovery_key_device,
                             const Bytes& expected_fingerprint = {});
  // R3 on the primary: any `threshold` of `users` (who all protect this account already) can
  // recover it together; none alone. Their direct recovery keys are replaced by sealed ones.
  void set_threshold(int threshold, const std::vector<std::string>& users);
  // A pending recovery's progress: valid shares and the threshold (0, 0 without R3).
  std::pair<int, int> recovery_progress();
  // Revokes the recovery keys to `user`'s recovery key and withdraws a threshold set-up that
  // names them. Returns the number of keys revoked.
  int remove_protector(const std::string& user);
  // On a recovery user's device: tells a pending device that this user refused.
  void refuse_recovery(std::int64_t device_id);
  // The users whose recovery keys protect this account.
  std::vector<std::string> protectors();
  // On a recovery user's primary: lets `user`'s pending new device `device_id` read `user`'s
  // data through the recovery key (after the short codes were compared out of band).
  // With R3 set up, also returns this user's shares to the service: k of t so far.
  // The keys re-keyed to are exactly those of `request`, whose key_code the user compared.
  std::pair<int, int> approve_recovery(const std::string& user,
                                       const hopbox::v1::RecoveryRequestNotice& request);
  // A new device of a user who lost every device: keys made, registered as pending, and the
  // recovery users asked.
  static std::unique_ptr<Client> request_recovery(const std::filesystem::path& state_dir,
                                                  const std::string& pin, DeviceState base,
                                                  const std::vector<std::string>& via);
  // On that device: once a recovery user approved, passes the CA's re-certification
  // challenge, becomes the primary and rebuilds as R1 does. nullopt while nobody approved.
  std::optional<RecoveryReport> complete_recovery(const RebuildOptions& options);
  // A new device whose request was refused (too many pending) asks again, with its keys.
  bool recovery_requested() const { return state_.device_id != 0 || state_.recovering_via.empty(); }
  void send_recovery_request();
  // As a recovery user of `user`: the new device whose code `user` read out to us may enter
  // even when strangers fill the places for pending requests.
  void expect_recovery(const std::string& user, const std::string& code);
  // key_code of this device's keys, to compare out of band.
  std::string own_key_code() const;
  // A user who shares with this account recovered (a "recovered" notification): make this
  // account's share keys to their lost primary anew to their new primary, after checking its
  // certificate, and revoke the old ones. Returns the number of shares moved.
  int follow_recovery(const std::string& user);

  // Asks `owner` (their primary device's inbox) for access to an item ("folder/name"), or to
  // everything (""). The path travels sealed for the owner's primary key (its chain verified
  // with a CA): the service never learns it. It is remembered here for the owner's answer.
  std::int64_t request_access(const std::string& owner, const std::string& item,
                              const std::string& message);
  // What an access request in this device's inbox asks for: "folder/name", "" for everything,
  // nullopt when it cannot be read (sealed for another key or for another requester or owner,
  // damaged, or a plaintext item, which clients no longer send).
  std::optional<std::string> requested_item(const hopbox::v1::Notification& request);
  // What this device asked `owner` for in request `request_id` ("": everything); nullopt
  // without a record of it. forget_request drops the record once the answer was read.
  std::optional<std::string> asked_for(std::int64_t request_id, const std::string& owner);
  void forget_request(std::int64_t request_id);
  // The opaque id of this account's item at path ("folder/name"); nullopt when there is none.
  std::optional<std::string> own_item(const std::string& path);
  // Tells the device that sent `request` (an access request in this device's inbox, not yet
  // acknowledged) whether it was granted.
  void answer_access(const hopbox::v1::Notification& request, bool granted);
  // Notifications waiting for this device, oldest first; waits up to `wait_ms` for new ones
  // once the pending ones are read (0: only what is pending; negative: until stopped). Calls
  // `on` for each; stops early if it returns false.
  void watch(int wait_ms, const std::function<bool(const hopbox::v1::Notification&)>& on);
  void acknowledge(std::int64_t notification_id);

 private:
  Downloaded download(const std::string& who, const std::string& id, names::Path p,
                      const std::filesystem::path& out, const Progress& progress);
  // Asks the CA for its challenge, has the service re-encrypt it along the recovery chain and
  // answers it: nullopt if no recovery user approved yet. While the CA waits (or with
  // announce_only) the certificate is empty and not_before says until when.
  struct CaAnswer {
    Bytes certificate;
    std::int64_t not_before = 0;
    Bytes replaced;  // with a certificate: the primary certificate it replaces (checked)
  };
  std::optional<CaAnswer> answer_ca_challenge(bool announce_only);
  // RemoveDevice at the service only: for nodes the CA never certified for this account.
  void remove_at_service(std::int64_t device_id);
  Client(std::filesystem::path dir, DeviceState state, std::unique_ptr<KeyStore> keys,
         bool tolerate_replaced = true);
  // init's requests, each skipped when an earlier run did it: enroll at the CA, register with
  // the cloud, confirm to the CA.
  void finish_init(const std::string& enrollment_code);
  void ensure_session();
  void authorize(grpc::ClientContext& ctx);
  hopbox::v1::Device primary_of(const std::string& user);
  // A key from this device's key (or `from`) to `target`. A share or recovery edge from this
  // device's own key carries its signed statement; `to_user` is the user `target` belongs to.
  std::int64_t install_rekey(const mupre::PublicKey& target, hopbox::v1::ReKeyKind kind,
                             const hopbox::v1::AccessPolicy& policy,
                             const std::string& to_user = "",
                             const std::string& protected_user = "",
                             const mupre::SecretKeySource* from = nullptr);
  // Makes this device the primary with `certificate` (the lost one locked out, its certificate
  // remembered as replaced). replaced: the lost primary's certificate as this device knows it
  // (R1: the issuer in its own chain; R2/R3: as the CA named it), never as the cloud lists it.
  // Returns what that certificate certifies (without a CA: the keys listed for `lost`).
  certs::CertificateInfo take_over(const hopbox::v1::Device& lost, const Bytes& certificate,
                                   const Bytes& replaced, RecoveryReport& report);
  // Saves the rebuild's options, then take_over and rebuild_as_primary.
  RecoveryReport take_over_and_rebuild(const hopbox::v1::Device& lost, const Bytes& certificate,
                                       const Bytes& replaced, const RebuildOptions& options);
  // Without a CA, the lost primary is known only by the keys the service lists for it.
  static certs::CertificateInfo keys_listed_as(const hopbox::v1::Device& lost);
  // After this device became the primary: re-certify or remove the other devices (never one
  // with the keys of `replaced`), make own-device, share and recovery keys anew, refresh
  // every item.
  void rebuild_as_primary(const hopbox::v1::Device& lost, const certs::CertificateInfo& replaced,
                          const RebuildOptions& options, RecoveryReport& report);
  // The rebuild of a take-over that stopped half-way (state rebuild_lost_device), again; what
  // it made before is not made twice.
  RecoveryReport resume_rebuild(RebuildOptions options);
  // Rebuild without refresh: adds to `pins` the signature of `item_id` if a replaced primary
  // made it (verified, with the tolerance still on). False: the item is not authentic.
  bool pin_replaced_signature(const std::string& item_id, std::map<std::string, std::string>& pins);
  // Why the keys the service lists as the lost primary's are not the primary this recovery
  // replaced ("": they are, and what they signed before the loss can be checked).
  std::string replaced_primary_refusal(const hopbox::v1::Device& lost);
  // Why the R3 set-up the service returned for the lost primary is not to be made again ("":
  // it is the one that primary signed).
  std::string threshold_refusal(const hopbox::v1::Device& lost,
                                const hopbox::v1::ThresholdRecovery& setup);
  // Whether a listed share or recovery edge is as the device with keys `maker` made it: its
  // statement verifies (docs/formats.md, "Re-key statement").
  bool made_as_signed(const hopbox::v1::ReKeyInfo& edge, const hopbox::v1::DeviceKeys& maker);
  // primary_of, and with a CA its keys verified (throws ClientError with exit code 4).
  hopbox::v1::Device trusted_primary(const std::string& user);
  SealedSecretKey secret_key();
  certs::Signer signer();
  // A certificate by this device for another key of this user (a device or a recovery key),
  // followed by this device's chain: the new key's whole chain, leaf first.
  Bytes certify(const Bytes& signing_key, const Bytes& encryption_key);
  // R3: opens the shares `user` left for this recovery key and returns them to the service,
  // for one request (the pending device and its key's fingerprint).
  std::pair<int, int> submit_shares(const std::string& user, const SealedSecretKey& rk,
                                    std::int64_t device_id, const Bytes& fingerprint);
  // With a CA: throws ClientError (exit code 4) unless the item's signature and chain verify;
  // returns its signer (without a CA: nothing).
  certs::TrustedDevice verify_header(const hopbox::v1::DownloadHeader& header,
                                     const std::string& owner_id, const std::string& item_id,
                                     const std::string& shown);
  // ---- Names (issue 13) ----
  // The account's name key: from the state folder, else from the reserved item (then kept),
  // else, with create, made and uploaded. nullopt when absent and not created.
  std::optional<names::NameKey> name_key(bool create);
  // The id of this account's item at path; ClientError (exit code 3) when there is none.
  std::string own_item_id(const std::string& path);
  std::string folder_label(const std::string& folder);
  hopbox::v1::UploadResponse upload(const Source& source, std::uint64_t total,
                                    const std::string& id, const std::string& label,
                                    const std::string& meta, const std::string& sealed_name,
                                    bool replace, const Progress& progress,
                                    const std::string& shown);
  // A header checked (signature with a CA) and opened: its data key and the path its metadata
  // names. Throws ClientError (exit code 4) when anything fails to verify or open.
  struct Opened {
    mupre::DataKey dk;
    names::Path path;
  };
  Opened open_header(const hopbox::v1::DownloadHeader& header, const std::string& owner_id,
                     const std::string& item_id, const std::string& shown);
  // One WatchInbox stream (pending_only: the listing of what waits) until `wait` passes (none:
  // until stopped); calls `on` for each notification not in `seen`, adding it. False when
  // `on` asked to stop.
  bool read_inbox(bool pending_only, std::optional<std::chrono::milliseconds> wait,
                  const std::function<bool(const hopbox::v1::Notification&)>& on,
                  std::set<std::int64_t>& seen);
  hopbox::v1::DownloadHeader header_of(const std::string& owner, const std::string& item_id,
                                       const std::string& shown);
  // Downloads item_id of owner (empty: this account), checking that its metadata names
  // `expected` when given; decrypted bytes go to write. Returns the re-encryptions.
  using Writer = std::function<void(const std::uint8_t*, std::size_t)>;
  int fetch(const std::string& owner, const std::string& item_id, const names::Path* expected,
            const std::string& shown, const Writer& write, const Progress& progress);

 public:
  // refresh of an item by its id (recovery refreshes every item, the reserved ones too).
  std::pair<int, std::int64_t> refresh_id(const std::string& id, const std::string& shown);

 private:
  // The item signature blob for `facts`, by this device, with its chain.
  std::string sign_item(const certs::ItemFacts& facts);
  // This device's certificate chain, leaf first (fetched from the service and verified once).
  std::vector<Bytes> own_chain();
  // The chain the service lists for this device when it differs from `kept` and verifies (a new
  // primary re-certified it); kept in device.json.
  std::optional<std::vector<Bytes>> renewed_chain(const std::vector<Bytes>& kept);

  std::filesystem::path dir_;
  DeviceState state_;
  std::unique_ptr<KeyStore> keys_;
  std::unique_ptr<hopbox::v1::Hopbox::Stub> stub_;
  std::unique_ptr<class Trust> trust_;
};

}  // namespace hopbox
