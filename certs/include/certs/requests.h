// The exact bytes a device signs for the CA's state-changing calls (api/hopbox/v1/ca.proto).
#pragma once

#include <span>
#include <string>

#include "certs/certificate.h"

namespace hopbox::certs {

// "hopbox v1 enroll" 0x00 identifier 0x00 encryption_key: proof of the signing key.
Bytes enrollment_proof_message(const std::string& identifier, const Bytes& encryption_key);
// "hopbox v1 revoke" 0x00 SHA-256(certificate).
Bytes revocation_message(const Bytes& certificate);
// "hopbox v1 recertify" 0x00 identifier 0x00 encryption_key: proof of the new signing key.
Bytes recertification_proof_message(const std::string& identifier, const Bytes& encryption_key);
// SHA-256("hopbox v1 recertification answer" 0x00 capsule_key encryption_key).
Bytes recertification_answer(std::span<const std::uint8_t> capsule_key,
                             const Bytes& encryption_key);
// "hopbox v1 recover primary" 0x00 SHA-256(the lost primary's certificate).
Bytes recover_primary_message(const Bytes& lost_primary_certificate);

}  // namespace hopbox::certs
