// Inversion, square roots, Frobenius and the cyclotomic-subgroup arithmetic of the tower.
#include "exponents.h"
#include "fp12.h"

namespace mupre::bls12_381::detail {

Fp2 fp2_inverse(const Fp2& a) {
  const Fp norm_inv = fp_inverse(fp_sqr(a.c0) + fp_sqr(a.c1));
  return {a.c0 * norm_inv, -(a.c1 * norm_inv)};
}

u64 fp2_sqrt(Fp2& out, const Fp2& a) {
  // Adj and Rodriguez-Henriquez, "Square root computation over even extension fields",
  // algorithm 9 (p = 3 mod 4), with both branches computed and selected in constant time.
  const Fp2 a1 = fp2_pow_public(a, kPMinus3Div4.v);
  const Fp2 x0 = a1 * a;
  const Fp2 alpha = a1 * x0;
  const Fp2 minus_one = -fp2_one();
  const u64 alpha_is_minus_one = fp2_equal(alpha, minus_one);
  const Fp2 x_when_minus_one{-x0.c1, x0.c0};  // u * x0
  const Fp2 b = fp2_pow_public(fp2_one() + alpha, kPMinus1Div2.v);
  const Fp2 x = fp2_select(b * x0, x_when_minus_one, alpha_is_minus_one);
  out = x;
  return fp2_equal(fp2_sqr(x), a);
}

u64 fp2_sgn0(const Fp2& a) {
  const u64 sign0 = fp_sgn0(a.c0);
  const u64 zero0 = fp_is_zero(a.c0);
  const u64 sign1 = fp_sgn0(a.c1);
  return sign0 | (zero0 & sign1);
}

u64 fp2_lexicographically_largest(const Fp2& a) {
  const u64 c1_zero = fp_is_zero(a.c1);
  const u64 l1 = fp_lexicographically_largest(a.c1);
  const u64 l0 = fp_lexicographically_largest(a.c0);
  return (l1 & (c1_zero ^ 1)) | (l0 & c1_zero);
}

Fp6 fp6_inverse(const Fp6& a) {
  const Fp2 t0 = fp2_sqr(a.c0) - fp2_mul_xi(a.c1 * a.c2);
  const Fp2 t1 = fp2_mul_xi(fp2_sqr(a.c2)) - a.c0 * a.c1;
  const Fp2 t2 = fp2_sqr(a.c1) - a.c0 * a.c2;
  const Fp2 d = a.c0 * t0 + fp2_mul_xi(a.c2 * t1 + a.c1 * t2);
  const Fp2 di = fp2_inverse(d);
  return {t0 * di, t1 * di, t2 * di};
}

Fp12 fp12_inverse(const Fp12& a) {
  const Fp6 d = fp6_inverse(fp6_sqr(a.c0) - fp6_mul_v(fp6_sqr(a.c1)));
  return {a.c0 * d, -(a.c1 * d)};
}

namespace {

// gamma[k] = xi^(k (p - 1) / 6): the Frobenius map sends the w^k coefficient c to
// conj(c) * gamma[k].
struct FrobeniusConstants {
  Fp2 gamma[6];
};

const FrobeniusConstants& frobenius_constants() {
  static const FrobeniusConstants kConstants = [] {
    FrobeniusConstants c{};
    const Fp2 xi{fp_one(), fp_one()};
    const Fp2 g1 = fp2_pow_public(xi, kPMinus1Div6.v);
    c.gamma[0] = fp2_one();
    for (int k = 1; k < 6; ++k) c.gamma[k] = c.gamma[k - 1] * g1;
    return c;
  }();
  return kConstants;
}

}  // namespace

Fp12 fp12_frobenius(const Fp12& a) {
  const Fp2* g = frobenius_constants().gamma;
  return {{fp2_conj(a.c0.c0), fp2_conj(a.c0.c1) * g[2], fp2_conj(a.c0.c2) * g[4]},
          {fp2_conj(a.c1.c0) * g[1], fp2_conj(a.c1.c1) * g[3], fp2_conj(a.c1.c2) * g[5]}};
}

Fp12 fp12_mul_line(const Fp12& f, const Fp2& l0, const Fp2& l1, const Fp2& l4) {
  // line = (l0 + l1 v) + (l4 v) w
  const Fp6 t0 = fp6_mul_01(f.c0, l0, l1);
  const Fp6 t1 = fp6_mul_1(f.c1, l4);
  const Fp6 c1 = fp6_mul_01(f.c0 + f.c1, l0, l1 + l4) - t0 - t1;
  return {t0 + fp6_mul_v(t1), c1};
}

Fp12 cyclotomic_sqr(const Fp12& a) {
  // Granger and Scott, "Faster squaring in the cyclotomic subgroup of sixth degree
  // extensions": three Fp4 squarings on the coefficient pairs (w^0, w^3), (w^1, w^4) and
  // (w^2, w^5), then 3t - 2z or 3t + 2z per coefficient.
  const auto fp4_sqr = [](const Fp2& lo, const Fp2& hi, Fp2& re, Fp2& im) {
    const Fp2 s_lo = fp2_sqr(lo);
    const Fp2 s_hi = fp2_sqr(hi);
    re = fp2_mul_xi(s_hi) + s_lo;
    im = fp2_sqr(lo + hi) - s_lo - s_hi;
  };
  Fp2 re03, im03, re14, im14, re25, im25;
  fp4_sqr(a.c0.c0, a.c1.c1, re03, im03);
  fp4_sqr(a.c1.c0, a.c0.c2, re14, im14);
  fp4_sqr(a.c0.c1, a.c1.c2, re25, im25);
  const Fp2 im25_xi = fp2_mul_xi(im25);
  Fp12 r;
  r.c0.c0 = fp2_dbl(re03 - a.c0.c0) + re03;
  r.c1.c1 = fp2_dbl(im03 + a.c1.c1) + im03;
  r.c0.c1 = fp2_dbl(re14 - a.c0.c1) + re14;
  r.c1.c2 = fp2_dbl(im14 + a.c1.c2) + im14;
  r.c0.c2 = fp2_dbl(re25 - a.c0.c2) + re25;
  r.c1.c0 = fp2_dbl(im25_xi + a.c1.c0) + im25_xi;
  return r;
}

Fp12 cyclotomic_pow_x(const Fp12& a) {
  Fp12 acc = a;
  for (int bit = 62; bit >= 0; --bit) {
    acc = cyclotomic_sqr(acc);
    if ((kX >> bit) & 1) acc = acc * a;
  }
  return fp12_conj(acc);  // x < 0, and inversion is conjugation here
}

Fp12 cyclotomic_pow_public(const Fp12& a, const u64 (&e)[4]) {
  Fp12 acc = fp12_one();
  bool started = false;
  for (int i = 3; i >= 0; --i) {
    for (int bit = 63; bit >= 0; --bit) {
      if (started) acc = cyclotomic_sqr(acc);
      if ((e[i] >> bit) & 1) {
        acc = started ? acc * a : a;
        started = true;
      }
    }
  }
  return acc;
}

u64 cyclotomic_in_gt(const Fp12& a) {
  // In the cyclotomic subgroup: a^(p^4 - p^2 + 1) = 1. Then (Scott, "A note on group
  // membership tests for G1, G2 and GT on BLS pairing-friendly curves") a is in GT iff
  // a^p = a^x.
  const Fp12 p2 = fp12_frobenius(fp12_frobenius(a));
  const Fp12 p4 = fp12_frobenius(fp12_frobenius(p2));
  const u64 cyclotomic = fp12_equal(p4 * a, p2);
  const u64 order_r = fp12_equal(fp12_frobenius(a), cyclotomic_pow_x(a));
  return cyclotomic & order_r;
}

}  // namespace mupre::bls12_381::detail
