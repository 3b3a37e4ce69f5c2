// The sealing that recovery R3 (DESIGN.md) puts around a re-encryption key and around a
// recovery user's shares: XChaCha20-Poly1305 (libsodium) with a random nonce in front, the
// associated data naming what is sealed for whom, so that nothing can be swapped between
// users or protectors. Shared by the client that seals and the service that opens.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hopbox::threshold {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::size_t kOverhead =
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;

// "hopbox v1 R3 <what>" 0x00 protected user 0x00 protector.
inline Bytes associated_data(const std::string& what, const std::string& protected_user,
                             const std::string& protector) {
  const std::string s = "hopbox v1 R3 " + what + std::string(1, '\0') + protected_user +
                        std::string(1, '\0') + protector;
  return Bytes(s.begin(), s.end());
}

inline Bytes seal(std::span<const std::uint8_t, 32> key, const Bytes& ad,
                  std::span<const std::uint8_t> plain) {
  Bytes out(kOverhead + plain.size());
  randombytes_buf(out.data(), crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &len, plain.data(), plain.size(),
      ad.data(), ad.size(), nullptr, out.data(), key.data());
  return out;
}

// nullopt unless authentic.
inline std::optional<Bytes> open(std::span<const std::uint8_t, 32> key, const Bytes& ad,
                                 std::span<const std::uint8_t> sealed) {
  if (sealed.size() < kOverhead) return std::nullopt;
  Bytes out(sealed.size() - kOverhead);
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out.data(), &len, nullptr, sealed.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
          sealed.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad.data(), ad.size(),
          sealed.data(), key.data()) != 0) {
    return std::nullopt;
  }
  return out;
}

}  // namespace hopbox::threshold
