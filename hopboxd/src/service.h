// The gRPC service: validates every request, authorizes it against the caller's session,
// and turns it into Store, PayloadStore and Reencryptor calls.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>

#include "certificate_policy.h"
#include "hopbox/v1/hopbox.grpc.pb.h"
#include "payload_store.h"
#include "reencryptor.h"
#include "store.h"

namespace hopboxd {

struct ServiceLimits {
  std::uint64_t max_payload_bytes = 16ULL << 30;  // per item
  std::size_t max_message_payload = 4 << 20;      // per upload message
  std::int64_t session_seconds = 3600;
  std::int64_t recovery_request_seconds = 7 * 24 * 3600;  // a pending new device expires
  // Between the start of a recovery (R1 announcement, R2/R3 request) and its completion:
  // the account's devices and recovery users are told, and any device can cancel.
  std::int64_t recovery_wait_seconds = 24 * 3600;
  // What a hostile account or a stranger can make the service keep:
  std::int64_t max_rekeys_per_key = 4096;       // re-encryption keys from one device key
  int max_watches_per_device = 4;               // concurrent WatchInbox streams
  std::int64_t max_challenges_per_device = 16;  // outstanding BeginSession challenges
  std::int64_t challenge_seconds = 60;
};

class HopboxService final : public hopbox::v1::Hopbox::Service {
 public:
  // certificates: null unless the service is configured with the CA.
  HopboxService(Store& store, PayloadStore& payloads, Reencryptor& reencryptor,
                ServiceLimits limits = {}, const CertificatePolicy* certificates = nullptr);
  // Wakes inbox watchers so that they return (graceful shutdown).
  void shutdown();

