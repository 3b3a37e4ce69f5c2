// hopboxd's side of key authenticity, when it is configured with the CA (--ca, --ca-root):
// devices register only with a certificate chain to that root that names their account and
// certifies the keys they register, and a device whose chain holds a revoked certificate is
// refused at authentication. The revocation list is fetched from the CA in the background;
// if the CA is unreachable the last good list stays in force until it expires (next_update),
// then certified devices are refused (fail closed). A list older than the one held, or
// already expired, is refused.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "certs/verify.h"
#include "hopbox/v1/ca.grpc.pb.h"

namespace hopboxd {

using CertBytes = hopbox::certs::Bytes;

class CertificatePolicy {
 public:
  // ca: host:port of hopbox-ca; root_pem: its root.pem (PEM text: the device root and the
  // CA's TLS certificate, certs::CaAnchors). Throws certs::CertError if it is not that.
  CertificatePolicy(const std::string& ca, const std::string& root_pem, int refresh_seconds);
  ~CertificatePolicy();
  CertificatePolicy(const CertificatePolicy&) = delete;
  CertificatePolicy& operator=(const CertificatePolicy&) = delete;

  // Why a device with these keys may not register for `user`; nullopt if it may.
  std::optional<std::string> refuse_registration(const std::string& user,
                                                 const CertBytes& signing_key,
                                                 const CertBytes& encryption_key,
                                                 const CertBytes& certificate_chain) const;
  // Whether a revoked certificate above the device's own one refuses it. Only a secondary
  // completing its R1 recovery is let through with its revoked issuer: the CA revokes the
  // primary when it certifies the secondary, before the cloud hears of the take-over.
  enum class RevokedIssuer { kRefuses, kTolerated };
  // Why a registered device may not act now: a certificate of its chain is on the CA's
  // revocation list, or no current list is held. nullopt if it may.
  std::optional<std::string> refuse_device(
      const CertBytes& certificate_chain,
      RevokedIssuer revoked_issuer = RevokedIssuer::kRefuses) const;
  // True if the CA signed `capsule` as its re-certification challenge for this user's new
  // key, and it has not expired at `now`.
  bool is_ca_challenge(const std::string& user, const CertBytes& encryption_key,
                       const CertBytes& capsule, std::int64_t expires_at,
                       const CertBytes& signature, std::int64_t now) const;
  // Fetches the list now; false if the CA could not be reached or its list did not verify,
  // is expired, or is older than the one held.
  bool refresh();

 private:
  // Why the list held cannot be relied on (none yet, or expired); nullopt if it can. mu_ held.
  std::optional<std::string> stale_list_locked() const;
  void poll(int refresh_seconds);

  CertBytes root_;
  std::unique_ptr<hopbox::v1::CertificateAuthority::Stub> stub_;
  mutable std::mutex mu_;
  hopbox::certs::RevocationList list_;
  // Each device chain seen, with its certificates' fingerprints (bounded; under mu_).
  static constexpr std::size_t kMaxCachedChains = 4096;
  mutable std::map<std::string, std::vector<CertBytes>> fingerprints_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread poller_;
};

}  // namespace hopboxd
