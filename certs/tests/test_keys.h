// Software P-256 keys and a small three-level hierarchy for the certificate tests.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>

#include "certs/certificate.h"

namespace hopbox::certs::testing {

class TestKey {
 public:
  TestKey() : key_(EVP_EC_gen("P-256")) {}
  ~TestKey() { EVP_PKEY_free(key_); }
  TestKey(const TestKey&) = delete;
  TestKey& operator=(const TestKey&) = delete;

  Bytes spki() const {
    unsigned char* out = nullptr;
    const int n = i2d_PUBKEY(key_, &out);
    Bytes b(out, out + n);
    OPENSSL_free(out);
    return b;
  }
  EVP_PKEY* pkey() const { return key_; }
  Signer signer() const {
    return [this](std::span<const std::uint8_t> m) {
      EVP_MD_CTX* ctx = EVP_MD_CTX_new();
      std::size_t len = 0;
      EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key_);
      EVP_DigestSign(ctx, nullptr, &len, m.data(), m.size());
      Bytes sig(len);
      EVP_DigestSign(ctx, sig.data(), &len, m.data(), m.size());
      EVP_MD_CTX_free(ctx);
      sig.resize(len);
      return sig;
    };
  }

 private:
  EVP_PKEY* key_;
};

inline Bytes fake_mupre_key(std::uint8_t fill) {
  return Bytes(50, fill);
}

inline std::int64_t now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

// root -> alice's primary -> alice's secondary
struct Hierarchy {
  TestKey root_key, primary_key, secondary_key;
  Bytes root, primary, secondary;

  Hierarchy() {
    const std::int64_t t = now();
    root = issue_certificate({"Test CA", root_key.spki(), {}, 1, t - 60, t + 86400 * 365}, {},
                             root_key.signer());
    primary = issue_certificate(
        {"alice", primary_key.spki(), fake_mupre_key(1), 2, t - 60, t + 86400 * 30}, root,
        root_key.signer());
    secondary = issue_certificate(
        {"alice", secondary_key.spki(), fake_mupre_key(2), 3, t - 60, t + 86400 * 30}, primary,
        primary_key.signer());
  }
};

}  // namespace hopbox::certs::testing
