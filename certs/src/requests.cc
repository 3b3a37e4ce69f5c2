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

void put_text(Bytes& m, const std::string& text) {
  m.insert(m.end(), text.begin(), text.end());
  m.push_back(0);
}

void put_u64(Bytes& m, std::int64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    m.push_back(static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> shift));
  }
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

Bytes recertification_challenge_message(const std::string& identifier, const Bytes& encryption_key,
                                        std::span<const std::uint8_t> capsule,
                                        std::int64_t expires_at) {
  Bytes tail = identity_tail(identifier, encryption_key);
  const Bytes digest = detail::sha256(capsule);
  tail.insert(tail.end(), digest.begin(), digest.end());
  put_u64(tail, expires_at);
  return labelled("hopbox v1 recertification challenge", tail);
}

bool verify_root_signature(const Bytes& root_der, std::span<const std::uint8_t> message,
                           std::span<const std::uint8_t> signature) {
  const auto root = detail::parse_der(root_der);
  return verify_signature(detail::spki_of(root.get()), message, signature);
}

Bytes enrollment_complete_message(const Bytes& certificate) {
  return labelled("hopbox v1 enrollment complete", detail::sha256(certificate));
}

Bytes revocation_message(const Bytes& certificate) {
  return labelled("hopbox v1 revoke", detail::sha256(certificate));
}

Bytes recover_primary_message(const Bytes& lost_primary_certificate) {
  return labelled("hopbox v1 recover primary", detail::sha256(lost_primary_certificate));
}

Bytes cancel_primary_recovery_message(const std::string& identifier) {
  return labelled("hopbox v1 cancel primary recovery", Bytes(identifier.begin(), identifier.end()));
}

Bytes recovery_invitation_message(const std::string& protected_user,
                                  const std::string& recovery_user,
                                  std::span<const std::uint8_t> nonce, std::int64_t expires_at) {
  Bytes tail;
  put_text(tail, protected_user);
  put_text(tail, recovery_user);
  tail.insert(tail.end(), nonce.begin(), nonce.end());
  put_u64(tail, expires_at);
  return labelled("hopbox v1 recovery invitation", tail);
}

Bytes recovery_request_message(const std::string& user, const std::string& device_name,
                               const Bytes& encryption_key, std::int64_t requested_at,
                               const std::vector<std::string>& via) {
  Bytes tail;
  put_text(tail, user);
  put_text(tail, device_name);
  const Bytes key_hash = detail::sha256(encryption_key);
  tail.insert(tail.end(), key_hash.begin(), key_hash.end());
  put_u64(tail, requested_at);
  for (const auto& v : via) put_text(tail, v);
  return labelled("hopbox v1 recovery request", tail);
}

}  // namespace hopbox::certs
