// A device as hopbox-ca sees it in tests: a P-256 signing key and a mupre key, and the signed
// requests it sends (the real client is another component).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <span>
#include <string>

#include "certs/requests.h"
#include "certs/verify.h"
#include "hopbox/v1/ca.pb.h"
#include "mupre/keys.h"

namespace hopbox_ca::test {

struct TestDevice {
  std::shared_ptr<EVP_PKEY> key{EVP_EC_gen("P-256"), EVP_PKEY_free};
  mupre::SecretKey mupre_key = mupre::SecretKey::generate();

  hopbox::certs::Bytes spki() const {
    unsigned char* out = nullptr;
    const int n = i2d_PUBKEY(key.get(), &out);
    hopbox::certs::Bytes b(out, out + n);
    OPENSSL_free(out);
    return b;
  }
  hopbox::certs::Bytes encryption_key() const {
    const auto pk = mupre_key.public_key().encode();
    return hopbox::certs::Bytes(pk.begin(), pk.end());
  }
  std::string sign(const hopbox::certs::Bytes& m) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
    EVP_DigestSign(ctx, nullptr, &len, m.data(), m.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, m.data(), m.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return sig;
  }
  hopbox::certs::Signer signer() const {
    return [this](std::span<const std::uint8_t> m) {
      const std::string sig = sign(hopbox::certs::Bytes(m.begin(), m.end()));
      return hopbox::certs::Bytes(sig.begin(), sig.end());
    };
  }
  hopbox::v1::EnrollRequest enroll_request(const std::string& id, const std::string& code) const {
    hopbox::v1::EnrollRequest r;
    r.set_identifier(id);
    r.set_enrollment_code(code);
    r.set_signing_key(as_string(spki()));
    r.set_encryption_key(as_string(encryption_key()));
    r.set_proof(sign(hopbox::certs::enrollment_proof_message(id, encryption_key())));
    return r;
  }
  hopbox::v1::BeginRecertificationRequest recertification_request(const std::string& id) const {
    hopbox::v1::BeginRecertificationRequest r;
    r.set_identifier(id);
    r.set_signing_key(as_string(spki()));
    r.set_encryption_key(as_string(encryption_key()));
    r.set_proof(sign(hopbox::certs::recertification_proof_message(id, encryption_key())));
    return r;
  }

 private:
  static std::string as_string(const hopbox::certs::Bytes& b) { return {b.begin(), b.end()}; }
};

}  // namespace hopbox_ca::test
