// Uniform names over Fp and Fp2 so that curve code is written once for G1 and G2.
#pragma once

#include "fp2.h"

namespace mupre::bls12_381::detail {

constexpr Fp fe_sqr(const Fp& a) {
  return fp_sqr(a);
}
constexpr Fp2 fe_sqr(const Fp2& a) {
  return fp2_sqr(a);
}
constexpr u64 fe_is_zero(const Fp& a) {
  return fp_is_zero(a);
}
constexpr u64 fe_is_zero(const Fp2& a) {
  return fp2_is_zero(a);
}
constexpr u64 fe_equal(const Fp& a, const Fp& b) {
  return fp_equal(a, b);
}
constexpr u64 fe_equal(const Fp2& a, const Fp2& b) {
  return fp2_equal(a, b);
}
constexpr Fp fe_select(const Fp& a, const Fp& b, u64 bit) {
  return fp_select(a, b, bit);
}
constexpr Fp2 fe_select(const Fp2& a, const Fp2& b, u64 bit) {
  return fp2_select(a, b, bit);
}
inline Fp fe_inverse(const Fp& a) {
  return fp_inverse(a);
}
inline Fp2 fe_inverse(const Fp2& a) {
  return fp2_inverse(a);
}
inline u64 fe_sgn0(const Fp& a) {
  return fp_sgn0(a);
}
inline u64 fe_sgn0(const Fp2& a) {
  return fp2_sgn0(a);
}

template <class F>
F fe_one();
template <>
constexpr Fp fe_one<Fp>() {
  return fp_one();
}
template <>
constexpr Fp2 fe_one<Fp2>() {
  return fp2_one();
}

}  // namespace mupre::bls12_381::detail

namespace mupre::bls12_381::detail {

// Byte encodings, big-endian; Fp2 writes c1 then c0 (ZCash and vectors/README order).
template <class F>
inline constexpr std::size_t kFieldBytes = 48;
template <>
inline constexpr std::size_t kFieldBytes<Fp2> = 96;

inline void fe_to_bytes(std::uint8_t* out, const Fp& a) {
  fp_to_bytes(out, a);
}
inline void fe_to_bytes(std::uint8_t* out, const Fp2& a) {
  fp_to_bytes(out, a.c1);
  fp_to_bytes(out + 48, a.c0);
}
inline u64 fe_from_bytes(Fp& out, const std::uint8_t* in) {
  return fp_from_bytes(out, in);
}
inline u64 fe_from_bytes(Fp2& out, const std::uint8_t* in) {
  return fp_from_bytes(out.c1, in) & fp_from_bytes(out.c0, in + 48);
}
inline u64 fe_sqrt(Fp& out, const Fp& a) {
  return fp_sqrt(out, a);
}
inline u64 fe_sqrt(Fp2& out, const Fp2& a) {
  return fp2_sqrt(out, a);
}
inline u64 fe_lexicographically_largest(const Fp& a) {
  return fp_lexicographically_largest(a);
}
inline u64 fe_lexicographically_largest(const Fp2& a) {
  return fp2_lexicographically_largest(a);
}

}  // namespace mupre::bls12_381::detail
