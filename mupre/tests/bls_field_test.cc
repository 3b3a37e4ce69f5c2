// Field tower: algebraic identities checked on pseudo-random elements.
#include <gtest/gtest.h>

#include <random>

#include "bls12_381/exponents.h"
#include "bls12_381/fp12.h"
#include "bls12_381/fr.h"
#include "bls12_381/groups.h"

namespace mupre::bls12_381::detail {
namespace {

class FieldTest : public ::testing::Test {
 protected:
  std::mt19937_64 rng{12345};
  Fp random_fp() {
    u64 v[6];
    for (auto& w : v) w = rng();
    v[5] &= 0x0fffffffffffffff;  // below p
    return fp_from_limbs(v);
  }
  Fp2 random_fp2() { return {random_fp(), random_fp()}; }
  Fp6 random_fp6() { return {random_fp2(), random_fp2(), random_fp2()}; }
  Fp12 random_fp12() { return {random_fp6(), random_fp6()}; }
  // An element of the cyclotomic subgroup: the easy part of the final exponentiation.
  Fp12 random_cyclotomic() {
    const Fp12 f = random_fp12();
    const Fp12 g = fp12_conj(f) * fp12_inverse(f);
    return fp12_frobenius(fp12_frobenius(g)) * g;
  }
};

TEST_F(FieldTest, MontgomeryRoundTripKeepsIntegers) {
  const u64 v[6] = {1, 2, 3, 4, 5, 6};
  u64 back[6];
  fp_to_limbs(back, fp_from_limbs(v));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(back[i], v[i]);
}

TEST_F(FieldTest, SmallIntegerArithmeticIsExact) {
  EXPECT_TRUE(fp_equal(fp_from_u64(6) * fp_from_u64(7), fp_from_u64(42)));
  EXPECT_TRUE(fp_equal(fp_from_u64(6) - fp_from_u64(7) + fp_one(), fp_zero()));
  EXPECT_TRUE(fp_equal(fp_sqr(fp_from_u64(1u << 31)), fp_from_u64(1ull << 62)));
}

TEST_F(FieldTest, SquaringMatchesMultiplication) {
  for (int i = 0; i < 200; ++i) {
    const Fp a = random_fp();
    ASSERT_TRUE(fp_equal(fp_sqr(a), a * a));
  }
}

TEST_F(FieldTest, AssemblyAndPortableMultiplicationAgree) {
  // On CPUs with BMI2 and ADX the generated mulx code is used; elsewhere the portable code.
  // Both must give identical results, including at the edges of the range.
  if (!g_fp_use_mulx) {
    GTEST_SKIP() << "no mulx path here (the CPU lacks BMI2/ADX, or the build left it out): "
                    "only the portable multiplier runs, so there is nothing to compare";
  }
  const bool saved = g_fp_use_mulx;
  const Fp edge[] = {fp_zero(), fp_one(), -fp_one(), -fp_from_u64(2), fp_from_u64(2)};
  for (int i = 0; i < 300; ++i) {
    const Fp a = i < 5 ? edge[i] : random_fp();
    const Fp b = i < 5 ? -fp_one() : random_fp();
    g_fp_use_mulx = false;
    const Fp portable = a * b;
    const Fp portable_sqr = fp_sqr(a);
    g_fp_use_mulx = saved;
    ASSERT_TRUE(fp_equal(a * b, portable)) << i;
    ASSERT_TRUE(fp_equal(fp_sqr(a), portable_sqr)) << i;
  }
  g_fp_use_mulx = saved;
}

TEST_F(FieldTest, MinusOneSquaredIsOne) {
  const Fp m = -fp_one();
  EXPECT_TRUE(fp_equal(m * m, fp_one()));
  EXPECT_TRUE(fp_equal(-fp_zero(), fp_zero()));
}

TEST_F(FieldTest, InverseTimesValueIsOne) {
  for (int i = 0; i < 20; ++i) {
    const Fp a = random_fp();
    EXPECT_TRUE(fp_equal(a * fp_inverse(a), fp_one()));
    const Fp2 b = random_fp2();
    EXPECT_TRUE(fp2_equal(b * fp2_inverse(b), fp2_one()));
  }
  EXPECT_TRUE(fp_is_zero(fp_inverse(fp_zero())));
}

TEST_F(FieldTest, SquareRootsExistExactlyForSquares) {
  for (int i = 0; i < 20; ++i) {
    const Fp a = random_fp();
    Fp s;
    ASSERT_TRUE(fp_sqrt(s, fp_sqr(a)));
    EXPECT_TRUE(fp_equal(fp_sqr(s), fp_sqr(a)));
    // -1 is not a square mod p (p = 3 mod 4), so -a^2 is not one unless a = 0.
    EXPECT_FALSE(fp_sqrt(s, -fp_sqr(a)));
    EXPECT_FALSE(fp_is_square(-fp_sqr(a)));
    EXPECT_TRUE(fp_is_square(fp_sqr(a)));
    const Fp2 b = random_fp2();
    Fp2 t;
    ASSERT_TRUE(fp2_sqrt(t, fp2_sqr(b)));
    EXPECT_TRUE(fp2_equal(fp2_sqr(t), fp2_sqr(b)));
  }
  // Fp2 elements with zero imaginary part, square and non-square in Fp.
  Fp2 t;
  ASSERT_TRUE(fp2_sqrt(t, Fp2{-fp_from_u64(4), fp_zero()}));
  EXPECT_TRUE(fp2_equal(fp2_sqr(t), Fp2{-fp_from_u64(4), fp_zero()}));
  ASSERT_TRUE(fp2_sqrt(t, Fp2{fp_from_u64(9), fp_zero()}));
  EXPECT_TRUE(fp2_equal(fp2_sqr(t), Fp2{fp_from_u64(9), fp_zero()}));
}

TEST_F(FieldTest, Fp2NonSquareHasNoRoot) {
  // xi = 1 + u is a non-square in Fp2 (it is used to build Fp6 as a cubic non-residue, and
  // its norm 2 is a non-square mod p).
  Fp2 t;
  EXPECT_FALSE(fp2_sqrt(t, Fp2{fp_one(), fp_one()}));
}

TEST_F(FieldTest, Fp6AndFp12InversesAndSquares) {
  for (int i = 0; i < 10; ++i) {
    const Fp6 a = random_fp6();
    EXPECT_TRUE(fp6_equal(a * fp6_inverse(a), fp6_one()));
    EXPECT_TRUE(fp6_equal(fp6_sqr(a), a * a));
    const Fp12 b = random_fp12();
    EXPECT_TRUE(fp12_is_one(b * fp12_inverse(b)));
    EXPECT_TRUE(fp12_equal(fp12_sqr(b), b * b));
  }
}

TEST_F(FieldTest, SparseProductsMatchFullProducts) {
  for (int i = 0; i < 10; ++i) {
    const Fp6 a = random_fp6();
    const Fp2 b0 = random_fp2(), b1 = random_fp2();
    EXPECT_TRUE(fp6_equal(fp6_mul_01(a, b0, b1), a * Fp6{b0, b1, fp2_zero()}));
    EXPECT_TRUE(fp6_equal(fp6_mul_1(a, b1), a * Fp6{fp2_zero(), b1, fp2_zero()}));
    const Fp12 f = random_fp12();
    const Fp2 l0 = random_fp2(), l1 = random_fp2(), l4 = random_fp2();
    const Fp12 line{{l0, l1, fp2_zero()}, {fp2_zero(), l4, fp2_zero()}};
    EXPECT_TRUE(fp12_equal(fp12_mul_line(f, l0, l1, l4), f * line));
  }
}

TEST_F(FieldTest, FrobeniusIsPowerP) {
  const Fp12 a = random_fp12();
  Fp12 expected = fp12_one();
  // a^p by square-and-multiply over the bits of p.
  for (int i = 5; i >= 0; --i) {
    for (int bit = 63; bit >= 0; --bit) {
      expected = fp12_sqr(expected);
      if ((kFpModulus[i] >> bit) & 1) expected = expected * a;
    }
  }
  EXPECT_TRUE(fp12_equal(fp12_frobenius(a), expected));
}

TEST_F(FieldTest, CyclotomicSquareMatchesSquareInSubgroup) {
  for (int i = 0; i < 5; ++i) {
    const Fp12 c = random_cyclotomic();
    EXPECT_TRUE(fp12_is_one(c * fp12_conj(c)));  // norm 1: inverse is conjugate
    EXPECT_TRUE(fp12_equal(cyclotomic_sqr(c), fp12_sqr(c)));
  }
}

TEST_F(FieldTest, RandomCyclotomicElementIsNotInGt) {
  // The cyclotomic subgroup has order p^4 - p^2 + 1 = r * (large cofactor).
  EXPECT_FALSE(cyclotomic_in_gt(random_cyclotomic()));
  EXPECT_FALSE(cyclotomic_in_gt(random_fp12()));
}

TEST_F(FieldTest, ExponentConstantsAreConsistent) {
  // 4 * ((p - 3) / 4) + 3 = p
  u64 t[6];
  u64 carry = 0;
  for (int i = 0; i < 6; ++i) {
    const u128 s = (static_cast<u128>(kPMinus3Div4.v[i]) << 2) + carry;
    t[i] = static_cast<u64>(s);
    carry = static_cast<u64>(s >> 64);
  }
  t[0] += 3;
  for (int i = 0; i < 6; ++i) EXPECT_EQ(t[i], kFpModulus[i]);
}

}  // namespace
}  // namespace mupre::bls12_381::detail
