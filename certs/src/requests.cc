#include "certs/requests.h"

#include <openssl/crypto.h>

#include <cstring>

#include "openssl_util.h"

namespace hopbox::certs {

namespace {

Bytes labelled(const char* label, std::span<const std::uint8_t> tail) {
  Bytes m(label, label + std::strlen(label) + 1);  // the label and its NUL
  m.insert(m.end(), tail.begin(), tail.end());
  return m;
}

Bytes identity_tail(const std::string& identifier, const Bytes& encryption_key) {
  Bytes tail(identifier.begin(), identifier.end());
  tail.push_back(0);
  tail.insert(tail.end(), encryption_key.begin(), encryption_key.end());
  return tail;
}

}  // namespace

Bytes enrollment_proof_message(const std::string& identifier, const Bytes& encryption_key) {
  return labelled("hopbox v1 enroll", identity_tail(identifier, encryption_key));
}

Bytes recertification_proof_message(const std::string& identifier, const Bytes& encryption_key) {
  return labelled("hopbox v1 recertify", identity_tail(identifier, encryption_key));
}

Bytes recertification_answer(std::span<const std::uint8_t> capsule_key,
                             const Bytes& encryption_key) {
  Bytes tail(capsule_key.begin(), capsule_key.end());
  tail.insert(tail.end(), encryption_key.begin(), encryption_key.end());
  Bytes message = labelled("hopbox v1 recertification answer", tail);
  Bytes answer = detail::sha256(message);
  // The capsule key is secret until the answer is given.
  OPENSSL_cleanse(tail.data(), tail.size());
  OPENSSL_cleanse(message.data(), message.size());
  return answer;
}

Bytes revocation_message(const Bytes& certificate) {
  return labelled("hopbox v1 revoke", detail::sha256(certificate));
}

Bytes recover_primary_message(const Bytes& lost_primary_certificate) {
  return labelled("hopbox v1 recover primary", detail::sha256(lost_primary_certificate));
}

}  // namespace hopbox::certs
