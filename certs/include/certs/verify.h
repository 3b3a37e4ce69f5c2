// Deciding whether to trust a device's keys: chain to the configured root, validity period,
// the same identifier all the way down, nothing revoked.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "certs/certificate.h"

namespace hopbox::certs {

// The CA's signed list of revoked certificates (by SHA-256 of their DER), whoever issued them.
struct RevocationList {
  std::int64_t issued_at = 0;
  std::int64_t next_update = 0;  // unix seconds; past it the list is stale and not used
  std::vector<Bytes> revoked;    // 32-byte fingerprints
  bool contains(const Bytes& fingerprint) const;
};
// Encodes and signs (docs/formats.md, "Revocation list").
Bytes sign_revocation_list(const RevocationList& list, const Signer& sign);
// Checks the signature against the root certificate's key and decodes. Throws CertError.
RevocationList open_revocation_list(std::span<const std::uint8_t> bytes, const Bytes& root_der);
// Throws CertError unless `list` is in force at `now` and is not older than the newest list
// this party saw before (`last_seen_issued_at`, 0 if none): a stale or replayed list could
// hide a revocation.
void check_revocation_list_current(const RevocationList& list, std::int64_t last_seen_issued_at,
                                   std::int64_t now);

// What clients and hopboxd are configured with (`--ca-root`, hopbox-ca's DIR/root.pem): one
// PEM file holding the CA's device root and, apart from it, the self-signed certificate of
// the CA's TLS socket. Each is used only for its purpose: device chains end at the device
// root; the connection to the CA trusts the TLS certificate only.
struct CaAnchors {
  Bytes device_root;           // DER
  std::string tls_anchor_pem;  // for grpc::SslCredentialsOptions::pem_root_certs
};
// Throws CertError unless the text holds exactly one device root (CA, self-signed, no
// extended key usage) and one TLS certificate (not a CA, self-signed, serverAuth).
CaAnchors parse_ca_anchors(const std::string& pem);

// A device whose chain verified.
struct TrustedDevice {
  std::string identifier;
  Bytes signing_key;     // SPKI DER
  Bytes encryption_key;  // mupre public key
  Bytes leaf_fingerprint;
};

// Verifies `leaf_first` (without the root) up to `root_der` at time `now` (unix seconds): at
// most root -> primary -> device, every certificate below the root naming the leaf's
// identifier. Throws CertError saying why the chain is not trusted.
TrustedDevice verify_device_chain(const std::vector<Bytes>& leaf_first, const Bytes& root_der,
                                  const RevocationList& revoked, std::int64_t now);

// The short code users compare by eye (safety-number style): five groups of five digits
// derived from the identifier and both keys of a certificate.
std::string safety_number(const TrustedDevice& device);

}  // namespace hopbox::certs
