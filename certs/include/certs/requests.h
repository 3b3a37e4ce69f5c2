// The exact bytes a device signs for the CA's state-changing calls (api/hopbox/v1/ca.proto).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "certs/certificate.h"

namespace hopbox::certs {

// "hopbox v1 enroll" 0x00 identifier 0x00 encryption_key: proof of the signing key.
Bytes enrollment_proof_message(const std::string& identifier, const Bytes& encryption_key);
// "hopbox v1 enrollment complete" 0x00 SHA-256(certificate): the enrolled primary is
// registered with the cloud.
Bytes enrollment_complete_message(const Bytes& certificate);
// "hopbox v1 revoke" 0x00 SHA-256(certificate).
Bytes revocation_message(const Bytes& certificate);
// "hopbox v1 recertify" 0x00 identifier 0x00 encryption_key: proof of the new signing key.
Bytes recertification_proof_message(const std::string& identifier, const Bytes& encryption_key);
// SHA-256("hopbox v1 recertification answer" 0x00 capsule_key encryption_key).
Bytes recertification_answer(std::span<const std::uint8_t> capsule_key,
                             const Bytes& encryption_key);
// "hopbox v1 recertification challenge" 0x00 identifier 0x00 encryption_key SHA-256(capsule)
// expires_at (8 bytes, big endian): signed by the CA's root key, it tells the cloud that a
// capsule is the CA's challenge for that very new key, not an item to open early.
Bytes recertification_challenge_message(const std::string& identifier, const Bytes& encryption_key,
                                        std::span<const std::uint8_t> capsule,
                                        std::int64_t expires_at);
// True if `signature` over `message` verifies under the root certificate's key.
bool verify_root_signature(const Bytes& root_der, std::span<const std::uint8_t> message,
                           std::span<const std::uint8_t> signature);
// "hopbox v1 recover primary" 0x00 SHA-256(the lost primary's certificate).
Bytes recover_primary_message(const Bytes& lost_primary_certificate);
// "hopbox v1 cancel primary recovery" 0x00 identifier: a device of the identifier stops every
// R1 recovery waiting at the CA.
Bytes cancel_primary_recovery_message(const std::string& identifier);

// The exact bytes a device signs for the cloud's recovery calls (api/hopbox/v1/hopbox.proto).
// "hopbox v1 recovery invitation" 0x00 protected_user 0x00 recovery_user 0x00 nonce
// expires_at (8 bytes, big endian): a primary asks recovery_user to protect its account.
Bytes recovery_invitation_message(const std::string& protected_user,
                                  const std::string& recovery_user,
                                  std::span<const std::uint8_t> nonce, std::int64_t expires_at);
// "hopbox v1 recovery request" 0x00 user 0x00 device_name 0x00 SHA-256(encryption_key)
// requested_at (8 bytes, big endian), then each recovery user asked followed by 0x00.
Bytes recovery_request_message(const std::string& user, const std::string& device_name,
                               const Bytes& encryption_key, std::int64_t requested_at,
                               const std::vector<std::string>& via);

}  // namespace hopbox::certs
