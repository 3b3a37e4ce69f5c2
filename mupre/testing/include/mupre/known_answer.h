// Test-only entry points: the scheme's operations with their random choices given, and a view
// of the group elements inside capsules and re-encryption keys. For known-answer tests and the
// hopbox-vectors checker; production code must use pre.h, which draws fresh randomness.
#pragma once

#include <vector>

#include "mupre/pre.h"

namespace mupre::known_answer {

// Enc with M = Z^m, C1 = r·g1. Returns the capsule, its key, and M.
struct Encryption {
  Encapsulation enc;
  bls12_381::GT m;
};
Encryption encapsulate_with(const PublicKey& to, const bls12_381::Scalar& m,
                            const bls12_381::Scalar& r);

// RKGen with X = Z^x, D1 = s·g1.
Result<ReKey> make_rekey_with(const SecretKeySource& from, const PublicKey& to,
                              const bls12_381::Scalar& x, const bls12_381::Scalar& s);

// H2 of the scheme (hash to G2 of the 576-byte encoding, DST HOPBOX-MUPRE-V1-RK).
bls12_381::G2 h2(const bls12_381::GT& x);

struct BlockView {
  bls12_381::G1 u1;
  bls12_381::GT u2;
};
std::vector<BlockView> blocks(const Ciphertext& c);

struct ReKeyView {
  bls12_381::G2 r;
  bls12_381::G1 d1;
  bls12_381::GT d2;
};
ReKeyView parts(const ReKey& rk);

}  // namespace mupre::known_answer
