// mupre v1 proxy re-encryption (../shared/spec/mupre.md): level-l ciphertexts (capsules),
// re-encryption keys, and the four operations Enc, RKGen, ReEnc and Dec.
//
// A capsule carries a random GT element M; its 32-byte CapsuleKey is derived from M. Item
// contents are never encrypted under the capsule directly: the capsule key wraps a data key
// (item.h). Decapsulation cannot tell a tampered capsule from a good one; the wrapped key's
// authentication does, so callers must treat an unwrap failure as a possible attack.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "mupre/bls12_381.h"
#include "mupre/error.h"
#include "mupre/keys.h"

namespace mupre {

namespace detail {
struct SchemeAccess;
}

// Longest re-encryption chain a ciphertext may have gone through, plus one.
inline constexpr unsigned kMaxLevel = 32;
inline constexpr std::size_t kCiphertextBlockSize =
    bls12_381::kG1CompressedSize + bls12_381::kGtCompressedSize;  // 336
// Format byte, scheme id, level, and the fingerprint of the open block's holder.
inline constexpr std::size_t kCiphertextHeaderSize = 3 + kFingerprintSize;
inline constexpr std::size_t kReKeySize = 2 + 2 * kFingerprintSize + bls12_381::kG2CompressedSize +
                                          bls12_381::kG1CompressedSize +
                                          bls12_381::kGtCompressedSize;  // 498

constexpr std::size_t ciphertext_size(unsigned level) {
  return kCiphertextHeaderSize + level * kCiphertextBlockSize;
}

// The 32-byte key a capsule carries. Wiped on destruction.
class CapsuleKey {
 public:
  CapsuleKey() = default;
  CapsuleKey(const CapsuleKey&) = default;
  CapsuleKey& operator=(const CapsuleKey&) = default;
  ~CapsuleKey();
  std::span<const std::uint8_t, 32> bytes() const { return bytes_; }
  std::span<std::uint8_t, 32> mutable_bytes() { return bytes_; }

 private:
  std::array<std::uint8_t, 32> bytes_{};
};

// A level-l ciphertext C^l = (E_1, ..., E_l). Only obtainable from encapsulate, reencrypt or
// decode, so every instance is well formed: points in their groups, 1 <= level <= kMaxLevel.
// It names the holder of its open (last) block only: the holders of the transformed blocks
// play no part in decryption, so a label on them could be altered undetected (the service
// keeps the path a ciphertext took).
class Ciphertext {
 public:
  static Result<Ciphertext> decode(std::span<const std::uint8_t> in);
  std::vector<std::uint8_t> encode() const;

  unsigned level() const { return static_cast<unsigned>(blocks_.size()); }
  // The key the open (last) block is addressed to: the only key that can decapsulate.
  const Fingerprint& holder() const { return holder_; }

 private:
  friend struct detail::SchemeAccess;
  Ciphertext() = default;
  struct Block {
    bls12_381::G1 u1;
    bls12_381::GT u2;
  };
  Fingerprint holder_{};
  std::vector<Block> blocks_;
};

// rk_{A->B} = (R = H2(X) - a·g2, D1 = s·g1, D2 = X·e(B, g2)^s), with both fingerprints.
class ReKey {
 public:
  static Result<ReKey> decode(std::span<const std::uint8_t> in);
  std::array<std::uint8_t, kReKeySize> encode() const;

  const Fingerprint& from() const { return from_; }
  const Fingerprint& to() const { return to_; }

 private:
  friend struct detail::SchemeAccess;
  ReKey() = default;
  Fingerprint from_{}, to_{};
  bls12_381::G2 r_{};
  bls12_381::G1 d1_{};
  bls12_381::GT d2_{};
};

struct Encapsulation {
  Ciphertext capsule;  // level 1, addressed to the recipient
  CapsuleKey key;
};

// Enc: a fresh capsule for `to` and the key it carries.
Encapsulation encapsulate(const PublicKey& to);

// Dec: the key carried by c. kWrongHolder if `key` is not the holder of c's open block.
// A ciphertext altered in transit yields a wrong key, not an error: see the file comment.
Result<CapsuleKey> decapsulate(const SecretKeySource& key, const Ciphertext& c);

// RKGen: a re-encryption key from `from` to `to`.
Result<ReKey> make_rekey(const SecretKeySource& from, const PublicKey& to);

// ReEnc (the proxy's step): C^l -> C^{l+1}. kWrongHolder if rk does not start at c's holder,
// kLevelOutOfRange if c is already at kMaxLevel.
Result<Ciphertext> reencrypt(const ReKey& rk, const Ciphertext& c);

}  // namespace mupre
