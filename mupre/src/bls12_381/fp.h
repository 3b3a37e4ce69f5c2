// The base field Fp, p = 0x1a0111ea...aaab (381 bits), in Montgomery form.
#pragma once

#include <cstdint>

#include <type_traits>

#include "mupre/bls12_381.h"
#include "params.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(MUPRE_PORTABLE)
#define MUPRE_X86_ASM 1
#include "fp_mul_x86.h"
#endif

namespace mupre::bls12_381::detail {

constexpr Fp fp_zero() {
  return Fp{};
}
constexpr Fp fp_one() {
  Fp r;
  for (int i = 0; i < 6; ++i) r.limb[i] = kFpParams.one[i];
  return r;
}
constexpr Fp operator+(const Fp& a, const Fp& b) {
  Fp r;
  mod_add<6, kFpParams>(r.limb, a.limb, b.limb);
  return r;
}
constexpr Fp operator-(const Fp& a, const Fp& b) {
  Fp r;
  mod_sub<6, kFpParams>(r.limb, a.limb, b.limb);
  return r;
}
constexpr Fp operator-(const Fp& a) {
  Fp r;
  mod_neg<6, kFpParams>(r.limb, a.limb);
  return r;
}

// Set once at start-up when the CPU has BMI2 and ADX; zero-initialized, so any use before
// that (or on other CPUs) takes the portable path, which gives identical results.
extern bool g_fp_use_mulx;

constexpr Fp operator*(const Fp& a, const Fp& b) {
  Fp r;
#ifdef MUPRE_X86_ASM
  if (!std::is_constant_evaluated() && g_fp_use_mulx) {
    u64 t[6];
    mont_mul_6_mulx(t, a.limb, b.limb, kFpParams.modulus, kFpParams.inv);
    u64 d[6];
    const u64 borrow = sub_n(d, t, kFpParams.modulus);
    cmov(r.limb, d, t, borrow);
    return r;
  }
#endif
  mont_mul<6, kFpParams>(r.limb, a.limb, b.limb);
  return r;
}
constexpr Fp fp_sqr(const Fp& a) {
#ifdef MUPRE_X86_ASM
  if (!std::is_constant_evaluated() && g_fp_use_mulx) return a * a;
#endif
  Fp r;
  mont_sqr<6, kFpParams>(r.limb, a.limb);
  return r;
}
constexpr Fp fp_dbl(const Fp& a) {
  return a + a;
}
constexpr u64 fp_is_zero(const Fp& a) {
  return is_zero(a.limb);
}
constexpr u64 fp_equal(const Fp& a, const Fp& b) {
  return equal(a.limb, b.limb);
}
constexpr Fp fp_select(const Fp& a, const Fp& b, u64 bit) {  // bit ? b : a
  Fp r;
  cmov(r.limb, a.limb, b.limb, bit);
  return r;
}

// From a canonical integer (little-endian limbs, < p) into Montgomery form.
constexpr Fp fp_from_limbs(const u64 (&v)[6]) {
  Fp a, r;
  for (int i = 0; i < 6; ++i) a.limb[i] = v[i];
  Fp r2;
  for (int i = 0; i < 6; ++i) r2.limb[i] = kFpParams.r2[i];
  mont_mul<6, kFpParams>(r.limb, a.limb, r2.limb);
  return r;
}
constexpr Fp fp_from_u64(u64 v) {
  const u64 l[6] = {v, 0, 0, 0, 0, 0};
  return fp_from_limbs(l);
}
// Out of Montgomery form, into a canonical integer.
constexpr void fp_to_limbs(u64 (&out)[6], const Fp& a) {
  const u64 one[6] = {1, 0, 0, 0, 0, 0};
  mont_mul<6, kFpParams>(out, a.limb, one);
}

Fp fp_pow_public(const Fp& a, const u64 (&e)[6]);
Fp fp_inverse(const Fp& a);                     // Fermat; inverse of 0 is 0
u64 fp_sqrt(Fp& out, const Fp& a);              // 1 and out = a square root, or 0
u64 fp_is_square(const Fp& a);                  // 1 for squares, including 0
u64 fp_sgn0(const Fp& a);                       // parity of the canonical integer (RFC 9380)
u64 fp_lexicographically_largest(const Fp& a);  // canonical a > (p-1)/2 (ZCash sign)
// 48 bytes big-endian; returns 0 if the value is not < p.
u64 fp_from_bytes(Fp& out, const std::uint8_t in[48]);
void fp_to_bytes(std::uint8_t out[48], const Fp& a);

}  // namespace mupre::bls12_381::detail

namespace mupre::bls12_381::detail {

// A compile-time constant from a hexadecimal literal (no prefix), e.g. generator coordinates.
constexpr Fp fp_const(const char* hex) {
  u64 v[6] = {};
  for (const char* c = hex; *c != '\0'; ++c) {
    const char ch = *c;
    const u64 d = (ch >= '0' && ch <= '9')   ? static_cast<u64>(ch - '0')
                  : (ch >= 'a' && ch <= 'f') ? static_cast<u64>(ch - 'a' + 10)
                                             : static_cast<u64>(ch - 'A' + 10);
    for (int i = 5; i > 0; --i) v[i] = (v[i] << 4) | (v[i - 1] >> 60);
    v[0] = (v[0] << 4) | d;
  }
  return fp_from_limbs(v);
}

}  // namespace mupre::bls12_381::detail
