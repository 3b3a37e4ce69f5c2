// G1 and G2: the 1000-point serialization files, scalar multiplication, subgroup tests and
// rejection of invalid encodings.
#include <gtest/gtest.h>

#include <random>

#include "mupre/bls12_381.h"
#include "test_util.h"

namespace mupre::bls12_381 {
namespace {

using test::read_file;
using test::vectors_path;

Scalar random_scalar(std::mt19937_64& rng) {
  std::uint8_t b[48];
  for (auto& x : b) x = static_cast<std::uint8_t>(rng());
  return scalar_from_bytes_reduce(b);
}

// The vector files hold i * G for i = 0..999, fixed-size records. Each record must decode to
// exactly i * G (by repeated addition and by scalar multiplication), and i * G must encode to
// the record: a decoder that accepted a record as some other point would otherwise pass.
template <class P, class Decode, class Encode, class Add, class Equal, class Mul>
void check_multiples(const std::string& file, std::size_t size, P gen, P identity, Decode decode,
                     Encode encode, Add add, Equal equal, Mul mul) {
  const std::vector<std::uint8_t> data = read_file(vectors_path("bls12381/" + file));
  ASSERT_EQ(data.size(), 1000 * size);
  P acc = identity;
  std::vector<std::uint8_t> out(size);
  for (std::size_t i = 0; i < 1000; ++i) {
    const std::span<const std::uint8_t> rec(data.data() + i * size, size);
    P decoded;
    ASSERT_EQ(decode(rec, decoded), Status::kOk) << file << " record " << i;
    ASSERT_TRUE(equal(decoded, acc)) << file << " record " << i << " is not " << i << "·G";
    ASSERT_TRUE(equal(decoded, mul(gen, scalar_from_u64(i)))) << file << " record " << i;
    encode(acc, out.data());
    ASSERT_TRUE(std::equal(out.begin(), out.end(), rec.begin())) << file << " record " << i;
    acc = add(acc, gen);
  }
}

TEST(G1Vectors, EveryRecordDecodesToItsMultipleAndBack) {
  check_multiples<G1>("g1_compressed_valid_test_vectors.dat", 48, g1_generator(), g1_identity(),
                      g1_decode, g1_compress, g1_add, g1_equal, g1_mul);
  check_multiples<G1>("g1_uncompressed_valid_test_vectors.dat", 96, g1_generator(), g1_identity(),
                      g1_decode, g1_serialize, g1_add, g1_equal, g1_mul);
}

TEST(G2Vectors, EveryRecordDecodesToItsMultipleAndBack) {
  check_multiples<G2>("g2_compressed_valid_test_vectors.dat", 96, g2_generator(), g2_identity(),
                      g2_decode, g2_compress, g2_add, g2_equal, g2_mul);
  check_multiples<G2>("g2_uncompressed_valid_test_vectors.dat", 192, g2_generator(), g2_identity(),
                      g2_decode, g2_serialize, g2_add, g2_equal, g2_mul);
}

TEST(G1Vectors, DecodedPointsEqualRepeatedAddition) {
  const auto data = read_file(vectors_path("bls12381/g1_compressed_valid_test_vectors.dat"));
  G1 acc = g1_identity();
  for (std::size_t i = 0; i < 50; ++i) {
    G1 p;
    ASSERT_EQ(g1_decode(std::span(data.data() + i * 48, 48), p), Status::kOk);
    EXPECT_TRUE(g1_equal(p, acc));
    EXPECT_TRUE(g1_equal(g1_mul(g1_generator(), scalar_from_u64(i)), acc));
    acc = g1_add(acc, g1_generator());
  }
}

TEST(G1, ScalarMultiplicationPathsAgree) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 8; ++i) {
    const Scalar k = random_scalar(rng);
    const G1 p = g1_mul(g1_generator(), random_scalar(rng));
    const G1 ct = g1_mul(p, k);
    EXPECT_TRUE(g1_equal(ct, g1_mul_vartime(p, k)));
    EXPECT_TRUE(g1_equal(g1_mul_base(k), g1_mul(g1_generator(), k)));
    // Double-and-add reference.
    G1 ref = g1_identity();
    for (int limb = 3; limb >= 0; --limb) {
      for (int bit = 63; bit >= 0; --bit) {
        ref = g1_double(ref);
        if ((k.limb[limb] >> bit) & 1) ref = g1_add(ref, p);
      }
    }
    EXPECT_TRUE(g1_equal(ct, ref));
  }
}

