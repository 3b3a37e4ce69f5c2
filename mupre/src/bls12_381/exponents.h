// Public exponents derived from p, as little-endian limbs, computed at compile time.
#pragma once

#include "params.h"

namespace mupre::bls12_381::detail {

struct Limbs6 {
  u64 v[6];
};

// (mul p + add) / div for small mul, add (may be negative) and a small exact or floor divisor.
// REQUIRES: the quotient fits in 384 bits.
constexpr Limbs6 p_affine_div(long long add, u64 div, u64 mul = 1) {
  u64 t[7] = {};
  u128 c = 0;
  for (int i = 0; i < 6; ++i) {
    c += static_cast<u128>(kFpModulus[i]) * mul;
    t[i] = static_cast<u64>(c);
    c >>= 64;
  }
  t[6] = static_cast<u64>(c);
  if (add >= 0) {
    u128 carry = static_cast<u64>(add);
    for (int i = 0; i < 7; ++i) {
      const u128 s = static_cast<u128>(t[i]) + carry;
      t[i] = static_cast<u64>(s);
      carry = s >> 64;
    }
  } else {
    u64 borrow = static_cast<u64>(-add);
    for (int i = 0; i < 7; ++i) {
      const u128 d = static_cast<u128>(t[i]) - borrow;
      t[i] = static_cast<u64>(d);
      borrow = static_cast<u64>(d >> 64) & 1;
    }
  }
  Limbs6 q{};
  u128 rem = t[6] % div;
  for (int i = 5; i >= 0; --i) {
    const u128 cur = (rem << 64) | t[i];
    q.v[i] = static_cast<u64>(cur / div);
    rem = cur % div;
  }
  return q;
}

inline constexpr Limbs6 kPMinus3Div4 = p_affine_div(-3, 4);
inline constexpr Limbs6 kPMinus1Div2 = p_affine_div(-1, 2);
inline constexpr Limbs6 kPMinus1Div3 = p_affine_div(-1, 3);
inline constexpr Limbs6 kPMinus1Div6 = p_affine_div(-1, 6);

}  // namespace mupre::bls12_381::detail
