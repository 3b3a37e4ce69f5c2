// Exponentiation by public exponents, for any field type with operator* and a squaring.
//
// Fixed 4-bit windows: about n squarings and n/4 multiplications for an n-bit exponent,
// instead of n/2 multiplications bit by bit. The exponents are public constants (p - 2,
// (p + 1)/4, ...), so skipping zero windows and indexing the table by exponent bits leaks
// nothing; the base may be secret, and no branch or index depends on it.
#pragma once

#include <cstddef>

#include "limbs.h"

namespace mupre::bls12_381::detail {

// Multiplication and squaring of a field, passed in because this header comes before the
// operators of the tower.
template <class F, class Mul, class Sqr>
struct FieldArith {
  Mul mul;
  Sqr sqr;
};

// base^e0 * map(base)^e1 with one shared run of squarings. map is a cheap endomorphism that
// commutes with powers (on Fp2, Frobenius = conjugation gives base^(e1 p + e0)).
template <class F, std::size_t E, class Mul, class Sqr, class Map>
F pow_public_joint(const F& base, const F& one, const u64 (&e0)[E], const u64 (&e1)[E],
                   FieldArith<F, Mul, Sqr> f, Map map) {
  F table[16];
  table[0] = one;
  table[1] = base;
  for (std::size_t i = 2; i < 16; ++i) table[i] = f.mul(table[i - 1], base);
  F acc = one;
  bool started = false;
  for (std::size_t w = 16 * E; w-- > 0;) {
    if (started) {
      for (int i = 0; i < 4; ++i) acc = f.sqr(acc);
    }
    const u64 n0 = (e0[w / 16] >> (4 * (w % 16))) & 15;
    const u64 n1 = (e1[w / 16] >> (4 * (w % 16))) & 15;
    if (n0 != 0) {
      acc = started ? f.mul(acc, table[n0]) : table[n0];
      started = true;
    }
    if (n1 != 0) {
      const F m = map(table[n1]);
      acc = started ? f.mul(acc, m) : m;
      started = true;
    }
  }
  return acc;
}

template <class F, std::size_t E, class Mul, class Sqr>
F pow_public(const F& base, const F& one, const u64 (&e)[E], FieldArith<F, Mul, Sqr> f) {
  static constexpr u64 kNone[E] = {};
  return pow_public_joint(base, one, e, kNone, f, [](const F& x) { return x; });
}

}  // namespace mupre::bls12_381::detail