  using Ctx = grpc::ServerContext;
  grpc::Status CreateAccount(Ctx* ctx, const hopbox::v1::CreateAccountRequest* req,
                             hopbox::v1::CreateAccountResponse* resp) override;
  grpc::Status BeginSession(Ctx* ctx, const hopbox::v1::BeginSessionRequest* req,
                            hopbox::v1::BeginSessionResponse* resp) override;
  grpc::Status CompleteSession(Ctx* ctx, const hopbox::v1::CompleteSessionRequest* req,
                               hopbox::v1::CompleteSessionResponse* resp) override;
  grpc::Status AddDevice(Ctx* ctx, const hopbox::v1::AddDeviceRequest* req,
                         hopbox::v1::AddDeviceResponse* resp) override;
  grpc::Status ListDevices(Ctx* ctx, const hopbox::v1::ListDevicesRequest* req,
                           hopbox::v1::ListDevicesResponse* resp) override;
  grpc::Status ListItems(Ctx* ctx, const hopbox::v1::ListItemsRequest* req,
                         hopbox::v1::ListItemsResponse* resp) override;
  grpc::Status DeleteItem(Ctx* ctx, const hopbox::v1::DeleteItemRequest* req,
                          hopbox::v1::DeleteItemResponse* resp) override;
  grpc::Status InstallReKey(Ctx* ctx, const hopbox::v1::InstallReKeyRequest* req,
                            hopbox::v1::InstallReKeyResponse* resp) override;
  grpc::Status RevokeReKey(Ctx* ctx, const hopbox::v1::RevokeReKeyRequest* req,
                           hopbox::v1::RevokeReKeyResponse* resp) override;
  grpc::Status ListReKeys(Ctx* ctx, const hopbox::v1::ListReKeysRequest* req,
                          hopbox::v1::ListReKeysResponse* resp) override;
  grpc::Status SendNotification(Ctx* ctx, const hopbox::v1::SendNotificationRequest* req,
                                hopbox::v1::SendNotificationResponse* resp) override;
  grpc::Status AckNotification(Ctx* ctx, const hopbox::v1::AckNotificationRequest* req,
                               hopbox::v1::AckNotificationResponse* resp) override;
  grpc::Status RefreshItem(Ctx* ctx, const hopbox::v1::RefreshItemRequest* req,
                           hopbox::v1::RefreshItemResponse* resp) override;
  grpc::Status RemoveDevice(Ctx* ctx, const hopbox::v1::RemoveDeviceRequest* req,
                            hopbox::v1::RemoveDeviceResponse* resp) override;
  grpc::Status PromoteDevice(Ctx* ctx, const hopbox::v1::PromoteDeviceRequest* req,
                             hopbox::v1::PromoteDeviceResponse* resp) override;
  grpc::Status RegisterRecoveryKey(Ctx* ctx, const hopbox::v1::RegisterRecoveryKeyRequest* req,
                                   hopbox::v1::RegisterRecoveryKeyResponse* resp) override;
  grpc::Status RequestRecovery(Ctx* ctx, const hopbox::v1::RequestRecoveryRequest* req,
                               hopbox::v1::RequestRecoveryResponse* resp) override;
  grpc::Status AnnouncePromotion(Ctx* ctx, const hopbox::v1::AnnouncePromotionRequest* req,
                                 hopbox::v1::AnnouncePromotionResponse* resp) override;
  grpc::Status CancelRecovery(Ctx* ctx, const hopbox::v1::CancelRecoveryRequest* req,
                              hopbox::v1::CancelRecoveryResponse* resp) override;
  grpc::Status ListRecoveries(Ctx* ctx, const hopbox::v1::ListRecoveriesRequest* req,
                              hopbox::v1::ListRecoveriesResponse* resp) override;
  grpc::Status ExpectRecovery(Ctx* ctx, const hopbox::v1::ExpectRecoveryRequest* req,
                              hopbox::v1::ExpectRecoveryResponse* resp) override;
  grpc::Status ReencryptChallenge(Ctx* ctx, const hopbox::v1::ReencryptChallengeRequest* req,
                                  hopbox::v1::ReencryptChallengeResponse* resp) override;
  grpc::Status PutThresholdRecovery(Ctx* ctx, const hopbox::v1::ThresholdRecovery* req,
                                    hopbox::v1::PutThresholdRecoveryResponse* resp) override;
  grpc::Status GetThresholdRecovery(Ctx* ctx, const hopbox::v1::GetThresholdRecoveryRequest* req,
                                    hopbox::v1::ThresholdRecovery* resp) override;
  grpc::Status SubmitRecoveryShares(Ctx* ctx, const hopbox::v1::SubmitRecoverySharesRequest* req,
                                    hopbox::v1::RecoveryProgress* resp) override;
  grpc::Status GetRecoveryProgress(Ctx* ctx, const hopbox::v1::GetRecoveryProgressRequest* req,
                                   hopbox::v1::RecoveryProgress* resp) override;
  grpc::Status UpdateDeviceCertificate(Ctx* ctx,
                                       const hopbox::v1::UpdateDeviceCertificateRequest* req,
                                       hopbox::v1::UpdateDeviceCertificateResponse* resp) override;
  grpc::Status RequestPairing(Ctx* ctx, const hopbox::v1::RequestPairingRequest* req,
                              hopbox::v1::RequestPairingResponse* resp) override;
  grpc::Status Health(Ctx* ctx, const hopbox::v1::HealthRequest* req,
                      hopbox::v1::HealthResponse* resp) override;
  grpc::Status Upload(Ctx* ctx, grpc::ServerReader<hopbox::v1::UploadRequest>* reader,
                      hopbox::v1::UploadResponse* resp) override;
  grpc::Status Download(Ctx* ctx, const hopbox::v1::DownloadRequest* req,
                        grpc::ServerWriter<hopbox::v1::DownloadResponse>* writer) override;
  grpc::Status WatchInbox(Ctx* ctx, const hopbox::v1::WatchInboxRequest* req,
                          grpc::ServerWriter<hopbox::v1::Notification>* writer) override;

