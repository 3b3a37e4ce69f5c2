// mupre v1 proxy re-encryption: round trips along chains, direction and holder checks,
// tampering, and the bounds of the encodings.
#include <gtest/gtest.h>

#include <vector>

#include "mupre/pre.h"

namespace mupre {
namespace {

std::vector<SecretKey> make_keys(std::size_t n) {
  std::vector<SecretKey> keys;
  for (std::size_t i = 0; i < n; ++i) keys.push_back(SecretKey::generate());
  return keys;
}

bool same_key(const CapsuleKey& a, const CapsuleKey& b) {
  return std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin());
}

TEST(Scheme, EveryHolderAlongAChainOfLevelsOneToEightRecoversTheKey) {
  const auto keys = make_keys(8);
  const Encapsulation e = encapsulate(keys[0].public_key());
  Ciphertext cur = e.capsule;
  for (unsigned level = 1; level <= 8; ++level) {
    ASSERT_EQ(cur.level(), level);
    EXPECT_EQ(cur.holder(), keys[level - 1].public_key().fingerprint());
    auto k = decapsulate(keys[level - 1], cur);
    ASSERT_TRUE(k.ok()) << error_message(k.error());
    EXPECT_TRUE(same_key(*k, e.key)) << "level " << level;
    // Through the wire format too.
    auto decoded = Ciphertext::decode(cur.encode());
    ASSERT_TRUE(decoded.ok());
    auto k2 = decapsulate(keys[level - 1], *decoded);
    ASSERT_TRUE(k2.ok());
    EXPECT_TRUE(same_key(*k2, e.key));
    if (level == 8) break;
    auto rk = make_rekey(keys[level - 1], keys[level].public_key());
    ASSERT_TRUE(rk.ok());
    auto rk_decoded = ReKey::decode(rk->encode());
    ASSERT_TRUE(rk_decoded.ok());
    auto next = reencrypt(*rk_decoded, cur);
    ASSERT_TRUE(next.ok());
    cur = *next;
  }
}

TEST(Scheme, ChainsThatRevisitAKeyStillDecrypt) {
  // A -> B -> A -> B: the same key pair appears at several levels.
  const auto keys = make_keys(2);
  const Encapsulation e = encapsulate(keys[0].public_key());
  auto ab = make_rekey(keys[0], keys[1].public_key());
  auto ba = make_rekey(keys[1], keys[0].public_key());
  ASSERT_TRUE(ab.ok() && ba.ok());
  Ciphertext c = e.capsule;
  for (int i = 0; i < 3; ++i) {
    auto next = reencrypt(i % 2 == 0 ? *ab : *ba, c);
    ASSERT_TRUE(next.ok());
    c = *next;
  }
  auto k = decapsulate(keys[1], c);
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(same_key(*k, e.key));
}

TEST(Scheme, FreshCapsulesForTheSameKeyDiffer) {
  const auto keys = make_keys(1);
  const Encapsulation a = encapsulate(keys[0].public_key());
  const Encapsulation b = encapsulate(keys[0].public_key());
  EXPECT_FALSE(same_key(a.key, b.key));
  EXPECT_NE(a.capsule.encode(), b.capsule.encode());
}

TEST(Scheme, ReKeyFromAToBDoesNotApplyToCiphertextOfC) {
  const auto keys = make_keys(3);  // A, B, C
  auto ab = make_rekey(keys[0], keys[1].public_key());
  ASSERT_TRUE(ab.ok());
  const Encapsulation for_c = encapsulate(keys[2].public_key());
  auto r = reencrypt(*ab, for_c.capsule);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kWrongHolder);
}

TEST(Scheme, ReKeyFromAToBDoesNotWorkFromBToA) {
  const auto keys = make_keys(2);
  auto ab = make_rekey(keys[0], keys[1].public_key());
  ASSERT_TRUE(ab.ok());
  const Encapsulation for_b = encapsulate(keys[1].public_key());
  auto r = reencrypt(*ab, for_b.capsule);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kWrongHolder);
}