TEST(G2, ScalarMultiplicationPathsAgree) {
  std::mt19937_64 rng(8);
  for (int i = 0; i < 4; ++i) {
    const Scalar k = random_scalar(rng);
    const G2 p = g2_mul(g2_generator(), random_scalar(rng));
    const G2 ct = g2_mul(p, k);
    EXPECT_TRUE(g2_equal(ct, g2_mul_vartime(p, k)));
    EXPECT_TRUE(g2_equal(g2_mul_base(k), g2_mul(g2_generator(), k)));
    G2 ref = g2_identity();
    for (int limb = 3; limb >= 0; --limb) {
      for (int bit = 63; bit >= 0; --bit) {
        ref = g2_double(ref);
        if ((k.limb[limb] >> bit) & 1) ref = g2_add(ref, p);
      }
    }
    EXPECT_TRUE(g2_equal(ct, ref));
  }
}

TEST(Groups, OrderTimesGeneratorIsIdentity) {
  // r - 1 times g, plus g, is the identity; and (r-1) g = -g.
  const Scalar minus_one = scalar_neg(scalar_from_u64(1));
  EXPECT_TRUE(g1_equal(g1_mul(g1_generator(), minus_one), g1_neg(g1_generator())));
  EXPECT_TRUE(g2_equal(g2_mul(g2_generator(), minus_one), g2_neg(g2_generator())));
  EXPECT_TRUE(g1_is_identity(g1_add(g1_mul(g1_generator(), minus_one), g1_generator())));
  EXPECT_TRUE(g2_is_identity(g2_add(g2_mul(g2_generator(), minus_one), g2_generator())));
}

TEST(Groups, AdditionIsCompleteOnSpecialInputs) {
  const G1 g = g1_generator();
  EXPECT_TRUE(g1_equal(g1_add(g, g), g1_double(g)));
  EXPECT_TRUE(g1_is_identity(g1_add(g, g1_neg(g))));
  EXPECT_TRUE(g1_equal(g1_add(g1_identity(), g), g));
  EXPECT_TRUE(g1_is_identity(g1_double(g1_identity())));
  const G2 h = g2_generator();
  EXPECT_TRUE(g2_equal(g2_add(h, h), g2_double(h)));
  EXPECT_TRUE(g2_is_identity(g2_add(h, g2_neg(h))));
}

TEST(Groups, MultiScalarMultiplicationIsSumOfProducts) {
  std::mt19937_64 rng(9);
  std::vector<G1> p1;
  std::vector<G2> p2;
  std::vector<Scalar> k;
  G1 e1 = g1_identity();
  G2 e2 = g2_identity();
  for (int i = 0; i < 5; ++i) {
    p1.push_back(g1_mul(g1_generator(), random_scalar(rng)));
    p2.push_back(g2_mul(g2_generator(), random_scalar(rng)));
    k.push_back(random_scalar(rng));
    e1 = g1_add(e1, g1_mul(p1.back(), k.back()));
    e2 = g2_add(e2, g2_mul(p2.back(), k.back()));
  }
  EXPECT_TRUE(g1_equal(g1_msm_vartime(p1, k), e1));
  EXPECT_TRUE(g2_equal(g2_msm_vartime(p2, k), e2));
}

// A point on E1 outside G1: x = 0 gives y^2 = 4, y = 2; the subgroup test must reject it.
TEST(G1Decode, RejectsPointOutsideSubgroup) {
  std::uint8_t enc[96] = {};
  enc[95] = 2;  // (0, 2) uncompressed
  G1 p;
  EXPECT_EQ(g1_decode(enc, p), Status::kNotInSubgroup);
  std::uint8_t comp[48] = {};
  comp[0] = 0x80;  // x = 0, compressed
  EXPECT_EQ(g1_decode(comp, p), Status::kNotInSubgroup);
}

