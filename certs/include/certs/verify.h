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
  std::vector<Bytes> revoked;  // 32-byte fingerprints
  bool contains(const Bytes& fingerprint) const;
};
// Encodes and signs (docs/formats.md, "Revocation list").
Bytes sign_revocation_list(const RevocationList& list, const Signer& sign);
// Checks the signature against the root certificate's key and decodes. Throws CertError.
RevocationList open_revocation_list(std::span<const std::uint8_t> bytes, const Bytes& root_der);

// A device whose chain verified.
struct TrustedDevice {
  std::string identifier;
  Bytes signing_key;     // SPKI DER
  Bytes encryption_key;  // mupre public key
  Bytes leaf_fingerprint;
};

// Verifies `leaf_first` (without the root) up to `root_der` at time `now` (unix seconds).
// Throws CertError saying why the chain is not trusted.
TrustedDevice verify_device_chain(const std::vector<Bytes>& leaf_first, const Bytes& root_der,
                                  const RevocationList& revoked, std::int64_t now);

// The short code users compare by eye (safety-number style): five groups of five digits
// derived from the identifier and both keys of a certificate.
std::string safety_number(const TrustedDevice& device);

}  // namespace hopbox::certs
