// Pairing and GT: known answers from CIRCL, bilinearity, encodings.
#include <gtest/gtest.h>

#include <random>

#include "bls12_381/fp.h"
#include "mupre/bls12_381.h"
#include "test_util.h"

namespace mupre::bls12_381 {
namespace {

using test::from_hex;

Scalar random_scalar(std::mt19937_64& rng) {
  std::uint8_t b[48];
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return scalar_from_bytes_reduce(b);
}

std::vector<std::uint8_t> gt_bytes(const GT& a) {
  std::vector<std::uint8_t> out(kGtSize);
  gt_to_bytes(a, out.data());
  return out;
}

TEST(PairingVectors, MatchCirclOnEveryEntry) {
  const auto j = test::read_json(test::vectors_path("bls12381/pairing_circl.json"));
  ASSERT_FALSE(j["pairs"].empty());
  for (const auto& e : j["pairs"]) {
    G1 p;
    G2 q;
    ASSERT_EQ(g1_decode(from_hex(e["p"]), p), Status::kOk);
    ASSERT_EQ(g2_decode(from_hex(e["q"]), q), Status::kOk);
    Scalar k;
    ASSERT_EQ(scalar_from_bytes(from_hex(e["k"]), k), Status::kOk);
    EXPECT_EQ(gt_bytes(pairing(p, q)), from_hex(e["e"]));
    std::uint8_t kp[48], kq[96];
    g1_compress(g1_mul(p, k), kp);
    g2_compress(g2_mul(q, k), kq);
    EXPECT_EQ(std::vector<std::uint8_t>(kp, kp + 48), from_hex(e["kp"]));
    EXPECT_EQ(std::vector<std::uint8_t>(kq, kq + 96), from_hex(e["kq"]));
    GT expected;
    ASSERT_EQ(gt_from_bytes(from_hex(e["ek"]), expected), Status::kOk);
    EXPECT_TRUE(gt_equal(gt_pow(pairing(p, q), k), expected));
    EXPECT_TRUE(gt_equal(gt_pow_vartime(pairing(p, q), k), expected));
  }
}

TEST(PairingVectors, PortableArithmeticGivesTheSameAnswers) {
  // The first entry again with the portable multiplier (what CPUs without BMI2/ADX run).
  const auto j = test::read_json(test::vectors_path("bls12381/pairing_circl.json"));
  const auto& e = j["pairs"][1];
  const bool saved = detail::g_fp_use_mulx;
  detail::g_fp_use_mulx = false;
  G1 p;
  G2 q;
  ASSERT_EQ(g1_decode(from_hex(e["p"]), p), Status::kOk);
  ASSERT_EQ(g2_decode(from_hex(e["q"]), q), Status::kOk);
  const auto got = gt_bytes(pairing(p, q));
  detail::g_fp_use_mulx = saved;
  EXPECT_EQ(got, from_hex(e["e"]));
}

TEST(Pairing, IsBilinear) {
  std::mt19937_64 rng(1);
  const Scalar a = random_scalar(rng), b = random_scalar(rng);
  const GT base = pairing(g1_generator(), g2_generator());
  const GT lhs = pairing(g1_mul(g1_generator(), a), g2_mul(g2_generator(), b));
  EXPECT_TRUE(gt_equal(lhs, gt_pow(base, scalar_mul(a, b))));
  EXPECT_TRUE(gt_equal(pairing(g1_mul(g1_generator(), scalar_mul(a, b)), g2_generator()), lhs));
}

TEST(Pairing, IsNonDegenerateAndHasOrderR) {
  const GT z = gt_generator();
  EXPECT_FALSE(gt_is_identity(z));
  // z^r = 1: z^(r-1) * z.
  EXPECT_TRUE(gt_is_identity(gt_mul(gt_pow(z, scalar_neg(scalar_from_u64(1))), z)));
  EXPECT_TRUE(gt_is_identity(pairing(g1_identity(), g2_generator())));
  EXPECT_TRUE(gt_is_identity(pairing(g1_generator(), g2_identity())));
}

TEST(Pairing, MultiPairingIsProductOfPairings) {
  std::mt19937_64 rng(2);
  std::vector<G1> ps;
  std::vector<G2> qs;
  GT product = gt_identity();
  for (int i = 0; i < 3; ++i) {
    ps.push_back(g1_mul(g1_generator(), random_scalar(rng)));
    qs.push_back(g2_mul(g2_generator(), random_scalar(rng)));
    product = gt_mul(product, pairing(ps.back(), qs.back()));
  }
  EXPECT_TRUE(gt_equal(multi_pairing(ps, qs), product));
  // e(P, Q) * e(-P, Q) = 1
  const G1 p = ps[0];
  const G1 two[2] = {p, g1_neg(p)};
  const G2 same[2] = {qs[0], qs[0]};
  EXPECT_TRUE(gt_is_identity(multi_pairing(two, same)));
}

TEST(Gt, FixedBaseAndGenericExponentiationAgree) {
  std::mt19937_64 rng(3);
  for (int i = 0; i < 3; ++i) {
    const Scalar k = random_scalar(rng);
    EXPECT_TRUE(gt_equal(gt_pow_base(k), gt_pow(gt_generator(), k)));
  }
}

TEST(Gt, EncodingRoundTripsAndRejectsNonMembers) {
  std::mt19937_64 rng(4);
  const GT a = gt_pow(gt_generator(), random_scalar(rng));
  const auto bytes = gt_bytes(a);
  GT back;
  ASSERT_EQ(gt_from_bytes(bytes, back), Status::kOk);
  EXPECT_TRUE(gt_equal(a, back));
  auto bad = bytes;
  bad[575] ^= 1;
  EXPECT_EQ(gt_from_bytes(bad, back), Status::kNotInSubgroup);
  bad = bytes;
  bad[0] = 0xff;  // coefficient >= p
  EXPECT_EQ(gt_from_bytes(bad, back), Status::kNotCanonical);
  EXPECT_EQ(gt_from_bytes(std::span(bytes.data(), 575), back), Status::kBadLength);
}

TEST(Gt, TorusCompressionRoundTrips) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 4; ++i) {
    const GT a = gt_pow(gt_generator(), random_scalar(rng));
    std::uint8_t c[kGtCompressedSize];
    gt_compress(a, c);
    GT back;
    ASSERT_EQ(gt_decompress(c, back), Status::kOk);
    EXPECT_TRUE(gt_equal(a, back));
  }
  std::uint8_t c[kGtCompressedSize];
  gt_compress(gt_identity(), c);
  EXPECT_EQ(c[0], 0x80);
  GT back;
  ASSERT_EQ(gt_decompress(c, back), Status::kOk);
  EXPECT_TRUE(gt_is_identity(back));
}

TEST(Gt, TorusDecompressionRejectsNonMembers) {
  std::uint8_t c[kGtCompressedSize] = {};
  c[287] = 1;  // g = 1: a norm-one element, but not of order r
  GT out;
  EXPECT_EQ(gt_decompress(c, out), Status::kNotInSubgroup);
  std::uint8_t minus_one[kGtCompressedSize] = {0x40};
  EXPECT_EQ(gt_decompress(minus_one, out), Status::kNotInSubgroup);
  std::uint8_t bad_flag[kGtCompressedSize] = {0x20};
  EXPECT_EQ(gt_decompress(bad_flag, out), Status::kBadFlags);
  std::uint8_t garbage[kGtCompressedSize] = {0x80, 1};
  EXPECT_EQ(gt_decompress(garbage, out), Status::kBadFlags);
  std::uint8_t big[kGtCompressedSize];
  std::memset(big, 0x1f, sizeof(big));  // every coefficient >= p
  EXPECT_EQ(gt_decompress(big, out), Status::kNotCanonical);
}

}  // namespace
}  // namespace mupre::bls12_381
