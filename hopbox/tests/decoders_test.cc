// The pure decoders taken out of the client for fuzzing: the pairing code and R3's shares.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "hopbox/threshold.h"
#include "mupre/pre.h"
#include "mupre/shamir.h"
#include "pairing_code.h"
#include "recovery_shares.h"

namespace hopbox {
namespace {

using Bytes = std::vector<std::uint8_t>;

TEST(PairingCode, DecodesWhatItEncodesAndNothingMalformed) {
  const Bytes spki(91, 0x30);
  const auto pk = mupre::SecretKey::generate().public_key().encode();
  const std::string code = pairing::encode(spki, pk);
  ASSERT_EQ(code.rfind("HBP1-", 0), 0u);
  const auto keys = pairing::decode(code);
  ASSERT_TRUE(keys);
  EXPECT_EQ(keys->spki, spki);
  EXPECT_EQ(keys->public_key, Bytes(pk.begin(), pk.end()));

  EXPECT_FALSE(pairing::has_prefix(code.substr(1)));
  EXPECT_FALSE(pairing::decode(code.substr(1)));
  EXPECT_FALSE(pairing::decode(code.substr(0, code.size() - 2)));  // one byte short
  EXPECT_FALSE(pairing::decode(code + "00"));                      // one byte long
  EXPECT_FALSE(pairing::decode(code.substr(0, code.size() - 1) + "g"));
  EXPECT_FALSE(pairing::decode("HBP1-"));
  EXPECT_TRUE(pairing::has_prefix("HBP1-"));
}

class R3Shares : public ::testing::Test {
 protected:
  // alice's set-up with two protectors: carol's shares sealed for carol's recovery key.
  void SetUp() override {
    Bytes plain(2 * mupre::kShareSize);
    auto sharing = mupre::split(mupre::bls12_381::scalar_random_nonzero(), 2, 2);
    ASSERT_TRUE(sharing);
    sharing->shares[0].encode(std::span(plain).first<mupre::kShareSize>());
    sharing->shares[1].encode(
        std::span(plain).subspan(mupre::kShareSize).first<mupre::kShareSize>());
    plain_ = plain;
    const auto e = mupre::encapsulate(carol_.public_key());
    const auto c = e.capsule.encode();
    capsule_.assign(c.begin(), c.end());
    sealed_ = threshold::seal(e.key.bytes(), threshold::associated_data("shares", "alice", "carol"),
                              plain);
  }
  mupre::SecretKey carol_ = mupre::SecretKey::generate();
  Bytes plain_, capsule_, sealed_;
};

TEST_F(R3Shares, OpenForTheirProtectorOnly) {
  const auto opened = r3::open_shares(carol_, "alice", "carol", capsule_, sealed_, 2);
  ASSERT_TRUE(std::holds_alternative<Bytes>(opened));
  EXPECT_EQ(std::get<Bytes>(opened), plain_);

  // Why the shares do not open; nullopt when they do.
  const auto refusal = [&](const mupre::SecretKeySource& key, const std::string& user,
                           const std::string& protector, const Bytes& capsule,
                           std::size_t count) -> std::optional<r3::SharesFailure> {
    const auto r = r3::open_shares(key, user, protector, capsule, sealed_, count);
    if (const auto* f = std::get_if<r3::SharesFailure>(&r)) return *f;
    return std::nullopt;
  };
  EXPECT_EQ(refusal(carol_, "alice", "dave", capsule_, 2), r3::SharesFailure::kDoNotOpen);
  EXPECT_EQ(refusal(carol_, "mallory", "carol", capsule_, 2), r3::SharesFailure::kDoNotOpen);
  EXPECT_EQ(refusal(carol_, "alice", "carol", capsule_, 3), r3::SharesFailure::kDoNotOpen);
  EXPECT_EQ(refusal(mupre::SecretKey::generate(), "alice", "carol", capsule_, 2),
            r3::SharesFailure::kNotForThisKey);
  EXPECT_EQ(refusal(carol_, "alice", "carol", Bytes(capsule_.begin(), capsule_.end() - 1), 2),
            r3::SharesFailure::kDamaged);
}

}  // namespace
}  // namespace hopbox
