// Fp6 = Fp2[v] / (v^3 - xi), xi = 1 + u.
#pragma once

#include "fp2.h"

namespace mupre::bls12_381::detail {

constexpr Fp6 fp6_zero() {
  return Fp6{};
}
constexpr Fp6 fp6_one() {
  return Fp6{fp2_one(), fp2_zero(), fp2_zero()};
}
constexpr Fp6 operator+(const Fp6& a, const Fp6& b) {
  return {a.c0 + b.c0, a.c1 + b.c1, a.c2 + b.c2};
}
constexpr Fp6 operator-(const Fp6& a, const Fp6& b) {
  return {a.c0 - b.c0, a.c1 - b.c1, a.c2 - b.c2};
}
constexpr Fp6 operator-(const Fp6& a) {
  return {-a.c0, -a.c1, -a.c2};
}
constexpr Fp6 operator*(const Fp6& a, const Fp6& b) {
  const Fp2 t0 = a.c0 * b.c0;
  const Fp2 t1 = a.c1 * b.c1;
  const Fp2 t2 = a.c2 * b.c2;
  const Fp2 c0 = fp2_mul_xi((a.c1 + a.c2) * (b.c1 + b.c2) - t1 - t2) + t0;
  const Fp2 c1 = (a.c0 + a.c1) * (b.c0 + b.c1) - t0 - t1 + fp2_mul_xi(t2);
  const Fp2 c2 = (a.c0 + a.c2) * (b.c0 + b.c2) - t0 - t2 + t1;
  return {c0, c1, c2};
}
constexpr Fp6 fp6_sqr(const Fp6& a) {
  // Chung-Hasan SQR2.
  const Fp2 s0 = fp2_sqr(a.c0);
  const Fp2 ab = a.c0 * a.c1;
  const Fp2 s1 = ab + ab;
  const Fp2 s2 = fp2_sqr(a.c0 - a.c1 + a.c2);
  const Fp2 bc = a.c1 * a.c2;
  const Fp2 s3 = bc + bc;
  const Fp2 s4 = fp2_sqr(a.c2);
  return {fp2_mul_xi(s3) + s0, fp2_mul_xi(s4) + s1, s1 + s2 + s3 - s0 - s4};
}
// Multiplication by v (the non-residue used to build Fp12).
constexpr Fp6 fp6_mul_v(const Fp6& a) {
  return {fp2_mul_xi(a.c2), a.c0, a.c1};
}
constexpr Fp6 fp6_mul_fp2(const Fp6& a, const Fp2& b) {
  return {a.c0 * b, a.c1 * b, a.c2 * b};
}
// a * (b0 + b1 v)
constexpr Fp6 fp6_mul_01(const Fp6& a, const Fp2& b0, const Fp2& b1) {
  const Fp2 t0 = a.c0 * b0;
  const Fp2 t1 = a.c1 * b1;
  const Fp2 c0 = fp2_mul_xi((a.c1 + a.c2) * b1 - t1) + t0;
  const Fp2 c1 = (a.c0 + a.c1) * (b0 + b1) - t0 - t1;
  const Fp2 c2 = (a.c0 + a.c2) * b0 - t0 + t1;
  return {c0, c1, c2};
}
// a * (b1 v)
constexpr Fp6 fp6_mul_1(const Fp6& a, const Fp2& b1) {
  return {fp2_mul_xi(a.c2 * b1), a.c0 * b1, a.c1 * b1};
}
constexpr u64 fp6_is_zero(const Fp6& a) {
  return fp2_is_zero(a.c0) & fp2_is_zero(a.c1) & fp2_is_zero(a.c2);
}
constexpr u64 fp6_equal(const Fp6& a, const Fp6& b) {
  return fp2_equal(a.c0, b.c0) & fp2_equal(a.c1, b.c1) & fp2_equal(a.c2, b.c2);
}
constexpr Fp6 fp6_select(const Fp6& a, const Fp6& b, u64 bit) {
  return {fp2_select(a.c0, b.c0, bit), fp2_select(a.c1, b.c1, bit), fp2_select(a.c2, b.c2, bit)};
}
Fp6 fp6_inverse(const Fp6& a);

}  // namespace mupre::bls12_381::detail
