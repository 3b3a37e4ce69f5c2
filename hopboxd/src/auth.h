// Device authentication: a device signs a fresh challenge with its ECDSA P-256 key (in its
// token); the service checks the signature against the registered public key and hands out a
// random session token, of which it stores only the SHA-256.
#pragma once

#include <string>

#include "store.h"

namespace hopboxd {

inline constexpr char kSessionLabel[] = "hopbox v1 session";

// True if der is a SubjectPublicKeyInfo of an ECDSA P-256 key.
bool is_p256_public_key(const Bytes& der);
// Verifies an ECDSA (DER) signature over SHA-256(kSessionLabel || challenge).
bool verify_session_signature(const Bytes& public_key_der, const Bytes& challenge,
                              const Bytes& signature);

Bytes random_bytes(std::size_t n);
Bytes sha256(const Bytes& data);
std::string to_hex(const Bytes& b);

}  // namespace hopboxd
