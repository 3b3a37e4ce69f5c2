// Fixed-size limb vectors: the carry-propagating primitives everything else is built from.
// All functions here run in time independent of the limb values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MUPRE_X86_CARRY 1
#endif

namespace mupre::bls12_381::detail {

__extension__ typedef unsigned __int128 u128;
using u64 = std::uint64_t;

// Returns all ones when bit is 1, zero when it is 0 (bit must be 0 or 1).
constexpr u64 mask_from_bit(u64 bit) {
  return 0 - bit;
}

// 1 when x == 0, else 0, without branching.
constexpr u64 is_zero_word(u64 x) {
  return ((x | (0 - x)) >> 63) ^ 1;
}

template <std::size_t N>
constexpr u64 is_zero(const u64 (&a)[N]) {
  u64 acc = 0;
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) acc |= a[i];
  return is_zero_word(acc);
}

template <std::size_t N>
constexpr u64 equal(const u64 (&a)[N], const u64 (&b)[N]) {
  u64 acc = 0;
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) acc |= a[i] ^ b[i];
  return is_zero_word(acc);
}

// r = bit ? b : a
template <std::size_t N>
constexpr void cmov(u64 (&r)[N], const u64 (&a)[N], const u64 (&b)[N], u64 bit) {
  const u64 m = mask_from_bit(bit);
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) r[i] = (a[i] & ~m) | (b[i] & m);
}

// r = a + b, returns the carry out.
template <std::size_t N>
constexpr u64 add_n(u64 (&r)[N], const u64 (&a)[N], const u64 (&b)[N]) {
#ifdef MUPRE_X86_CARRY
  // The carry intrinsics compile to one adc chain; the portable form below does not.
  if (!std::is_constant_evaluated()) {
    unsigned char c = 0;
#pragma GCC unroll 16
    for (std::size_t i = 0; i < N; ++i) {
      unsigned long long out;
      c = _addcarry_u64(c, a[i], b[i], &out);
      r[i] = out;
    }
    return c;
  }
#endif
  u64 carry = 0;
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) {
    const u128 s = static_cast<u128>(a[i]) + b[i] + carry;
    r[i] = static_cast<u64>(s);
    carry = static_cast<u64>(s >> 64);
  }
  return carry;
}

// r = a - b, returns the borrow out (0 or 1).
template <std::size_t N>
constexpr u64 sub_n(u64 (&r)[N], const u64 (&a)[N], const u64 (&b)[N]) {
#ifdef MUPRE_X86_CARRY
  if (!std::is_constant_evaluated()) {
    unsigned char c = 0;
#pragma GCC unroll 16
    for (std::size_t i = 0; i < N; ++i) {
      unsigned long long out;
      c = _subborrow_u64(c, a[i], b[i], &out);
      r[i] = out;
    }
    return c;
  }
#endif
  u64 borrow = 0;
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) {
    const u128 d = static_cast<u128>(a[i]) - b[i] - borrow;
    r[i] = static_cast<u64>(d);
    borrow = static_cast<u64>(d >> 64) & 1;
  }
  return borrow;
}

// 1 when a < b (as integers), constant time.
template <std::size_t N>
constexpr u64 less_than(const u64 (&a)[N], const u64 (&b)[N]) {
  u64 t[N];
  return sub_n(t, a, b);
}

// Big-endian bytes <-> little-endian limbs.
template <std::size_t N>
constexpr void limbs_from_be(u64 (&r)[N], const std::uint8_t* in) {
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) {
    u64 w = 0;
#pragma GCC unroll 16
    for (std::size_t j = 0; j < 8; ++j) w = (w << 8) | in[(N - 1 - i) * 8 + j];
    r[i] = w;
  }
}

template <std::size_t N>
constexpr void limbs_to_be(std::uint8_t* out, const u64 (&a)[N]) {
#pragma GCC unroll 16
  for (std::size_t i = 0; i < N; ++i) {
#pragma GCC unroll 16
    for (std::size_t j = 0; j < 8; ++j) {
      out[(N - 1 - i) * 8 + j] = static_cast<std::uint8_t>(a[i] >> (56 - 8 * j));
    }
  }
}

}  // namespace mupre::bls12_381::detail
