// G2: the public API over the curve template, the psi endomorphism, subgroup test, encoding.
#include "decompose.h"
#include "exponents.h"
#include "groups.h"
#include "msm.h"
#include "point_encoding.h"

namespace mupre::bls12_381 {
namespace detail {
namespace {

// psi(x, y) = (conj(x) * cx, conj(y) * cy), cx = 1 / xi^((p-1)/3), cy = 1 / xi^((p-1)/2).
struct PsiConstants {
  Fp2 cx, cy;
};

const PsiConstants& psi_constants() {
  static const PsiConstants kPsi = [] {
    const Fp2 xi{fp_one(), fp_one()};
    return PsiConstants{fp2_inverse(fp2_pow_public(xi, kPMinus1Div3.v)),
                        fp2_inverse(fp2_pow_public(xi, kPMinus1Div2.v))};
  }();
  return kPsi;
}

const FixedBaseTable<G2>& g2_base_table() {
  static const FixedBaseTable<G2>* const kTable = [] {
    auto* t = new FixedBaseTable<G2>;
    fixed_base_init<G2Curve>(*t, kG2Generator);
    return t;
  }();
  return *kTable;
}

}  // namespace

G2 g2_psi(const G2& p) {
  const PsiConstants& c = psi_constants();
  return G2{fp2_conj(p.x) * c.cx, fp2_conj(p.y) * c.cy, fp2_conj(p.z)};
}

G2 g2_mul_by_x(const G2& p) {
  return point_neg(point_mul_u64<G2Curve>(p, kX));
}

G2 g2_clear_cofactor(const G2& p) {
  // RFC 9380 appendix G.3 (Budroni and Pintore): h_eff P computed with psi.
  const G2 t1 = g2_mul_by_x(p);
  G2 t2 = g2_psi(p);
  G2 t3 = g2_psi(g2_psi(point_double<G2Curve>(p)));
  t3 = point_add<G2Curve>(t3, point_neg(t2));
  t2 = point_add<G2Curve>(t1, t2);
  t2 = g2_mul_by_x(t2);
  t3 = point_add<G2Curve>(t3, t2);
  t3 = point_add<G2Curve>(t3, point_neg(t1));
  return point_add<G2Curve>(t3, point_neg(p));
}

}  // namespace detail

using namespace detail;

G2 g2_generator() {
  return kG2Generator;
}
G2 g2_identity() {
  return point_identity<G2Curve, G2>();
}
G2 g2_add(const G2& a, const G2& b) {
  return point_add<G2Curve>(a, b);
}
G2 g2_double(const G2& a) {
  return point_double<G2Curve>(a);
}
G2 g2_neg(const G2& a) {
  return point_neg(a);
}
bool g2_equal(const G2& a, const G2& b) {
  return point_equal(a, b) != 0;
}
bool g2_is_identity(const G2& a) {
  return point_is_identity(a) != 0;
}
bool g2_is_on_curve(const G2& a) {
  return point_on_curve<G2Curve>(a) != 0;
}

bool g2_in_subgroup(const G2& a) {
  // Scott: on the curve, P is in G2 iff psi(P) = [x] P.
  if (!g2_is_on_curve(a)) return false;
  return point_equal(g2_psi(a), g2_mul_by_x(a)) != 0;
}

G2 g2_mul(const G2& p, const Scalar& k) {
  // k = d0 + d1 |x| + d2 |x|^2 + d3 |x|^3 and |x| P = -psi(P) on G2: four 64-bit digits
  // against P, -psi(P), psi^2(P), -psi^3(P), one bit of each per step. REQUIRES p in G2.
  u64 d[4];
  digits_base_x(k.limb, d);
  const G2 psi1 = g2_psi(p);
  const G2 psi2 = g2_psi(psi1);
  const G2 base[4] = {p, point_neg(psi1), psi2, point_neg(g2_psi(psi2))};
  const u64 digit[4][2] = {{d[0], 0}, {d[1], 0}, {d[2], 0}, {d[3], 0}};
  return joint_mul<G2, 4, 1>(base, digit, 64, PointOps<G2Curve, G2>{});
}
G2 g2_mul_vartime(const G2& p, const Scalar& k) {
  return point_mul_vartime<G2Curve>(p, k.limb);
}
G2 g2_mul_base(const Scalar& k) {
  return fixed_base_mul<G2Curve>(g2_base_table(), k.limb);
}
G2 g2_msm_vartime(std::span<const G2> points, std::span<const Scalar> scalars) {
  return point_msm_vartime<G2Curve>(points, scalars);
}

void g2_compress(const G2& p, std::uint8_t out[kG2CompressedSize]) {
  point_encode<G2Curve>(p, out, true);
}
void g2_serialize(const G2& p, std::uint8_t out[kG2UncompressedSize]) {
  point_encode<G2Curve>(p, out, false);
}

Status g2_decode(std::span<const std::uint8_t> in, G2& out) {
  G2 p;
  const Status s = point_decode<G2Curve>(in, p);
  if (s != Status::kOk) return s;
  if (!g2_in_subgroup(p)) return Status::kNotInSubgroup;
  out = p;
  return Status::kOk;
}

}  // namespace mupre::bls12_381