TEST(Scheme, ReKeyWithForgedSourceFingerprintYieldsWrongKey) {
  // The holder check is bookkeeping; the algebra must also fail. Relabel rk_{C->B} as coming
  // from A and apply it to A's ciphertext: B must not obtain A's key.
  const auto keys = make_keys(3);
  auto cb = make_rekey(keys[2], keys[1].public_key());
  ASSERT_TRUE(cb.ok());
  auto bytes = cb->encode();
  const auto& fa = keys[0].public_key().fingerprint();
  std::copy(fa.begin(), fa.end(), bytes.begin() + 2);
  auto forged = ReKey::decode(bytes);
  ASSERT_TRUE(forged.ok());
  const Encapsulation for_a = encapsulate(keys[0].public_key());
  auto c2 = reencrypt(*forged, for_a.capsule);
  ASSERT_TRUE(c2.ok());
  auto k = decapsulate(keys[1], *c2);
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(same_key(*k, for_a.key));
}

TEST(Scheme, DecapsulateRejectsAKeyThatIsNotTheHolder) {
  const auto keys = make_keys(2);
  const Encapsulation e = encapsulate(keys[0].public_key());
  auto k = decapsulate(keys[1], e.capsule);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.error(), Error::kWrongHolder);
}

TEST(Scheme, ReencryptRefusesToGoPastTheMaximumLevel) {
  const auto keys = make_keys(2);
  auto ab = make_rekey(keys[0], keys[1].public_key());
  auto ba = make_rekey(keys[1], keys[0].public_key());
  ASSERT_TRUE(ab.ok() && ba.ok());
  Ciphertext c = encapsulate(keys[0].public_key()).capsule;
  while (c.level() < kMaxLevel) {
    auto next = reencrypt(c.level() % 2 == 1 ? *ab : *ba, c);
    ASSERT_TRUE(next.ok());
    c = *next;
  }
  EXPECT_EQ(c.encode().size(), ciphertext_size(kMaxLevel));
  auto past = reencrypt(c.level() % 2 == 1 ? *ab : *ba, c);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error(), Error::kLevelOutOfRange);
  // And a level byte beyond the maximum is refused by the decoder.
  auto bytes = c.encode();
  bytes[2] = kMaxLevel + 1;
  EXPECT_EQ(Ciphertext::decode(bytes).error(), Error::kLevelOutOfRange);
}

TEST(Scheme, SizesFollowTheFormats) {
  const auto keys = make_keys(2);
  const Encapsulation e = encapsulate(keys[0].public_key());
  EXPECT_EQ(e.capsule.encode().size(), ciphertext_size(1));
  EXPECT_EQ(ciphertext_size(1), 3u + 32 + 48 + 288);
  EXPECT_EQ(ciphertext_size(3) - ciphertext_size(2), 336u);  // the paper's growth per hop
  auto rk = make_rekey(keys[0], keys[1].public_key());
  ASSERT_TRUE(rk.ok());
  EXPECT_EQ(rk->encode().size(), kReKeySize);
  EXPECT_EQ(keys[0].public_key().encode().size(), kPublicKeySize);
}

// Flipping any bit of a capsule either makes it undecodable or makes decapsulation yield a
// different key: never the original key from altered bytes, never a crash.
TEST(Scheme, TamperedCapsuleNeverYieldsTheOriginalKey) {
  const auto keys = make_keys(2);
  const Encapsulation e = encapsulate(keys[0].public_key());
  auto rk = make_rekey(keys[0], keys[1].public_key());
  ASSERT_TRUE(rk.ok());
  auto c2 = reencrypt(*rk, e.capsule);
  ASSERT_TRUE(c2.ok());
  const auto bytes = c2->encode();
  int undecodable = 0, wrong_key = 0, wrong_holder = 0;
  // Every byte, one bit each (stepping the bit position so all eight get exercised).
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto t = bytes;
    t[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
    auto c = Ciphertext::decode(t);
    if (!c.ok()) {
      ++undecodable;
      continue;
    }
    auto k = decapsulate(keys[1], *c);
    if (!k.ok()) {
      EXPECT_EQ(k.error(), Error::kWrongHolder);
      ++wrong_holder;
      continue;
    }
    EXPECT_FALSE(same_key(*k, e.key)) << "byte " << i;
    ++wrong_key;
  }
  EXPECT_EQ(undecodable + wrong_key + wrong_holder, static_cast<int>(bytes.size()));
  EXPECT_GT(undecodable, 0);
}

