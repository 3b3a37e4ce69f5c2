// G1: the public API over the curve template, endomorphism subgroup test, ZCash encoding.
#include "decompose.h"
#include "exponents.h"
#include "groups.h"
#include "msm.h"
#include "point_encoding.h"

namespace mupre::bls12_381 {
namespace detail {
namespace {

G1 phi(const G1& p, const Fp& beta) {
  return G1{p.x * beta, p.y, p.z};
}

// beta: the cube root of unity for which phi(P) = [-x^2] P on G1 (the other root gives the
// other eigenvalue), chosen once by testing the generator.
const Fp& g1_beta() {
  static const Fp kBeta = [] {
    const Fp b = fp_pow_public(fp_from_u64(2), kPMinus1Div3.v);
    const G1 g = kG1Generator;
    const G1 minus_x2_g = point_neg(g1_mul_by_x(g1_mul_by_x(g)));
    return point_equal(phi(g, b), minus_x2_g) ? b : fp_sqr(b);
  }();
  return kBeta;
}

const FixedBaseTable<G1>& g1_base_table() {
  static const FixedBaseTable<G1>* const kTable = [] {
    auto* t = new FixedBaseTable<G1>;
    fixed_base_init<G1Curve>(*t, kG1Generator);
    return t;
  }();
  return *kTable;
}

}  // namespace

G1 g1_mul_by_x(const G1& p) {
  return point_neg(point_mul_u64<G1Curve>(p, kX));
}

G1 g1_clear_cofactor(const G1& p) {
  // h_eff = 1 - x
  return point_add<G1Curve>(p, point_mul_u64<G1Curve>(p, kX));
}

}  // namespace detail

using namespace detail;

G1 g1_generator() {
  return kG1Generator;
}
G1 g1_identity() {
  return point_identity<G1Curve, G1>();
}
G1 g1_add(const G1& a, const G1& b) {
  return point_add<G1Curve>(a, b);
}
G1 g1_double(const G1& a) {
  return point_double<G1Curve>(a);
}
G1 g1_neg(const G1& a) {
  return point_neg(a);
}
bool g1_equal(const G1& a, const G1& b) {
  return point_equal(a, b) != 0;
}
bool g1_is_identity(const G1& a) {
  return point_is_identity(a) != 0;
}
bool g1_is_on_curve(const G1& a) {
  return point_on_curve<G1Curve>(a) != 0;
}

bool g1_in_subgroup(const G1& a) {
  if (!g1_is_on_curve(a)) return false;
  const G1 minus_x2 = point_neg(g1_mul_by_x(g1_mul_by_x(a)));
  return point_equal(phi(a, g1_beta()), minus_x2) != 0;
}

G1 g1_mul(const G1& p, const Scalar& k) {
  // GLV: k = k1 + k2 x^2 with k1, k2 < 2^128 (from the base-|x| digits), and x^2 P = -phi(P)
  // on G1; two-bit windows of both halves per step. REQUIRES p in G1.
  u64 d[4];
  digits_base_x(k.limb, d);
  const u128 k1 = static_cast<u128>(d[1]) * kX + d[0];
  const u128 k2 = static_cast<u128>(d[3]) * kX + d[2];
  const G1 base[2] = {p, point_neg(phi(p, g1_beta()))};
  const u64 digit[2][2] = {{static_cast<u64>(k1), static_cast<u64>(k1 >> 64)},
                           {static_cast<u64>(k2), static_cast<u64>(k2 >> 64)}};
  return joint_mul<G1, 2, 2>(base, digit, 128, PointOps<G1Curve, G1>{});
}
G1 g1_mul_vartime(const G1& p, const Scalar& k) {
  return point_mul_vartime<G1Curve>(p, k.limb);
}
G1 g1_mul_base(const Scalar& k) {
  return fixed_base_mul<G1Curve>(g1_base_table(), k.limb);
}
G1 g1_msm_vartime(std::span<const G1> points, std::span<const Scalar> scalars) {
  return point_msm_vartime<G1Curve>(points, scalars);
}

void g1_compress(const G1& p, std::uint8_t out[kG1CompressedSize]) {
  point_encode<G1Curve>(p, out, true);
}
void g1_serialize(const G1& p, std::uint8_t out[kG1UncompressedSize]) {
  point_encode<G1Curve>(p, out, false);
}

Status g1_decode(std::span<const std::uint8_t> in, G1& out) {
  G1 p;
  const Status s = point_decode<G1Curve>(in, p);
  if (s != Status::kOk) return s;
  if (!g1_in_subgroup(p)) return Status::kNotInSubgroup;
  out = p;
  return Status::kOk;
}

}  // namespace mupre::bls12_381
