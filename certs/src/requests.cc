#include "certs/requests.h"

#include <cstring>

#include "openssl_util.h"

namespace hopbox::certs {

namespace {

Bytes labelled(const char* label, std::span<const std::uint8_t> tail) {
  Bytes m(label, label + std::strlen(label) + 1);  // the label and its NUL
  m.insert(m.end(), tail.begin(), tail.end());
  return m;
}

}  // namespace

Bytes enrollment_proof_message(const std::string& identifier, const Bytes& encryption_key) {
  Bytes tail(identifier.begin(), identifier.end());
  tail.push_back(0);
  tail.insert(tail.end(), encryption_key.begin(), encryption_key.end());
  return labelled("hopbox v1 enroll", tail);
}

Bytes revocation_message(const Bytes& certificate) {
  return labelled("hopbox v1 revoke", detail::sha256(certificate));
}

Bytes recover_primary_message(const Bytes& lost_primary_certificate) {
  return labelled("hopbox v1 recover primary", detail::sha256(lost_primary_certificate));
}

}  // namespace hopbox::certs
