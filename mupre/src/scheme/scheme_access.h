// The scheme's internals, for the known-answer entry points (random choices given) and
// for the hybrid layer. Not part of the public API.
#pragma once

#include <string_view>

#include "mupre/pre.h"

namespace mupre::detail {

inline constexpr std::string_view kH2Dst = "HOPBOX-MUPRE-V1-RK";
inline constexpr std::string_view kCapsuleKdfInfo = "hopbox v1 capsule key";

// H2: hash_to_curve to G2 of the 576-byte encoding of x.
bls12_381::G2 h2(const bls12_381::GT& x);

struct SchemeAccess {
  // Enc with M = Z^m and C1 = r·g1.
  static Encapsulation encapsulate_with(const PublicKey& to, const bls12_381::Scalar& m,
                                        const bls12_381::Scalar& r);
  // RKGen with X = Z^x and D1 = s·g1.
  static Result<ReKey> make_rekey_with(const SecretKeySource& from, const PublicKey& to,
                                       const bls12_381::Scalar& x, const bls12_381::Scalar& s);

  using Block = Ciphertext::Block;
  static Ciphertext empty_ciphertext() { return Ciphertext(); }
  static ReKey empty_rekey() { return ReKey(); }
  static const std::vector<Ciphertext::Block>& blocks(const Ciphertext& c) { return c.blocks_; }
  static std::vector<Ciphertext::Block>& blocks(Ciphertext& c) { return c.blocks_; }
  static Fingerprint& holder(Ciphertext& c) { return c.holder_; }
  static const bls12_381::G2& r(const ReKey& k) { return k.r_; }
  static const bls12_381::G1& d1(const ReKey& k) { return k.d1_; }
  static const bls12_381::GT& d2(const ReKey& k) { return k.d2_; }
};

}  // namespace mupre::detail
