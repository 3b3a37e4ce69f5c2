// Shamir t-of-n with Feldman commitments.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "mupre/shamir.h"

namespace mupre {
namespace {

using namespace bls12_381;

// Every subset of {0..n-1} of the given size, as index lists.
std::vector<std::vector<unsigned>> subsets(unsigned n, unsigned size) {
  std::vector<std::vector<unsigned>> out;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<unsigned>(__builtin_popcount(mask)) != size) continue;
    std::vector<unsigned> s;
    for (unsigned i = 0; i < n; ++i) {
      if (mask & (1u << i)) s.push_back(i);
    }
    out.push_back(s);
  }
  return out;
}

std::vector<Share> pick(const Sharing& sh, const std::vector<unsigned>& idx) {
  std::vector<Share> out;
  for (unsigned i : idx) out.push_back(sh.shares[i]);
  return out;
}

TEST(Shamir, AnyThresholdSubsetReconstructsAndSmallerOnesDoNot) {
  const Scalar secret = scalar_random_nonzero();
  auto sh = split(secret, 3, 5);
  ASSERT_TRUE(sh.ok());
  ASSERT_EQ(sh->shares.size(), 5u);
  for (const auto& idx : subsets(5, 3)) {
    auto s = combine(pick(*sh, idx), sh->commitments);
    ASSERT_TRUE(s.ok());
    EXPECT_TRUE(scalar_equal(*s, secret));
  }
  for (const auto& idx : subsets(5, 2)) {
    EXPECT_EQ(combine(pick(*sh, idx), sh->commitments).error(), Error::kNotEnoughShares);
    auto guess = interpolate(pick(*sh, idx));  // unchecked: a value, but not the secret
    ASSERT_TRUE(guess.ok());
    EXPECT_FALSE(scalar_equal(*guess, secret));
  }
  // More than t shares, and repeated shares, still give the secret.
  auto all = combine(sh->shares, sh->commitments);
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(scalar_equal(*all, secret));
  auto repeated = combine(pick(*sh, {0, 0, 1, 1, 4}), sh->commitments);
  ASSERT_TRUE(repeated.ok());
  EXPECT_TRUE(scalar_equal(*repeated, secret));
  EXPECT_EQ(combine(pick(*sh, {2, 2, 2}), sh->commitments).error(), Error::kNotEnoughShares);
}

TEST(Shamir, ACorruptedShareIsNamed) {
  const Scalar secret = scalar_random_nonzero();
  auto sh = split(secret, 2, 4);
  ASSERT_TRUE(sh.ok());
  std::vector<Share> shares = sh->shares;
  shares[2] = Share(shares[2].index(), scalar_add(shares[2].value(), scalar_from_u64(1)));
  EXPECT_FALSE(verify_share(shares[2], sh->commitments));
  EXPECT_TRUE(verify_share(shares[1], sh->commitments));
  std::uint8_t bad = 0;
  EXPECT_EQ(combine(shares, sh->commitments, &bad).error(), Error::kBadShare);
  EXPECT_EQ(bad, 3);  // share index 3 is at position 2
  // A genuine share presented under another index is wrong too.
  EXPECT_FALSE(verify_share(Share(4, sh->shares[0].value()), sh->commitments));
}

TEST(Shamir, SharesFromAnotherSharingFailVerification) {
  auto a = split(scalar_random_nonzero(), 2, 3);
  auto b = split(scalar_random_nonzero(), 2, 3);
  ASSERT_TRUE(a.ok() && b.ok());
  for (const Share& s : b->shares) EXPECT_FALSE(verify_share(s, a->commitments));
}

TEST(Shamir, ParametersOutOfRangeAreRefused) {
  const Scalar s = scalar_random_nonzero();
  EXPECT_EQ(split(s, 0, 3).error(), Error::kInvalidArgument);
  EXPECT_EQ(split(s, 4, 3).error(), Error::kInvalidArgument);
  EXPECT_EQ(split(s, 2, kMaxShares + 1).error(), Error::kInvalidArgument);
  auto one = split(s, 1, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_TRUE(scalar_equal(one->shares[0].value(), s));  // t = 1: every share is the secret
  auto big = split(s, 5, kMaxShares);
  ASSERT_TRUE(big.ok());
  auto back = combine(pick(*big, {0, 50, 100, 200, 254}), big->commitments);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(scalar_equal(*back, s));
}

TEST(Shamir, EncodingsRoundTripAndRejectBadInput) {
  auto sh = split(scalar_random_nonzero(), 3, 4);
  ASSERT_TRUE(sh.ok());
  std::array<std::uint8_t, kShareSize> buf;
  sh->shares[1].encode(buf);
  auto back = Share::decode(buf);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->index(), 2);
  EXPECT_TRUE(scalar_equal(back->value(), sh->shares[1].value()));
  auto zero_index = buf;
  zero_index[2] = 0;
  EXPECT_EQ(Share::decode(zero_index).error(), Error::kMalformed);
  auto big_value = buf;
  std::fill(big_value.begin() + 3, big_value.end(), 0xff);
  EXPECT_EQ(Share::decode(big_value).error(), Error::kMalformed);
  EXPECT_FALSE(Share::decode(std::span(buf).first(kShareSize - 1)).ok());

  const auto c = sh->commitments.encode();
  EXPECT_EQ(c.size(), 3u + 3 * kG1CompressedSize);
  auto cb = Commitments::decode(c);
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->threshold(), 3u);
  for (const Share& s : sh->shares) EXPECT_TRUE(verify_share(s, *cb));
  for (std::size_t n = 0; n < c.size(); ++n) {
    EXPECT_FALSE(Commitments::decode(std::span(c).first(n)).ok()) << n;
  }
  auto bad_point = c;
  bad_point[3 + 5] ^= 0x01;
  EXPECT_FALSE(Commitments::decode(bad_point).ok());
}

TEST(Shamir, KeyFromScalarDependsOnScalarAndInfo) {
  const Scalar s = scalar_random_nonzero();
  const std::uint8_t a[] = {'a'}, b[] = {'b'};
  EXPECT_EQ(key_from_scalar(s, a), key_from_scalar(s, a));
  EXPECT_NE(key_from_scalar(s, a), key_from_scalar(s, b));
  EXPECT_NE(key_from_scalar(s, a), key_from_scalar(scalar_add(s, scalar_from_u64(1)), a));
}

}  // namespace
}  // namespace mupre
