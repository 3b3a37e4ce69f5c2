// Shamir secret sharing t-of-n over the scalar field, with Feldman commitments so that anyone
// holding the commitments can check a share and name the one that is wrong (recovery R3 of
// ../shared/spec/DESIGN.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mupre/bls12_381.h"
#include "mupre/error.h"

namespace mupre {

inline constexpr std::size_t kShareSize = 2 + 1 + bls12_381::kScalarSize;  // 35
inline constexpr unsigned kMaxShares = 255;

// The value f(index) of the secret polynomial. index is 1..255. Wiped on destruction.
class Share {
 public:
  static Result<Share> decode(std::span<const std::uint8_t> in);
  // Writes the 35-byte encoding into a caller buffer, which the caller must wipe.
  void encode(std::span<std::uint8_t, kShareSize> out) const;

  Share(std::uint8_t index, const bls12_381::Scalar& value) : index_(index), value_(value) {}
  Share(const Share&) = default;
  Share& operator=(const Share&) = default;
  ~Share();

  std::uint8_t index() const { return index_; }
  const bls12_381::Scalar& value() const { return value_; }

 private:
  std::uint8_t index_;
  bls12_381::Scalar value_;
};

// Feldman commitments a_k·g1 to the polynomial's coefficients; there are t of them.
class Commitments {
 public:
  static Result<Commitments> decode(std::span<const std::uint8_t> in);
  std::vector<std::uint8_t> encode() const;
  unsigned threshold() const { return static_cast<unsigned>(points_.size()); }

 private:
  friend struct ShamirAccess;
  std::vector<bls12_381::G1> points_;
};

struct Sharing {
  std::vector<Share> shares;  // index i+1 at position i
  Commitments commitments;
};

// Splits `secret` so that any `threshold` of the `count` shares reconstruct it.
// REQUIRES: 1 <= threshold <= count <= kMaxShares (else kInvalidArgument).
Result<Sharing> split(const bls12_381::Scalar& secret, unsigned threshold, unsigned count);

// True iff share.value()·g1 equals the commitments evaluated at share.index().
bool verify_share(const Share& share, const Commitments& commitments);

// Verifies every share, then interpolates from the first threshold() distinct ones.
// kBadShare (with *bad_index set to the first failing share's index) or kNotEnoughShares.
Result<bls12_381::Scalar> combine(std::span<const Share> shares, const Commitments& commitments,
                                  std::uint8_t* bad_index = nullptr);

// Lagrange interpolation at 0 of whatever shares are given, unchecked. With fewer than t
// shares the result is unrelated to the secret. kInvalidArgument on repeated or zero indices.
Result<bls12_381::Scalar> interpolate(std::span<const Share> shares);

// A 32-byte symmetric key derived from a shared scalar (HKDF-SHA-256, `info` as given), as
// recovery R3 uses to encrypt re-encryption keys under a secret that is then shared.
std::array<std::uint8_t, 32> key_from_scalar(const bls12_381::Scalar& s,
                                             std::span<const std::uint8_t> info);

}  // namespace mupre
