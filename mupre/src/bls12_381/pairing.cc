// The optimal ate pairing: Miller loop over |x| with lines evaluated at P on the M-type
// twist, then the final exponentiation. Lines are kept in the sparse shape
// l2 + (l0 xP) v + (l1 yP) v w, i.e. P mapped to the twist as (xP w^2, yP w^3).
#include <vector>

#include "fp12.h"
#include "groups.h"

namespace mupre::bls12_381 {
namespace detail {
namespace {

struct Line {
  Fp2 l0, l1, l2;  // coefficient of x', of y', constant
};

Fp12 mul_line_at(const Fp12& f, const Line& l, const Fp& xp, const Fp& yp) {
  return fp12_mul_line(f, l.l2, fp2_mul_fp(l.l0, xp), fp2_mul_fp(l.l1, yp));
}

// T <- 2T and the tangent line at T (Costello, Lange and Naehrig, eprint 2009/615).
Line double_step(G2& t) {
  const Fp2 b = fp2_sqr(t.y);
  const Fp2 c = fp2_sqr(t.z);
  const Fp2 d = G2Curve::mul_by_b3(c);
  const Fp2 f = fp2_sqr(t.y + t.z) - b - c;  // 2YZ
  const Fp2 a = fp2_sqr(t.x);
  const Fp2 e = fp2_sqr(t.x + t.y) - a - b;  // 2XY
  const Line line{a + a + a, -f, d - b};
  const Fp2 g = d + d + d;
  const Fp2 d2 = fp2_sqr(d);
  const Fp2 d2_times_3 = d2 + d2 + d2;
  t.x = e * (b - g);
  t.y = fp2_sqr(b + g) - fp2_dbl(fp2_dbl(d2_times_3));  // (B+G)^2 - 12 D^2
  t.z = fp2_dbl(fp2_dbl(b * f));
  return line;
}

// T <- T + Q for affine Q and the line through T and Q (Aranha et al., mixed addition).
Line add_step(G2& t, const Fp2& xq, const Fp2& yq) {
  const Fp2 theta = t.y - yq * t.z;
  const Fp2 lambda = t.x - xq * t.z;
  const Line line{-theta, lambda, theta * xq - lambda * yq};
  const Fp2 c = fp2_sqr(theta);
  const Fp2 d = fp2_sqr(lambda);
  const Fp2 e = lambda * d;
  const Fp2 f = t.z * c;
  const Fp2 g = t.x * d;
  const Fp2 h = e + f - fp2_dbl(g);
  t.x = lambda * h;
  t.y = theta * (g - h) - t.y * e;
  t.z = t.z * e;
  return line;
}

}  // namespace

// One pair of the loop. A pair with an identity point is run on the generators instead and
// its lines are discarded by selection, so that no branch depends on the points.
struct MillerPair {
  Fp xp, yp;
  Fp2 xq, yq;
  u64 skip;
  G2 t;
};

Fp12 miller_loop_pairs(std::vector<MillerPair>& pairs) {
  Fp12 f = fp12_one();
  const auto apply = [&f](const Line& l, const MillerPair& pr) {
    f = fp12_select(mul_line_at(f, l, pr.xp, pr.yp), f, pr.skip);
  };
  for (int bit = 62; bit >= 0; --bit) {
    f = fp12_sqr(f);
    for (MillerPair& pr : pairs) apply(double_step(pr.t), pr);
    if ((kX >> bit) & 1) {
      for (MillerPair& pr : pairs) apply(add_step(pr.t, pr.xq, pr.yq), pr);
    }
  }
  return fp12_conj(f);  // x < 0
}

Fp12 final_exponentiation_raw(const Fp12& f) {
  // Easy part: f^((p^6 - 1)(p^2 + 1)) lands in the cyclotomic subgroup.
  Fp12 g = fp12_conj(f) * fp12_inverse(f);
  g = fp12_frobenius(fp12_frobenius(g)) * g;
  // Hard part, raised to 3 (p^4 - p^2 + 1) / r = (x - 1)^2 (x + p)(x^2 + p^2 - 1) + 3
  // (Hayashida, Hayasaka and Teruya), as a chain of powers by x and Frobenius maps.
  const Fp12 g3 = cyclotomic_sqr(g) * g;
  Fp12 t0 = cyclotomic_pow_x(g) * fp12_conj(g);  // g^(x - 1)
  const Fp12 t1 = cyclotomic_pow_x(t0);          // g^((x - 1) x)
  const Fp12 a3 = t1 * fp12_conj(t0);            // g^((x - 1)^2)
  const Fp12 a2 = fp12_frobenius(a3);
  const Fp12 a1 = fp12_frobenius(a2) * fp12_conj(a3);
  const Fp12 a0 = fp12_frobenius(a1) * g3;
  Fp12 c = cyclotomic_pow_x(a3) * a2;
  c = cyclotomic_pow_x(c) * a1;
  c = cyclotomic_pow_x(c) * a0;
  return c;
}

}  // namespace detail

using namespace detail;

MillerValue miller_loop(std::span<const G1> p, std::span<const G2> q) {
  if (p.size() != q.size()) return MillerValue{fp12_one()};
  std::vector<MillerPair> pairs(p.size());
  for (std::size_t i = 0; i < p.size(); ++i) {
    MillerPair& pr = pairs[i];
    pr.skip = point_is_identity(p[i]) | point_is_identity(q[i]);
    const G1 pp = point_select(p[i], kG1Generator, pr.skip);
    const G2 qq = point_select(q[i], kG2Generator, pr.skip);
    point_to_affine(pp, pr.xp, pr.yp);
    point_to_affine(qq, pr.xq, pr.yq);
    pr.t = G2{pr.xq, pr.yq, fp2_one()};
  }
  return MillerValue{miller_loop_pairs(pairs)};
}

GT final_exponentiation(const MillerValue& f) {
  return GT{final_exponentiation_raw(f.value)};
}

GT pairing(const G1& p, const G2& q) {
  return final_exponentiation(miller_loop(std::span<const G1>(&p, 1), std::span<const G2>(&q, 1)));
}

GT multi_pairing(std::span<const G1> p, std::span<const G2> q) {
  if (p.size() != q.size()) return GT{fp12_one()};
  return final_exponentiation(miller_loop(p, q));
}

}  // namespace mupre::bls12_381