TEST(Scheme, TamperedReKeyIsRejectedOrYieldsAWrongKey) {
  const auto keys = make_keys(2);
  const Encapsulation e = encapsulate(keys[0].public_key());
  auto rk = make_rekey(keys[0], keys[1].public_key());
  ASSERT_TRUE(rk.ok());
  const auto bytes = rk->encode();
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto t = bytes;
    t[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
    auto k2 = ReKey::decode(t);
    if (!k2.ok()) continue;
    auto c = reencrypt(*k2, e.capsule);
    if (!c.ok()) {
      EXPECT_EQ(c.error(), Error::kWrongHolder);
      continue;
    }
    auto k = decapsulate(keys[1], *c);
    if (!k.ok()) continue;
    EXPECT_FALSE(same_key(*k, e.key)) << "byte " << i;
  }
}

TEST(Scheme, DecodersRejectTruncatedExtendedAndMislabelledInput) {
  const auto keys = make_keys(2);
  const auto c = encapsulate(keys[0].public_key()).capsule.encode();
  auto rk = make_rekey(keys[0], keys[1].public_key());
  ASSERT_TRUE(rk.ok());
  const auto r = rk->encode();
  const auto pk = keys[0].public_key().encode();
  for (std::size_t n = 0; n < c.size(); ++n) {
    EXPECT_FALSE(Ciphertext::decode(std::span(c).first(n)).ok()) << n;
  }
  for (std::size_t n = 0; n < r.size(); ++n) {
    EXPECT_FALSE(ReKey::decode(std::span(r).first(n)).ok()) << n;
  }
  for (std::size_t n = 0; n < pk.size(); ++n) {
    EXPECT_FALSE(PublicKey::decode(std::span(pk).first(n)).ok()) << n;
  }
  auto longer = c;
  longer.push_back(0);
  EXPECT_EQ(Ciphertext::decode(longer).error(), Error::kMalformed);
  // A re-encryption key handed to the ciphertext decoder, and an unknown scheme id.
  EXPECT_EQ(Ciphertext::decode(r).error(), Error::kUnknownFormat);
  auto other_scheme = c;
  other_scheme[1] = 0x02;
  EXPECT_EQ(Ciphertext::decode(other_scheme).error(), Error::kUnknownScheme);
  // The identity is not a public key.
  std::array<std::uint8_t, kPublicKeySize> identity{};
  identity[0] = pk[0];
  identity[1] = pk[1];
  identity[2] = 0xc0;
  EXPECT_EQ(PublicKey::decode(identity).error(), Error::kBadElement);
}

TEST(Keys, SecretKeyEncodingRoundTripsAndGivesThePublicKey) {
  const SecretKey k = SecretKey::generate();
  std::array<std::uint8_t, kSecretKeySize> buf;
  k.encode(buf);
  auto back = SecretKey::decode(buf);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->public_key(), k.public_key());
  auto pk = PublicKey::decode(k.public_key().encode());
  ASSERT_TRUE(pk.ok());
  EXPECT_EQ(*pk, k.public_key());
  // Zero and the group order are not secret keys.
  std::array<std::uint8_t, kSecretKeySize> zero{};
  zero[0] = buf[0];
  zero[1] = buf[1];
  EXPECT_FALSE(SecretKey::decode(zero).ok());
}

// A SecretKeySource that keeps its key elsewhere and can be switched off, like a token.
class SwitchableSource : public SecretKeySource {
 public:
  explicit SwitchableSource(const SecretKey& k) : key_(k) {}
  const PublicKey& public_key() const override { return key_.public_key(); }
  Error load_secret(std::span<std::uint8_t, bls12_381::kScalarSize> out) const override {
    ++calls;
    if (!available) return Error::kKeyUnavailable;
    return key_.load_secret(out);
  }
  bool available = true;
  mutable int calls = 0;

 private:
  const SecretKey& key_;
};

TEST(Keys, OperationsAskTheSourceOncePerUseAndFailCleanlyWhenItRefuses) {
  const auto keys = make_keys(2);
  SwitchableSource src(keys[0]);
  const Encapsulation e = encapsulate(keys[0].public_key());
  auto k = decapsulate(src, e.capsule);
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(same_key(*k, e.key));
  auto rk = make_rekey(src, keys[1].public_key());
  ASSERT_TRUE(rk.ok());
  EXPECT_EQ(src.calls, 2);
  src.available = false;
  EXPECT_EQ(decapsulate(src, e.capsule).error(), Error::kKeyUnavailable);
  EXPECT_EQ(make_rekey(src, keys[1].public_key()).error(), Error::kKeyUnavailable);
}

}  // namespace
}  // namespace mupre
