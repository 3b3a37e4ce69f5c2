// Fp12 = Fp6[w] / (w^2 - v). An element c0 + c1 w; as powers of w its Fp2 coefficients are
// c0 = (w^0, w^2, w^4) and c1 = (w^1, w^3, w^5).
#pragma once

#include "fp6.h"

namespace mupre::bls12_381::detail {

constexpr Fp12 fp12_one() {
  return Fp12{fp6_one(), fp6_zero()};
}
constexpr Fp12 operator*(const Fp12& a, const Fp12& b) {
  const Fp6 t0 = a.c0 * b.c0;
  const Fp6 t1 = a.c1 * b.c1;
  return {t0 + fp6_mul_v(t1), (a.c0 + a.c1) * (b.c0 + b.c1) - t0 - t1};
}
constexpr Fp12 fp12_sqr(const Fp12& a) {
  // (c0 + c1 w)^2 = (c0^2 + c1^2 v) + 2 c0 c1 w, with two Fp6 products.
  const Fp6 ab = a.c0 * a.c1;
  const Fp6 t = (a.c0 + a.c1) * (a.c0 + fp6_mul_v(a.c1));
  return {t - ab - fp6_mul_v(ab), ab + ab};
}
constexpr Fp12 fp12_conj(const Fp12& a) {
  return {a.c0, -a.c1};
}
constexpr u64 fp12_equal(const Fp12& a, const Fp12& b) {
  return fp6_equal(a.c0, b.c0) & fp6_equal(a.c1, b.c1);
}
constexpr Fp12 fp12_select(const Fp12& a, const Fp12& b, u64 bit) {
  return {fp6_select(a.c0, b.c0, bit), fp6_select(a.c1, b.c1, bit)};
}
constexpr u64 fp12_is_one(const Fp12& a) {
  return fp12_equal(a, fp12_one());
}

Fp12 fp12_inverse(const Fp12& a);
Fp12 fp12_frobenius(const Fp12& a);  // a^p
// Multiplication by a line value l0 + l1 v + l4 v w (the sparse shape of Miller loop lines).
Fp12 fp12_mul_line(const Fp12& f, const Fp2& l0, const Fp2& l1, const Fp2& l4);

// Operations valid on the cyclotomic subgroup (norm 1 over Fp6), where inversion is conj.
Fp12 cyclotomic_sqr(const Fp12& a);
Fp12 cyclotomic_pow_x(const Fp12& a);  // a^x for the (negative) BLS parameter x
Fp12 cyclotomic_pow_public(const Fp12& a, const u64 (&e)[4]);
u64 cyclotomic_in_gt(const Fp12& a);  // membership in the order-r subgroup

}  // namespace mupre::bls12_381::detail
