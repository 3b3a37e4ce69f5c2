// Montgomery arithmetic modulo a prime of N 64-bit limbs whose top limb leaves at least two
// spare bits (true of both BLS12-381 fields). That headroom lets the multiplication skip the
// extra carry word of textbook CIOS and lets additions skip the final carry.
// Every operation is constant time; functions that branch on their input end in _vartime.
#pragma once

#include <cstddef>

#include "limbs.h"

namespace mupre::bls12_381::detail {

// Parameters of a Montgomery field: modulus, -modulus^-1 mod 2^64, R mod m, R^2 mod m.
template <std::size_t N>
struct MontParams {
  u64 modulus[N];
  u64 inv;
  u64 one[N];  // R mod m: 1 in Montgomery form
  u64 r2[N];   // R^2 mod m: converts into Montgomery form
};

// r = (a * b) / R mod m, with a, b < m.
template <std::size_t N, const MontParams<N>& P>
constexpr void mont_mul(u64 (&r)[N], const u64 (&a)[N], const u64 (&b)[N]) {
  u64 t[N] = {};
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) {
    u128 s = static_cast<u128>(a[0]) * b[i] + t[0];
    u64 carry_a = static_cast<u64>(s >> 64);
    t[0] = static_cast<u64>(s);
    const u64 m = t[0] * P.inv;
    s = static_cast<u128>(m) * P.modulus[0] + t[0];
    u64 carry_m = static_cast<u64>(s >> 64);
#pragma GCC unroll 16
    for (std::size_t j = 1; j < N; ++j) {
      s = static_cast<u128>(a[j]) * b[i] + t[j] + carry_a;
      carry_a = static_cast<u64>(s >> 64);
      const u64 tj = static_cast<u64>(s);
      s = static_cast<u128>(m) * P.modulus[j] + tj + carry_m;
      carry_m = static_cast<u64>(s >> 64);
      t[j - 1] = static_cast<u64>(s);
    }
    t[N - 1] = carry_a + carry_m;
  }
  u64 d[N];
  const u64 borrow = sub_n(d, t, P.modulus);
  cmov(r, d, t, borrow);
}

// r = a^2 / R mod m. Products a[i]*a[j] (i != j) are computed once and doubled, then the
// double-width result is reduced word by word.
template <std::size_t N, const MontParams<N>& P>
constexpr void mont_sqr(u64 (&r)[N], const u64 (&a)[N]) {
  u64 w[2 * N] = {};
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) {
    u64 carry = 0;
#pragma GCC unroll 16
    for (std::size_t j = i + 1; j < N; ++j) {
      const u128 s = static_cast<u128>(a[i]) * a[j] + w[i + j] + carry;
      w[i + j] = static_cast<u64>(s);
      carry = static_cast<u64>(s >> 64);
    }
    w[i + N] = carry;
  }
  // Double the cross products.
  u64 top = 0;
#pragma GCC unroll 16
  for (std::size_t k = 0; k < 2 * N; ++k) {
    const u64 next = w[k] >> 63;
    w[k] = (w[k] << 1) | top;
    top = next;
  }
  // Add the squares a[i]^2.
  u64 carry = 0;
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) {
    const u128 sq = static_cast<u128>(a[i]) * a[i];
    u128 s = static_cast<u128>(w[2 * i]) + static_cast<u64>(sq) + carry;
    w[2 * i] = static_cast<u64>(s);
    s = static_cast<u128>(w[2 * i + 1]) + static_cast<u64>(sq >> 64) + static_cast<u64>(s >> 64);
    w[2 * i + 1] = static_cast<u64>(s);
    carry = static_cast<u64>(s >> 64);
  }
  // Montgomery reduction of the 2N-word value.
  u64 carry_hi = 0;
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) {
    const u64 m = w[i] * P.inv;
    u64 c = 0;
#pragma GCC unroll 16
    for (std::size_t j = 0; j < N; ++j) {
      const u128 s = static_cast<u128>(m) * P.modulus[j] + w[i + j] + c;
      w[i + j] = static_cast<u64>(s);
      c = static_cast<u64>(s >> 64);
    }
    const u128 s = static_cast<u128>(w[i + N]) + c + carry_hi;
    w[i + N] = static_cast<u64>(s);
    carry_hi = static_cast<u64>(s >> 64);
  }
  u64 t[N];
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) t[i] = w[i + N];
  u64 d[N];
  const u64 borrow = sub_n(d, t, P.modulus);
  cmov(r, d, t, borrow);
}

template <std::size_t N, const MontParams<N>& P>
constexpr void mod_add(u64 (&r)[N], const u64 (&a)[N], const u64 (&b)[N]) {
  u64 t[N];
  add_n(t, a, b);  // no carry out: a + b < 2m < 2^(64N)
  u64 d[N];
  const u64 borrow = sub_n(d, t, P.modulus);
  cmov(r, d, t, borrow);
}

template <std::size_t N, const MontParams<N>& P>
constexpr void mod_sub(u64 (&r)[N], const u64 (&a)[N], const u64 (&b)[N]) {
  u64 t[N];
  const u64 borrow = sub_n(t, a, b);
  u64 m[N];
  const u64 mask = mask_from_bit(borrow);
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) m[i] = P.modulus[i] & mask;
  add_n(r, t, m);
}

template <std::size_t N, const MontParams<N>& P>
constexpr void mod_neg(u64 (&r)[N], const u64 (&a)[N]) {
  u64 t[N];
  sub_n(t, P.modulus, a);
  // -0 must be 0, not m.
  const u64 z = is_zero(a);
  const u64 zero[N] = {};
  cmov(r, t, zero, z);
}

// r = a^e for a public exponent given as little-endian limbs. Branches only on the exponent.
template <std::size_t N, std::size_t E, const MontParams<N>& P>
constexpr void mont_pow_public(u64 (&r)[N], const u64 (&a)[N], const u64 (&e)[E]) {
  u64 acc[N];
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) acc[i] = P.one[i];
  bool started = false;
  for (std::size_t i = E; i-- > 0;) {
    for (int bit = 63; bit >= 0; --bit) {
      if (started) mont_sqr<N, P>(acc, acc);
      if ((e[i] >> bit) & 1) {
        mont_mul<N, P>(acc, acc, a);
        started = true;
      }
    }
  }
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) r[i] = acc[i];
}

}  // namespace mupre::bls12_381::detail
