// The CA's gRPC service (api/hopbox/v1/ca.proto).
#pragma once

#include <optional>
#include <vector>

#include "ca_keys.h"
#include "ca_store.h"
#include "hopbox/v1/ca.grpc.pb.h"
#include "identifier.h"
#include "recertification_ticket.h"

namespace hopbox_ca {

class CaService final : public hopbox::v1::CertificateAuthority::Service {
 public:
  // recovery_wait_seconds: how long an R1 request waits, announced, before it may complete
  // (0: it completes at once). revocation_list_seconds: how long a signed revocation list
  // stays valid; devices and the cloud use their last one while the CA is unreachable.
  CaService(CaStore& store, const CaKeys& keys, const IdentifierPolicy& policy,
            std::int64_t certificate_years = 5, std::int64_t recovery_wait_seconds = 0,
            std::int64_t revocation_list_seconds = 24 * 3600);

  grpc::Status GetRoot(grpc::ServerContext*, const hopbox::v1::GetRootRequest*,
                       hopbox::v1::GetRootResponse*) override;
  grpc::Status Enroll(grpc::ServerContext*, const hopbox::v1::EnrollRequest*,
                      hopbox::v1::EnrollResponse*) override;
  grpc::Status ConfirmEnrollment(grpc::ServerContext*, const hopbox::v1::ConfirmEnrollmentRequest*,
                                 hopbox::v1::ConfirmEnrollmentResponse*) override;
  grpc::Status GetRevocationList(grpc::ServerContext*, const hopbox::v1::GetRevocationListRequest*,
                                 hopbox::v1::GetRevocationListResponse*) override;
  grpc::Status RevokeDevice(grpc::ServerContext*, const hopbox::v1::RevokeDeviceRequest*,
                            hopbox::v1::RevokeDeviceResponse*) override;
  grpc::Status RecoverPrimary(grpc::ServerContext*, const hopbox::v1::RecoverPrimaryRequest*,
                              hopbox::v1::RecoverPrimaryResponse*) override;
  grpc::Status CancelPrimaryRecovery(grpc::ServerContext*,
                                     const hopbox::v1::CancelPrimaryRecoveryRequest*,
                                     hopbox::v1::CancelPrimaryRecoveryResponse*) override;
  grpc::Status ListPrimaryRecoveries(grpc::ServerContext*,
                                     const hopbox::v1::ListPrimaryRecoveriesRequest*,
                                     hopbox::v1::ListPrimaryRecoveriesResponse*) override;
  grpc::Status BeginRecertification(grpc::ServerContext*,
                                    const hopbox::v1::BeginRecertificationRequest*,
                                    hopbox::v1::BeginRecertificationResponse*) override;
  grpc::Status CompleteRecertification(grpc::ServerContext*,
                                       const hopbox::v1::CompleteRecertificationRequest*,
                                       hopbox::v1::CompleteRecertificationResponse*) override;

 private:
  // Revokes `old_fingerprint` (the identifier's current primary certificate) and certifies
  // the new keys in its place, in one transaction. False if it is not the current one.
  bool certify_in_place_of(const std::string& identifier, const Bytes& old_fingerprint,
                           const Bytes& signing_key, const Bytes& encryption_key, Bytes& issued,
                           const Bytes* announced_by = nullptr);
  // The identifier's current certificate if it certifies the keys of `chain`'s leaf and the
  // chain verifies but for its issuer (the primary that recovery replaced), with `signature`
  // by that leaf: the answer to an R1 retry whose client learnt no result. nullopt otherwise.
  std::optional<Bytes> completed_recovery_of(const std::vector<Bytes>& chain,
                                             const Bytes& signature);

  CaStore& store_;
  const CaKeys& keys_;
  const IdentifierPolicy& policy_;
  std::int64_t certificate_years_;
  std::int64_t recovery_wait_seconds_;
  std::int64_t revocation_list_seconds_;
  RecertificationTickets tickets_;
};

// Shared by the service and the operator CLI.
Bytes hash_code(const std::string& code);
std::int64_t unix_now();
std::int64_t unix_now_ms();

}  // namespace hopbox_ca
