// Key authenticity on the client (paper 4.3): the CA root this device was configured with,
// the CA's revocation list, and the checks every foreign key and every item pass before the
// client uses them. The cloud serves keys and items; only the CA's chain makes them trusted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "certs/item_signature.h"
#include "certs/verify.h"
#include "hopbox/v1/ca.grpc.pb.h"
#include "hopbox/v1/hopbox.pb.h"

namespace hopbox {

class Trust {
 public:
  // ca: host:port of hopbox-ca; root_pem_path: its root.pem, obtained out of band, holding
  // the device root and the CA's TLS certificate (certs::CaAnchors; each used only for its
  // purpose). revocation_list_seen: issue time of the newest revocation list this device
  // accepted before; a newer one accepted is reported to on_newer_list, to be persisted.
  // revocation_cache: where the last list accepted is kept (empty: nowhere); while the CA
  // cannot be reached that list stands in, until its own validity ends.
  Trust(const std::string& ca, const std::string& root_pem_path,
        std::int64_t revocation_list_seen = 0,
        std::function<void(std::int64_t issued_at)> on_newer_list = {},
        std::filesystem::path revocation_cache = {});

  const certs::Bytes& root() const { return root_; }

  // Enrolls a primary device; returns the normalized identifier and the certificate.
  std::pair<std::string, certs::Bytes> enroll(const std::string& identifier,
                                              const std::string& code,
                                              const certs::Bytes& signing_key,
                                              const certs::Bytes& encryption_key,
                                              const certs::Signer& sign);
  // Tells the CA that the cloud registered the enrolled primary `certificate` (signed by it):
  // the operator can no longer reset the identifier.
  void confirm_enrollment(const certs::Bytes& certificate, const certs::Signer& sign);
  // What the CA answered an R1 request: the new certificate, or none yet and when to ask again.
  struct PrimaryRecovery {
    certs::Bytes certificate;     // checked against the root; empty while the CA waits
    std::int64_t not_before = 0;  // with an empty certificate: unix seconds
  };
  // R1: asks the CA to revoke the primary at the end of `own_chain` and to certify this
  // device's keys in its place. The CA first only records the request, announced, and
  // completes it when asked again after its waiting period; announce_only: record it only.
  PrimaryRecovery recover_primary(const std::vector<certs::Bytes>& own_chain,
                                  const certs::Signer& sign, bool announce_only = false);
  // R1 requests waiting at the CA for `identifier` (anyone may list them).
  std::vector<hopbox::v1::ListPrimaryRecoveriesResponse::Announcement> primary_recoveries(
      const std::string& identifier);
  // As the device holding `own_chain`, cancels every R1 request waiting at the CA for its
  // identifier; how many there were.
  int cancel_primary_recoveries(const std::vector<certs::Bytes>& own_chain,
                                const certs::Signer& sign);
  // Paper Fig. 6: the CA's challenge capsule for the identifier's certified primary key, with
  // what the device shows the cloud (the CA's signature) and gives back to the CA (the ticket).
  struct RecertificationChallenge {
    certs::Bytes capsule, ticket, ca_signature;
    std::int64_t expires_at = 0;
  };
  RecertificationChallenge begin_recertification(const std::string& identifier,
                                                 const certs::Bytes& signing_key,
                                                 const certs::Bytes& encryption_key,
                                                 const certs::Signer& sign);
  // The answer. With a waiting period (or announce_only) the CA first only records it,
  // announced: no certificate, and when the period ends. A certificate is checked against the
  // root.
  struct Recertification {
    certs::Bytes certificate;
    std::int64_t not_before = 0;
    // With a certificate: the primary certificate it replaces, issued by the root for the
    // same identifier (checked), as the CA names it.
    certs::Bytes replaced;
  };
  Recertification complete_recertification(const std::string& identifier,
                                           const certs::Bytes& signing_key,
                                           const certs::Bytes& encryption_key,
                                           const certs::Bytes& ticket, const certs::Bytes& answer,
                                           bool announce_only);
  // During a recovery, the lost primary's certificate is revoked, yet what it certified and
  // signed before the loss is what the recovering device re-certifies and re-signs. Only for
  // chains of `identifier` (the account's own): another account's revoked certificate stays
  // revoked whatever a recovery was told, and the replaced certificate itself is never
  // trusted as a device's key (verify_device), only as the signer of what it signed before.
  void tolerate_revoked(const certs::Bytes& fingerprint, const std::string& identifier) {
    tolerated_.push_back({fingerprint, identifier});
  }
  // Ends every tolerate_revoked: the recovery signed anew all it needed them for.
  void stop_tolerating() { tolerated_.clear(); }
  // After a recovery that left the items as they were: one item signature (the SHA-256 of its
  // blob) by the revoked certificate `fingerprint` of `identifier`'s account, found by the
  // recovery, stays trusted. Nothing else that certificate signs does.
  void tolerate_item_signature(const certs::Bytes& blob_digest, const certs::Bytes& fingerprint,
                               const std::string& identifier) {
    pinned_.push_back({blob_digest, fingerprint, identifier});
  }
  static certs::Bytes item_signature_digest(const certs::Bytes& signature_blob);
  // Whether the CA's list revokes any certificate of `chain` (tolerated ones too).
  bool revokes_any(const std::vector<certs::Bytes>& chain);
  // Forgets the list held: the next check fetches the CA's again.
  void forget_revocations() { revoked_.reset(); }
  // Asks the CA to revoke `certificate`, as the device holding `own_chain`.
  void revoke(const certs::Bytes& certificate, const std::vector<certs::Bytes>& own_chain,
              const certs::Signer& sign);