 private:
  // The calling device, from the session token in the metadata; UNAUTHENTICATED otherwise.
  // *completing_recovery: let in only to complete its R1 take-over (revoked_by_ca).
  grpc::Status authenticate(Ctx* ctx, DeviceRecord& caller, bool* completing_recovery = nullptr);
  // Why the CA's revocations refuse d now; nullopt if they do not. A secondary whose only
  // revoked certificate is its issuer, and that announced its R1 take-over, is let through
  // (completing_recovery = true): the CA revokes the primary when it certifies the secondary,
  // and this service may hear of it before the secondary's PromoteDevice.
  std::optional<std::string> revoked_by_ca(const DeviceRecord& d, bool& completing_recovery);
  std::optional<hopbox::v1::ThresholdRecovery> threshold_config(UserId user);
  // A pending new device whose recovery request is older than the limit.
  bool recovery_expired(const DeviceRecord& d) const;
  // Removes a pending recovery device with its request, approvals and edges.
  void remove_pending_device(std::int64_t device);
  // The digits of the safety number of a new device's keys, as its user reads them out.
  static std::string recovery_code(const std::string& user, const Bytes& signing_key,
                                   const Bytes& encryption_key);
  // R3 progress of one request (a pending device's id).
  hopbox::v1::RecoveryProgress recovery_progress(std::int64_t request,
                                                 const hopbox::v1::ThresholdRecovery& config);
  // Records `caller`'s verified shares for `request`; at the threshold opens the approvers'
  // sealed keys and installs them. REQUIRES: inside Store::atomically (all of it or none).
  grpc::Status approve_recovery(const DeviceRecord& caller, UserId user,
                                const DeviceRecord& request,
                                const hopbox::v1::ThresholdRecovery& config, const Bytes& shares,
                                hopbox::v1::RecoveryProgress& progress);
  // With the CA configured: PERMISSION_DENIED unless d's chain certifies its keys for `user`.
  grpc::Status check_certificate(const std::string& user, const DeviceRecord& d) const;
  // Runs handler(caller) for an authenticated caller, turning exceptions into INTERNAL.
  template <class F>
  grpc::Status authenticated(Ctx* ctx, const char* method, F&& handler);
  // The item `item_id` of `owner_name` (empty: the caller's account); NOT_FOUND otherwise.
  grpc::Status find_item(const DeviceRecord& caller, const std::string& owner_name,
                         const std::string& item_id, std::optional<ItemRecord>& out);
  // The re-encryption keys from the item's capsule to the caller, or nullopt with `status`:
  // for another account's caller NOT_FOUND "no such item", exactly as for an absent item.
  std::optional<std::vector<ReKeyRecord>> chain_for(const ItemRecord& item,
                                                    const DeviceRecord& caller,
                                                    grpc::Status& status);
  // The shortest admissible chain carrying `owner`'s data from key `holder` to `caller`.
  std::optional<std::vector<ReKeyRecord>> chain_between(const ItemView& item, DeviceKeyId holder,
                                                        const DeviceRecord& caller,
                                                        unsigned max_hops);

  // Inboxes: stores one notification (its payload set) and wakes the watchers.
  void notify(std::int64_t to_device, std::int64_t from_device,
              const hopbox::v1::Notification& payload);
  void wake_inboxes();
  // OK if `inv` is a well-formed, unexpired invitation that `inviter` (the protected user's
  // primary) signed for `recovery_user`; PERMISSION_DENIED otherwise.
  grpc::Status check_invitation(const hopbox::v1::RecoveryInvitation& inv,
                                const DeviceRecord& inviter, const std::string& recovery_user);
  // Everyone to tell of a recovery of `user`'s account: its devices other than `except`
  // (neither lost nor pending) and the primaries of its recovery users but those in `told`.
  std::vector<std::int64_t> recovery_audience(UserId user, std::int64_t except,
                                              const std::vector<UserId>& told);
  // Ends a recovery in progress: a pending device is removed, an announcement dropped.
  void drop_recovery(const RecoveryRequestRecord& r, std::int64_t by_device);
  // Tells the recovery's audience that `device` started recovering the account.
  void announce_recovery(const DeviceRecord& device, const RecoveryRequestRecord& request);
  // chain_for's search, with the precise reason it failed.
  std::optional<std::vector<ReKeyRecord>> find_chain_for(const ItemRecord& item,
                                                         const DeviceRecord& caller,
                                                         grpc::Status& status);
  Store& store_;
  PayloadStore& payloads_;
  Reencryptor& reencryptor_;
  ServiceLimits limits_;
  const CertificatePolicy* certificates_;
  // Held while a payload file is published with its item's commit, and while an orphaned
  // payload is removed: content addressing shares files between items.
  std::mutex payload_mu_;
  std::mutex inbox_mu_;
  std::condition_variable inbox_cv_;
  std::uint64_t inbox_epoch_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex watch_mu_;
  std::map<std::int64_t, int> watches_;  // device id -> running WatchInbox streams
};

}  // namespace hopboxd
