#include "fp.h"

#include "pow.h"

#ifdef MUPRE_X86_ASM
#include <cpuid.h>
#endif

namespace mupre::bls12_381::detail {

#ifdef MUPRE_X86_ASM
// CPUID leaf 7: EBX bit 8 is BMI2 (mulx), bit 19 is ADX (adcx/adox). Read directly because
// not every compiler's __builtin_cpu_supports knows "adx".
static bool detect_mulx() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) return false;
  return ((b >> 8) & 1) != 0 && ((b >> 19) & 1) != 0;
}
bool g_fp_use_mulx = detect_mulx();
#else
bool g_fp_use_mulx = false;
#endif

namespace {

// Exponents derived from p (all public constants).
struct FpExponents {
  u64 p_minus_2[6];
  u64 p_plus_1_div_4[6];
  u64 p_minus_1_div_2[6];
};

constexpr FpExponents make_exponents() {
  FpExponents e{};
  u64 borrow = 2;
  for (int i = 0; i < 6; ++i) {
    const u128 d = static_cast<u128>(kFpModulus[i]) - borrow;
    e.p_minus_2[i] = static_cast<u64>(d);
    borrow = static_cast<u64>(d >> 64) & 1;
  }
  // (p + 1) / 4: p + 1 has no carry out of the low limb chain beyond limb 0 here.
  u64 t[6] = {};
  u64 carry = 1;
  for (int i = 0; i < 6; ++i) {
    const u128 s = static_cast<u128>(kFpModulus[i]) + carry;
    t[i] = static_cast<u64>(s);
    carry = static_cast<u64>(s >> 64);
  }
  for (int i = 0; i < 6; ++i) {
    e.p_plus_1_div_4[i] = (t[i] >> 2) | (i < 5 ? t[i + 1] << 62 : 0);
  }
  // (p - 1) / 2
  for (int i = 0; i < 6; ++i) t[i] = kFpModulus[i];
  t[0] -= 1;  // p is odd: no borrow
  for (int i = 0; i < 6; ++i) {
    e.p_minus_1_div_2[i] = (t[i] >> 1) | (i < 5 ? t[i + 1] << 63 : 0);
  }
  return e;
}

constexpr FpExponents kExp = make_exponents();

}  // namespace

Fp fp_pow_public(const Fp& a, const u64 (&e)[6]) {
  const auto mul = [](const Fp& x, const Fp& y) { return x * y; };
  const auto sqr = [](const Fp& x) { return fp_sqr(x); };
  return pow_public(a, fp_one(), e, FieldArith<Fp, decltype(mul), decltype(sqr)>{mul, sqr});
}

Fp fp_inverse(const Fp& a) {
  return fp_pow_public(a, kExp.p_minus_2);
}

u64 fp_sqrt(Fp& out, const Fp& a) {
  // p = 3 mod 4: a^((p+1)/4) is a square root whenever one exists.
  const Fp s = fp_pow_public(a, kExp.p_plus_1_div_4);
  out = s;
  return fp_equal(fp_sqr(s), a);
}

u64 fp_is_square(const Fp& a) {
  const Fp l = fp_pow_public(a, kExp.p_minus_1_div_2);
  return fp_equal(l, fp_one()) | fp_is_zero(a);
}

u64 fp_sgn0(const Fp& a) {
  u64 v[6];
  fp_to_limbs(v, a);
  return v[0] & 1;
}

u64 fp_lexicographically_largest(const Fp& a) {
  u64 v[6];
  fp_to_limbs(v, a);
  // v > (p-1)/2  <=>  (p-1)/2 < v
  return less_than(kExp.p_minus_1_div_2, v);
}

u64 fp_from_bytes(Fp& out, const std::uint8_t in[48]) {
  u64 v[6];
  limbs_from_be(v, in);
  const u64 ok = less_than(v, kFpModulus);
  out = fp_from_limbs(v);
  return ok;
}

void fp_to_bytes(std::uint8_t out[48], const Fp& a) {
  u64 v[6];
  fp_to_limbs(v, a);
  limbs_to_be(out, v);
}

}  // namespace mupre::bls12_381::detail
