// Hopbox's certificate profile (docs/formats.md, "Device certificates"): X.509 v3 certificates
// that bind an identifier to a device's ECDSA P-256 signing key and, in a private extension,
// to its mupre public key, so that one chain verification authenticates both keys.
//
// Chains run root (hopbox-ca) -> primary device [-> end device]. The root certifies primaries
// (CA:TRUE, pathlen 0, name-constrained to their identifier); a primary certifies its user's
// other devices and recovery keys (CA:FALSE). After a recovery the CA certifies the new
// primary directly under the root. Below the root every certificate must carry the same
// identifier: a device can only vouch for devices of its own user. Device certificates carry
// only Hopbox's own extended key usage, so that no TLS stack accepts them.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace hopbox::certs {

using Bytes = std::vector<std::uint8_t>;

// Any failure to issue, parse or verify; the message says what and why, for the user.
class CertError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Signs a message with ECDSA P-256 over SHA-256 and returns the DER signature. A hardware
// token implements it without the private key ever leaving the token.
using Signer = std::function<Bytes(std::span<const std::uint8_t> message)>;

// The dotted OID of the extension that carries the mupre public key.
inline constexpr char kDeviceKeysOid[] = "2.25.34002334855466919920967556891303162708.1";
// The extended key usage of every device certificate (and of nothing else).
inline constexpr char kDeviceUsageOid[] = "2.25.34002334855466919920967556891303162708.2";

struct IssueRequest {
  std::string identifier;  // subject CN; a normalized identifier, or the CA's name for a root
  Bytes signing_key;       // the subject's public key, SubjectPublicKeyInfo DER (P-256)
  Bytes encryption_key;    // the subject's mupre public key; empty only for a root
  std::int64_t serial = 0;
  std::int64_t not_before = 0;  // unix seconds
  std::int64_t not_after = 0;
};

// Issues a certificate signed by `sign`, whose key is the one in `issuer_der`. An empty
// issuer_der makes a self-signed root (then `sign` must use request.signing_key's key); the
// root as issuer makes a primary; a primary makes an end device of its own identifier (an end
// device cannot issue). The result is checked against the issuer's key before it is returned.
Bytes issue_certificate(const IssueRequest& request, const Bytes& issuer_der, const Signer& sign);

struct CertificateInfo {
  std::string identifier;  // subject CN
  Bytes signing_key;       // SubjectPublicKeyInfo DER
  Bytes encryption_key;    // empty when the extension is absent (a root)
  Bytes fingerprint;       // SHA-256 of the DER certificate
  std::int64_t serial = 0;
  std::int64_t not_after = 0;
};
// Parses one DER certificate (no trust decision). Throws CertError.
CertificateInfo inspect_certificate(std::span<const std::uint8_t> der);

// A chain travels as its DER certificates concatenated, leaf first (the root is left out).
Bytes encode_chain(const std::vector<Bytes>& leaf_first);
std::vector<Bytes> decode_chain(std::span<const std::uint8_t> bytes);

// PEM <-> DER for one certificate.
std::string to_pem(const Bytes& der);
Bytes from_pem(const std::string& pem);

// True if `signature` (DER ECDSA) over `message` verifies under `spki` (P-256, SHA-256).
bool verify_signature(const Bytes& spki, std::span<const std::uint8_t> message,
                      std::span<const std::uint8_t> signature);

}  // namespace hopbox::certs
