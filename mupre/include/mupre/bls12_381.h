// BLS12-381: the pairing-friendly curve under mupre.
//
// Plain value types and verbs, in the manner of blst. The field and point types are opaque
// storage (Montgomery form, projective coordinates): use only the functions below on them.
//
// Constant time: functions that take a secret Scalar (g1_mul, g2_mul, g1_mul_base,
// g2_mul_base, gt_pow, gt_pow_base, the scalar_* arithmetic) run without branches or memory
// indices that depend on it. Functions that may branch on their inputs end in _vartime and
// are for public values only. Decoders never abort: they return a Status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace mupre::bls12_381 {

inline constexpr std::size_t kScalarSize = 32;
inline constexpr std::size_t kG1CompressedSize = 48;
inline constexpr std::size_t kG1UncompressedSize = 96;
inline constexpr std::size_t kG2CompressedSize = 96;
inline constexpr std::size_t kG2UncompressedSize = 192;
inline constexpr std::size_t kGtSize = 576;            // full Fp12 encoding
inline constexpr std::size_t kGtCompressedSize = 288;  // torus (T2) encoding

struct Fp {
  std::uint64_t limb[6];
};
struct Fp2 {
  Fp c0, c1;
};
struct Fp6 {
  Fp2 c0, c1, c2;
};
struct Fp12 {
  Fp6 c0, c1;
};

// An integer in [0, r), r the prime order of G1, G2 and GT. Little-endian limbs.
struct Scalar {
  std::uint64_t limb[4];
};

// Points in homogeneous projective coordinates (x = X/Z, y = Y/Z; Z = 0 is the identity).
struct G1 {
  Fp x, y, z;
};
struct G2 {
  Fp2 x, y, z;
};
// An element of GT, the order-r subgroup of Fp12*.
struct GT {
  Fp12 value;
};
// The output of a Miller loop, before the final exponentiation.
struct MillerValue {
  Fp12 value;
};

enum class Status : int {
  kOk = 0,
  kBadLength,      // the input has the wrong size
  kBadFlags,       // the ZCash flag bits or the torus flag byte are inconsistent
  kNotCanonical,   // a field element or scalar is not reduced
  kNotOnCurve,     // no point with these coordinates (or no square root exists)
  kNotInSubgroup,  // the point or GT element is not in the order-r subgroup
};
const char* status_message(Status s);

// ---- Scalars (the field of order r) ----
Scalar scalar_zero();
Scalar scalar_from_u64(std::uint64_t v);
// 32 bytes big-endian; refuses values >= r.
Status scalar_from_bytes(std::span<const std::uint8_t> in, Scalar& out);
// Any number of bytes big-endian, reduced mod r (use 48+ random bytes for a uniform scalar).
Scalar scalar_from_bytes_reduce(std::span<const std::uint8_t> in);
void scalar_to_bytes(const Scalar& s, std::uint8_t out[kScalarSize]);
// Uniform in [1, r-1], from the operating system's generator.
Scalar scalar_random_nonzero();
Scalar scalar_add(const Scalar& a, const Scalar& b);
Scalar scalar_sub(const Scalar& a, const Scalar& b);
Scalar scalar_mul(const Scalar& a, const Scalar& b);
Scalar scalar_neg(const Scalar& a);
// Inverse mod r; the inverse of 0 is 0.
Scalar scalar_inverse(const Scalar& a);
bool scalar_equal(const Scalar& a, const Scalar& b);
bool scalar_is_zero(const Scalar& a);

// ---- G1: y^2 = x^3 + 4 over Fp ----
G1 g1_generator();
G1 g1_identity();
G1 g1_add(const G1& a, const G1& b);
G1 g1_double(const G1& a);
G1 g1_neg(const G1& a);
bool g1_equal(const G1& a, const G1& b);
bool g1_is_identity(const G1& a);
bool g1_is_on_curve(const G1& a);
bool g1_in_subgroup(const G1& a);
G1 g1_mul(const G1& p, const Scalar& k);          // constant time in k
G1 g1_mul_vartime(const G1& p, const Scalar& k);  // public k only
G1 g1_mul_base(const Scalar& k);                  // k * generator, constant time, precomputed
G1 g1_msm_vartime(std::span<const G1> points, std::span<const Scalar> scalars);
void g1_compress(const G1& p, std::uint8_t out[kG1CompressedSize]);
void g1_serialize(const G1& p, std::uint8_t out[kG1UncompressedSize]);
// Accepts both encodings (by length); checks flags, canonical coordinates, curve, subgroup.
Status g1_decode(std::span<const std::uint8_t> in, G1& out);

// ---- G2: y^2 = x^3 + 4(1 + u) over Fp2 ----
G2 g2_generator();
G2 g2_identity();
G2 g2_add(const G2& a, const G2& b);
G2 g2_double(const G2& a);
G2 g2_neg(const G2& a);
bool g2_equal(const G2& a, const G2& b);
bool g2_is_identity(const G2& a);
bool g2_is_on_curve(const G2& a);
bool g2_in_subgroup(const G2& a);
G2 g2_mul(const G2& p, const Scalar& k);
G2 g2_mul_vartime(const G2& p, const Scalar& k);
G2 g2_mul_base(const Scalar& k);
G2 g2_msm_vartime(std::span<const G2> points, std::span<const Scalar> scalars);
void g2_compress(const G2& p, std::uint8_t out[kG2CompressedSize]);
void g2_serialize(const G2& p, std::uint8_t out[kG2UncompressedSize]);
Status g2_decode(std::span<const std::uint8_t> in, G2& out);

// ---- Hashing to the curves (RFC 9380, expand_message_xmd with SHA-256, SSWU) ----
G1 hash_to_g1(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst);
G1 encode_to_g1(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst);
G2 hash_to_g2(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst);
G2 encode_to_g2(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst);

// ---- Pairing: optimal ate, e(a*P, b*Q) = e(P, Q)^(a*b) ----
// The final exponentiation raises to 3 * (p^12 - 1) / r, as CIRCL and other libraries using
// the same fast hard part do; e(g1, g2) is therefore the cube of the textbook value.
GT pairing(const G1& p, const G2& q);
// prod_i e(p[i], q[i]) with one final exponentiation. Sizes must match (else identity).
GT multi_pairing(std::span<const G1> p, std::span<const G2> q);
MillerValue miller_loop(std::span<const G1> p, std::span<const G2> q);
GT final_exponentiation(const MillerValue& f);

// ---- GT ----
GT gt_identity();
GT gt_generator();  // Z = e(g1, g2)
GT gt_mul(const GT& a, const GT& b);
GT gt_inverse(const GT& a);
GT gt_square(const GT& a);
bool gt_equal(const GT& a, const GT& b);
bool gt_is_identity(const GT& a);
GT gt_pow(const GT& a, const Scalar& k);          // constant time in k
GT gt_pow_vartime(const GT& a, const Scalar& k);  // public k only
GT gt_pow_base(const Scalar& k);                  // Z^k, constant time, precomputed
void gt_to_bytes(const GT& a, std::uint8_t out[kGtSize]);
Status gt_from_bytes(std::span<const std::uint8_t> in, GT& out);  // checks membership in GT
void gt_compress(const GT& a, std::uint8_t out[kGtCompressedSize]);
Status gt_decompress(std::span<const std::uint8_t> in, GT& out);  // checks membership in GT

}  // namespace mupre::bls12_381
