// GT: exponentiation (constant time, variable time, fixed base), encodings and the torus
// compression.
#include "decompose.h"
#include "field_ops.h"
#include "fp12.h"
#include "groups.h"

namespace mupre::bls12_381 {
namespace detail {
namespace {

struct GtBaseTable {
  Fp12 entry[64][16];  // Z^(j * 16^i)
};

const GtBaseTable& gt_base_table() {
  static const GtBaseTable* const kTable = [] {
    auto* t = new GtBaseTable;
    Fp12 b = gt_generator().value;
    for (int i = 0; i < 64; ++i) {
      t->entry[i][0] = fp12_one();
      for (int j = 1; j < 16; ++j) t->entry[i][j] = t->entry[i][j - 1] * b;
      for (int d = 0; d < 4; ++d) b = cyclotomic_sqr(b);
    }
    return t;
  }();
  return *kTable;
}

// Fp6 and Fp12 byte layouts: higher coefficient first at every level.
void fp6_to_bytes(std::uint8_t* out, const Fp6& a) {
  fe_to_bytes(out, a.c2);
  fe_to_bytes(out + 96, a.c1);
  fe_to_bytes(out + 192, a.c0);
}
u64 fp6_from_bytes(Fp6& out, const std::uint8_t* in) {
  return fe_from_bytes(out.c2, in) & fe_from_bytes(out.c1, in + 96) &
         fe_from_bytes(out.c0, in + 192);
}

constexpr std::uint8_t kTorusIdentity = 0x80;
constexpr std::uint8_t kTorusMinusOne = 0x40;

}  // namespace
}  // namespace detail

using namespace detail;

GT gt_identity() {
  return GT{fp12_one()};
}

GT gt_generator() {
  static const GT kZ = pairing(g1_generator(), g2_generator());
  return kZ;
}

GT gt_mul(const GT& a, const GT& b) {
  return GT{a.value * b.value};
}
GT gt_inverse(const GT& a) {
  return GT{fp12_conj(a.value)};
}
GT gt_square(const GT& a) {
  return GT{cyclotomic_sqr(a.value)};
}
bool gt_equal(const GT& a, const GT& b) {
  return fp12_equal(a.value, b.value) != 0;
}
bool gt_is_identity(const GT& a) {
  return fp12_is_one(a.value) != 0;
}
GT gt_pow(const GT& a, const Scalar& k) {
  // In GT, f^p = f^x: with k in base |x|, f^k is a joint power of f, conj(f^p), f^(p^2) and
  // conj(f^(p^3)) by 64-bit digits (64 squarings instead of 256).
  u64 d[4];
  digits_base_x(k.limb, d);
  const Fp12 f1 = fp12_frobenius(a.value);
  const Fp12 f2 = fp12_frobenius(f1);
  const Fp12 base[4] = {a.value, fp12_conj(f1), f2, fp12_conj(fp12_frobenius(f2))};
  const u64 digit[4][2] = {{d[0], 0}, {d[1], 0}, {d[2], 0}, {d[3], 0}};
  struct Ops {
    Fp12 identity() const { return fp12_one(); }
    Fp12 add(const Fp12& x, const Fp12& y) const { return x * y; }
    Fp12 dbl(const Fp12& x) const { return cyclotomic_sqr(x); }
    Fp12 select(const Fp12& x, const Fp12& y, u64 bit) const { return fp12_select(x, y, bit); }
  };
  return GT{joint_mul<Fp12, 4, 1>(base, digit, 64, Ops{})};
}
GT gt_pow_vartime(const GT& a, const Scalar& k) {
  return GT{cyclotomic_pow_public(a.value, k.limb)};
}

GT gt_pow_base(const Scalar& k) {
  const GtBaseTable& t = gt_base_table();
  Fp12 acc = fp12_one();
  for (int i = 0; i < 64; ++i) {
    const u64 nibble = (k.limb[i / 16] >> (4 * (i % 16))) & 0xf;
    Fp12 sel = t.entry[i][0];
    for (u64 j = 1; j < 16; ++j) sel = fp12_select(sel, t.entry[i][j], is_zero_word(nibble ^ j));
    acc = acc * sel;
  }
  return GT{acc};
}

void gt_to_bytes(const GT& a, std::uint8_t out[kGtSize]) {
  fp6_to_bytes(out, a.value.c1);
  fp6_to_bytes(out + 288, a.value.c0);
}

Status gt_from_bytes(std::span<const std::uint8_t> in, GT& out) {
  if (in.size() != kGtSize) return Status::kBadLength;
  Fp12 f;
  if (!(fp6_from_bytes(f.c1, in.data()) & fp6_from_bytes(f.c0, in.data() + 288))) {
    return Status::kNotCanonical;
  }
  if (!cyclotomic_in_gt(f)) return Status::kNotInSubgroup;
  out = GT{f};
  return Status::kOk;
}

void gt_compress(const GT& a, std::uint8_t out[kGtCompressedSize]) {
  // Branch-free: when c1 = 0 (the identity, or -1) the torus coordinate computes as 0 (the
  // inverse of 0 is 0) and only the flag byte is set.
  const Fp12& f = a.value;
  const Fp6 g = (fp6_one() + f.c0) * fp6_inverse(f.c1);
  fp6_to_bytes(out, g);
  const u64 special = fp6_is_zero(f.c1);
  const u64 is_one = fp6_equal(f.c0, fp6_one());
  out[0] = static_cast<std::uint8_t>(out[0] | (special * (kTorusMinusOne + (is_one << 6))));
}

Status gt_decompress(std::span<const std::uint8_t> in, GT& out) {
  if (in.size() != kGtCompressedSize) return Status::kBadLength;
  const std::uint8_t flags = in[0] & 0xe0;
  if (flags != 0) {
    if (flags != kTorusIdentity && flags != kTorusMinusOne) return Status::kBadFlags;
    if ((in[0] & 0x1f) != 0) return Status::kBadFlags;
    for (std::size_t i = 1; i < in.size(); ++i) {
      if (in[i] != 0) return Status::kBadFlags;
    }
    if (flags == kTorusMinusOne) return Status::kNotInSubgroup;  // -1 has order 2
    out = gt_identity();
    return Status::kOk;
  }
  Fp6 g;
  if (!fp6_from_bytes(g, in.data())) return Status::kNotCanonical;
  // f = (g + w) / (g - w): c0 = (g^2 + v) / (g^2 - v), c1 = 2g / (g^2 - v).
  const Fp6 v{fp2_zero(), fp2_one(), fp2_zero()};
  const Fp6 g2 = fp6_sqr(g);
  const Fp6 d = fp6_inverse(g2 - v);
  const Fp12 f{(g2 + v) * d, (g + g) * d};
  if (!cyclotomic_in_gt(f)) return Status::kNotInSubgroup;
  out = GT{f};
  return Status::kOk;
}

}  // namespace mupre::bls12_381
