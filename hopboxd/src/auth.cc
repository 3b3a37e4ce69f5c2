#include "auth.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <cstring>
#include <memory>

namespace hopboxd {

namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey parse_p256(const Bytes& der) {
  const unsigned char* p = der.data();
  Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (!key || p != der.data() + der.size()) return nullptr;
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) return nullptr;
  char group[64] = {};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &len) != 1) return nullptr;
  if (std::strcmp(group, "prime256v1") != 0) return nullptr;
  return key;
}

}  // namespace

bool is_p256_public_key(const Bytes& der) {
  return parse_p256(der) != nullptr;
}

bool verify_session_signature(const Bytes& public_key_der, const Bytes& challenge,
                              const Bytes& signature) {
  Pkey key = parse_p256(public_key_der);
  if (!key) return false;
  Bytes msg(kSessionLabel, kSessionLabel + std::strlen(kSessionLabel));
  msg.insert(msg.end(), challenge.begin(), challenge.end());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  const bool ok =
      EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx, signature.data(), signature.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

Bytes random_bytes(std::size_t n) {
  Bytes b(n);
  randombytes_buf(b.data(), b.size());
  return b;
}

Bytes sha256(const Bytes& data) {
  Bytes out(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(out.data(), data.data(), data.size());
  return out;
}

std::string to_hex(const Bytes& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (const std::uint8_t c : b) {
    s += kHex[c >> 4];
    s += kHex[c & 15];
  }
  return s;
}

}  // namespace hopboxd