  // The keys the service returned for a device of `user`, checked against their chain: the
  // chain ends at our root, names `user`, is not revoked, and certifies exactly these keys.
  // Throws ClientError (exit code 4) saying why not.
  // A certificate that a recovery replaced (tolerate_revoked) is refused here, as a leaf:
  // these keys are encrypted for, certified or trusted as a device now.
  certs::TrustedDevice verify_device(const hopbox::v1::DeviceKeys& keys, const std::string& user);
  // As verify_device, for the keys listed as `user`'s primary: a primary's certificate is the
  // CA's own (issued by the root), never one that a device issued, so a key certified by a
  // secondary, or by a lost primary in a thief's hands, is never taken for the primary.
  certs::TrustedDevice verify_primary(const hopbox::v1::DeviceKeys& keys, const std::string& user);
  // As verify_device, for the keys of a primary this account replaced, to check what it signed
  // before the loss (the R3 set-up): its tolerated certificate passes.
  certs::TrustedDevice verify_replaced_primary(const hopbox::v1::DeviceKeys& keys,
                                               const std::string& user);
  // Throws ClientError (exit code 4) unless the item is signed by a device of its owner.
  certs::TrustedDevice verify_item(const certs::ItemFacts& facts,
                                   const certs::Bytes& signature_blob);

 private:
  // Throws ClientError unless `cert` chains to the root and certifies exactly these keys.
  void check_issued(const certs::Bytes& cert, const std::string& identifier,
                    const certs::Bytes& signing_key, const certs::Bytes& encryption_key);
  // Throws ClientError unless `cert` chains to the root and names `identifier`.
  void check_replaced(const certs::Bytes& cert, const std::string& identifier);
  // The CA's list; fetched once per run (again once it expires). Throws ClientError (exit
  // code 4) if the CA's list is stale or older than one seen before.
  const certs::RevocationList& revocations();
  // The CA's list less the certificates tolerated for chains of `identifier`.
  certs::RevocationList revocations_for(const std::string& identifier);
  certs::TrustedDevice verify_keys(const hopbox::v1::DeviceKeys& keys, const std::string& user,
                                   bool replaced_leaf_allowed);
  certs::RevocationList fetch_revocations();
  // The cached list, checked again against the root and the clock; throws ClientError naming
  // `unreachable` (why the CA's own list could not be had) when there is none or it expired.
  certs::RevocationList cached_revocations(const std::string& unreachable);
  // Raises the newest list seen (kept in device.json) to `list`'s, if newer.
  void note_seen(const certs::RevocationList& list);

  certs::Bytes root_;
  std::unique_ptr<hopbox::v1::CertificateAuthority::Stub> stub_;
  std::optional<certs::RevocationList> revoked_;
  struct Tolerated {
    certs::Bytes fingerprint;
    std::string identifier;
  };
  std::vector<Tolerated> tolerated_;
  struct PinnedSignature {
    certs::Bytes blob_digest, fingerprint;
    std::string identifier;
  };
  std::vector<PinnedSignature> pinned_;
  std::int64_t revocation_list_seen_ = 0;
  std::function<void(std::int64_t)> on_newer_list_;
  std::filesystem::path revocation_cache_;
  bool offline_warned_ = false;
};

}  // namespace hopbox