TEST(G1Decode, RejectsMalformedEncodings) {
  std::uint8_t enc[48];
  g1_compress(g1_generator(), enc);
  G1 p;
  ASSERT_EQ(g1_decode(enc, p), Status::kOk);
  // Wrong lengths.
  EXPECT_EQ(g1_decode(std::span(enc, 47), p), Status::kBadLength);
  EXPECT_EQ(g1_decode(std::span<const std::uint8_t>(), p), Status::kBadLength);
  // Compression bit cleared on a 48-byte input.
  std::uint8_t bad[48];
  std::memcpy(bad, enc, 48);
  bad[0] &= 0x7f;
  EXPECT_EQ(g1_decode(bad, p), Status::kBadFlags);
  // Infinity with trailing garbage, infinity with sign bit.
  std::uint8_t inf[48] = {0xc0};
  EXPECT_EQ(g1_decode(inf, p), Status::kOk);
  EXPECT_TRUE(g1_is_identity(p));
  inf[47] = 1;
  EXPECT_EQ(g1_decode(inf, p), Status::kBadFlags);
  std::uint8_t inf_sign[48] = {0xe0};
  EXPECT_EQ(g1_decode(inf_sign, p), Status::kBadFlags);
  // x = p (non-canonical).
  std::uint8_t big[48] = {0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6,
                          0x43, 0x4b, 0xac, 0xd7, 0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf,
                          0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24, 0x1e, 0xab, 0xff, 0xfe,
                          0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab};
  big[0] |= 0x80;
  EXPECT_EQ(g1_decode(big, p), Status::kNotCanonical);
  // x with no point: x = 1 gives y^2 = 5, a non-square mod p.
  std::uint8_t nox[48] = {0x80};
  nox[47] = 1;
  EXPECT_EQ(g1_decode(nox, p), Status::kNotOnCurve);
  // Uncompressed point whose y does not fit the curve.
  std::uint8_t un[96];
  g1_serialize(g1_generator(), un);
  un[95] ^= 1;
  EXPECT_EQ(g1_decode(un, p), Status::kNotOnCurve);
}

TEST(G2Decode, RejectsMalformedAndOutsideSubgroup) {
  std::uint8_t enc[96];
  g2_compress(g2_generator(), enc);
  G2 p;
  ASSERT_EQ(g2_decode(enc, p), Status::kOk);
  EXPECT_TRUE(g2_equal(p, g2_generator()));
  std::uint8_t bad[96];
  std::memcpy(bad, enc, 96);
  bad[0] |= 0x40;  // infinity flag on a non-zero body
  EXPECT_EQ(g2_decode(bad, p), Status::kBadFlags);
  std::uint8_t un[192];
  g2_serialize(g2_generator(), un);
  un[191] ^= 1;
  EXPECT_EQ(g2_decode(un, p), Status::kNotOnCurve);
  // Search a small x on E2 (not in G2 with overwhelming probability): x = (i, 0).
  int found = 0;
  for (std::uint8_t i = 1; i < 40 && found < 3; ++i) {
    std::uint8_t c[96] = {0x80};
    c[95] = i;
    const Status s = g2_decode(c, p);
    if (s == Status::kNotOnCurve) continue;
    EXPECT_EQ(s, Status::kNotInSubgroup) << "x = " << int(i);
    ++found;
  }
  EXPECT_GT(found, 0);
}

TEST(Scalars, EncodingAndFieldLaws) {
  std::mt19937_64 rng(10);
  const Scalar a = random_scalar(rng), b = random_scalar(rng);
  std::uint8_t buf[32];
  scalar_to_bytes(a, buf);
  Scalar back;
  ASSERT_EQ(scalar_from_bytes(buf, back), Status::kOk);
  EXPECT_TRUE(scalar_equal(a, back));
  EXPECT_TRUE(scalar_equal(scalar_mul(a, scalar_inverse(a)), scalar_from_u64(1)));
  EXPECT_TRUE(scalar_equal(scalar_sub(scalar_add(a, b), b), a));
  EXPECT_TRUE(scalar_is_zero(scalar_add(a, scalar_neg(a))));
  // r itself is refused.
  const auto r = test::from_hex("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001");
  EXPECT_EQ(scalar_from_bytes(r, back), Status::kNotCanonical);
  EXPECT_TRUE(scalar_is_zero(scalar_from_bytes_reduce(r)));
  EXPECT_FALSE(scalar_is_zero(scalar_random_nonzero()));
}

}  // namespace
}  // namespace mupre::bls12_381
