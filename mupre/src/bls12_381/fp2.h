// Fp2 = Fp[u] / (u^2 + 1).
#pragma once

#include "fp.h"
#include "pow.h"

namespace mupre::bls12_381::detail {

constexpr Fp2 fp2_zero() {
  return Fp2{};
}
constexpr Fp2 fp2_one() {
  return Fp2{fp_one(), fp_zero()};
}
constexpr Fp2 operator+(const Fp2& a, const Fp2& b) {
  return {a.c0 + b.c0, a.c1 + b.c1};
}
constexpr Fp2 operator-(const Fp2& a, const Fp2& b) {
  return {a.c0 - b.c0, a.c1 - b.c1};
}
constexpr Fp2 operator-(const Fp2& a) {
  return {-a.c0, -a.c1};
}
constexpr Fp2 fp2_dbl(const Fp2& a) {
  return a + a;
}
constexpr Fp2 operator*(const Fp2& a, const Fp2& b) {
  // Karatsuba: three base-field products.
  const Fp t0 = a.c0 * b.c0;
  const Fp t1 = a.c1 * b.c1;
  const Fp t2 = (a.c0 + a.c1) * (b.c0 + b.c1);
  return {t0 - t1, t2 - t0 - t1};
}
constexpr Fp2 fp2_mul_fp(const Fp2& a, const Fp& b) {
  return {a.c0 * b, a.c1 * b};
}
constexpr Fp2 fp2_sqr(const Fp2& a) {
  const Fp t = a.c0 * a.c1;
  return {(a.c0 + a.c1) * (a.c0 - a.c1), t + t};
}
// Multiplication by the non-residue xi = 1 + u used to build Fp6.
constexpr Fp2 fp2_mul_xi(const Fp2& a) {
  return {a.c0 - a.c1, a.c0 + a.c1};
}
constexpr Fp2 fp2_conj(const Fp2& a) {
  return {a.c0, -a.c1};
}
constexpr u64 fp2_is_zero(const Fp2& a) {
  return fp_is_zero(a.c0) & fp_is_zero(a.c1);
}
constexpr u64 fp2_equal(const Fp2& a, const Fp2& b) {
  return fp_equal(a.c0, b.c0) & fp_equal(a.c1, b.c1);
}
constexpr Fp2 fp2_select(const Fp2& a, const Fp2& b, u64 bit) {
  return {fp_select(a.c0, b.c0, bit), fp_select(a.c1, b.c1, bit)};
}

Fp2 fp2_inverse(const Fp2& a);  // inverse of 0 is 0
// Constant-time square root; returns 1 and sets out when a is a square.
u64 fp2_sqrt(Fp2& out, const Fp2& a);
u64 fp2_sgn0(const Fp2& a);                       // RFC 9380 sgn0 for m = 2
u64 fp2_lexicographically_largest(const Fp2& a);  // ZCash sign bit
// a^e for a public exponent of E limbs (little-endian).
inline constexpr auto kFp2Mul = [](const Fp2& x, const Fp2& y) { return x * y; };
inline constexpr auto kFp2Sqr = [](const Fp2& x) { return fp2_sqr(x); };
using Fp2Arith = FieldArith<Fp2, decltype(kFp2Mul), decltype(kFp2Sqr)>;

template <std::size_t E>
Fp2 fp2_pow_public(const Fp2& a, const u64 (&e)[E]) {
  return pow_public(a, fp2_one(), e, Fp2Arith{kFp2Mul, kFp2Sqr});
}
// a^(e1 p + e0): Frobenius on Fp2 is conjugation, so both halves share the squarings.
template <std::size_t E>
Fp2 fp2_pow_public_split(const Fp2& a, const u64 (&e0)[E], const u64 (&e1)[E]) {
  return pow_public_joint(a, fp2_one(), e0, e1, Fp2Arith{kFp2Mul, kFp2Sqr},
                          [](const Fp2& x) { return fp2_conj(x); });
}

}  // namespace mupre::bls12_381::detail
