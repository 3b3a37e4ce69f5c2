// mupre key pairs: public keys, secret keys that wipe themselves, and the hook through which
// a secret key can live somewhere else (wrapped by a hardware token) and be unwrapped for one
// operation at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "mupre/bls12_381.h"
#include "mupre/error.h"

namespace mupre {

// The scheme id that every encoded object carries (mupre v1).
inline constexpr std::uint8_t kSchemeMupreV1 = 0x01;

inline constexpr std::size_t kFingerprintSize = 32;
inline constexpr std::size_t kPublicKeySize = 2 + bls12_381::kG1CompressedSize;  // 50
inline constexpr std::size_t kSecretKeySize = 2 + bls12_381::kScalarSize;        // 34

// SHA-256 of a public key's encoding: how ciphertext blocks and re-encryption keys name keys.
using Fingerprint = std::array<std::uint8_t, kFingerprintSize>;

// A public key A = a·g1. Cheap to copy (shared, immutable). Thread-safe.
class PublicKey {
 public:
  // The 50-byte encoding of docs/formats.md; checks the point fully.
  static Result<PublicKey> decode(std::span<const std::uint8_t> in);
  std::array<std::uint8_t, kPublicKeySize> encode() const;

  const Fingerprint& fingerprint() const;
  const bls12_381::G1& point() const;
  // e(A, g2), computed on first use and kept: encryption for this key needs it.
  const bls12_381::GT& pairing_with_g2() const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) {
    return a.fingerprint() == b.fingerprint();
  }

  // REQUIRES: p is in G1 and not the identity. Prefer decode() for untrusted input.
  static PublicKey from_point(const bls12_381::G1& p);

 private:
  struct State;
  explicit PublicKey(std::shared_ptr<const State> s) : state_(std::move(s)) {}
  std::shared_ptr<const State> state_;
};

// Where a secret key lives. mupre asks for the key's 32 bytes once per operation, uses them,
// and wipes them; an implementation may keep them wrapped by a hardware token and unwrap on
// each call (the Hopbox client does). Implementations must be safe to call from the thread
// that runs the operation.
class SecretKeySource {
 public:
  virtual ~SecretKeySource() = default;
  virtual const PublicKey& public_key() const = 0;
  // Writes the secret scalar, 32 bytes big-endian, into out. Returns kOk or
  // kKeyUnavailable (token missing, user refused, ...). mupre wipes out afterwards. The bytes
  // must be those of a valid key (as SecretKey::encode writes them, without the two header
  // bytes): mupre does not inspect them, so that no branch depends on the secret.
  virtual Error load_secret(std::span<std::uint8_t, bls12_381::kScalarSize> out) const = 0;
};

// A secret key held in memory (locked where the OS allows, wiped on destruction). Not
// copyable; never printed. Use it where the key has no better home, and in tests.
class SecretKey final : public SecretKeySource {
 public:
  // KeyGen: a uniform scalar in [1, r-1] from the operating system's generator.
  static SecretKey generate();
  // The 34-byte encoding (format byte, scheme id, scalar); for wrapping by a token only.
  static Result<SecretKey> decode(std::span<const std::uint8_t> in);
  // Writes the 34-byte encoding into a caller buffer, which the caller must wipe.
  void encode(std::span<std::uint8_t, kSecretKeySize> out) const;

  SecretKey(SecretKey&& other) noexcept;
  SecretKey& operator=(SecretKey&& other) noexcept;
  SecretKey(const SecretKey&) = delete;
  SecretKey& operator=(const SecretKey&) = delete;
  ~SecretKey() override;

  const PublicKey& public_key() const override { return public_key_; }
  Error load_secret(std::span<std::uint8_t, bls12_381::kScalarSize> out) const override;

 private:
  SecretKey(const bls12_381::Scalar& s, PublicKey pk);
  struct Free {
    void operator()(bls12_381::Scalar* s) const;  // wipes, then releases the locked page
  };
  std::unique_ptr<bls12_381::Scalar, Free> scalar_;  // sodium_malloc: locked, guarded
  PublicKey public_key_;
};

}  // namespace mupre
