// Compile-time derivation of Montgomery parameters from a modulus, so that only the moduli
// themselves are written down by hand.
#pragma once

#include "mont_field.h"

namespace mupre::bls12_381::detail {

template <std::size_t N>
constexpr void double_mod(u64 (&a)[N], const u64 (&m)[N]) {
  u64 t[N] = {};
  u64 carry = 0;
  for (std::size_t i = 0; i < N; ++i) {
    t[i] = (a[i] << 1) | carry;
    carry = a[i] >> 63;
  }
  // t < 2m < 2^(64N) because of the headroom, so carry is 0 here.
  u64 d[N] = {};
  u64 borrow = 0;
  for (std::size_t i = 0; i < N; ++i) {
    const u128 s = static_cast<u128>(t[i]) - m[i] - borrow;
    d[i] = static_cast<u64>(s);
    borrow = static_cast<u64>(s >> 64) & 1;
  }
  for (std::size_t i = 0; i < N; ++i) a[i] = borrow ? t[i] : d[i];
}

template <std::size_t N>
constexpr MontParams<N> make_mont_params(const u64 (&m)[N]) {
  MontParams<N> p{};
  for (std::size_t i = 0; i < N; ++i) p.modulus[i] = m[i];
  // -m^-1 mod 2^64 by Newton iteration (each step doubles the correct bits).
  u64 inv = 1;
  for (int i = 0; i < 7; ++i) inv *= 2 - m[0] * inv;
  p.inv = 0 - inv;
  u64 acc[N] = {};
  acc[0] = 1;
  for (std::size_t i = 0; i < 64 * N; ++i) double_mod(acc, m);
  for (std::size_t i = 0; i < N; ++i) p.one[i] = acc[i];
  for (std::size_t i = 0; i < 64 * N; ++i) double_mod(acc, m);
  for (std::size_t i = 0; i < N; ++i) p.r2[i] = acc[i];
  return p;
}

inline constexpr u64 kFpModulus[6] = {0xb9feffffffffaaab, 0x1eabfffeb153ffff, 0x6730d2a0f6b0f624,
                                      0x64774b84f38512bf, 0x4b1ba7b6434bacd7, 0x1a0111ea397fe69a};
inline constexpr u64 kFrModulus[4] = {0xffffffff00000001, 0x53bda402fffe5bfe, 0x3339d80809a1d805,
                                      0x73eda753299d7d48};

inline constexpr MontParams<6> kFpParams = make_mont_params(kFpModulus);
inline constexpr MontParams<4> kFrParams = make_mont_params(kFrModulus);

// The BLS parameter x = -0xd201000000010000; kX is |x|.
inline constexpr u64 kX = 0xd201000000010000;

}  // namespace mupre::bls12_381::detail
