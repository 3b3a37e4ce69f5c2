// Known answers for mupre v1 from an independent implementation (vectors/mupre/mupre_v1.json):
// every value recomputed with the random choices injected through known_answer.h.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "mupre/known_answer.h"
#include "test_util.h"

namespace mupre {
namespace {

using namespace bls12_381;
using test::from_hex;

Scalar scalar_of(const std::string& hex) {
  Scalar s;
  EXPECT_EQ(scalar_from_bytes(from_hex(hex), s), Status::kOk);
  return s;
}
std::string hex_g1(const G1& p) {
  std::uint8_t b[kG1CompressedSize];
  g1_compress(p, b);
  return to_hex(b);
}
std::string hex_g2(const G2& p) {
  std::uint8_t b[kG2CompressedSize];
  g2_compress(p, b);
  return to_hex(b);
}
std::string hex_gt(const GT& x) {
  std::vector<std::uint8_t> b(kGtSize);
  gt_to_bytes(x, b.data());
  return to_hex(b);
}
std::string hex_key(const CapsuleKey& k) {
  return to_hex(k.bytes());
}
SecretKey secret_key(const std::string& hex) {
  std::vector<std::uint8_t> enc = {0x02, kSchemeMupreV1};
  const auto sk = from_hex(hex);
  enc.insert(enc.end(), sk.begin(), sk.end());
  auto k = SecretKey::decode(enc);
  EXPECT_TRUE(k.ok());
  return std::move(*k);
}

class SchemeVectors : public ::testing::Test {
 protected:
  void SetUp() override {
    doc_ = test::read_json(test::vectors_path("mupre/mupre_v1.json"));
    ASSERT_EQ(doc_["scheme"], "mupre v1");
    ASSERT_EQ(doc_["h2_dst"], "HOPBOX-MUPRE-V1-RK");
    ASSERT_EQ(doc_["kdf_info"], "hopbox v1 capsule key");
    ASSERT_GE(doc_["chains"].size(), 1u);
  }
  nlohmann::json doc_;
};

TEST_F(SchemeVectors, EveryChainMatchesAtEveryStep) {
  for (std::size_t ci = 0; ci < doc_["chains"].size(); ++ci) {
    SCOPED_TRACE("chain " + std::to_string(ci));
    const auto& chain = doc_["chains"][ci];
    std::vector<SecretKey> keys;
    for (const auto& k : chain["keys"]) {
      keys.push_back(secret_key(k["sk"]));
      const auto pk = keys.back().public_key().encode();
      EXPECT_EQ(to_hex(std::span(pk).subspan(2)), k["pk"]);
    }

    const auto& enc = chain["enc"];
    const SecretKey& to = keys.at(enc["to"].get<std::size_t>());
    auto e =
        known_answer::encapsulate_with(to.public_key(), scalar_of(enc["m"]), scalar_of(enc["r"]));
    EXPECT_EQ(hex_gt(e.m), enc["M"]);
    const auto b1 = known_answer::blocks(e.enc.capsule);
    ASSERT_EQ(b1.size(), 1u);
    EXPECT_EQ(hex_g1(b1[0].u1), enc["C1"]);
    EXPECT_EQ(hex_gt(b1[0].u2), enc["C2"]);
    EXPECT_EQ(hex_key(e.enc.key), enc["K"]);

    std::vector<ReKey> rks;
    for (const auto& rk : chain["rks"]) {
      const Scalar x = scalar_of(rk["x"]);
      const GT big_x = gt_pow_base(x);
      EXPECT_EQ(hex_gt(big_x), rk["X"]);
      EXPECT_EQ(hex_g2(known_answer::h2(big_x)), rk["H2_X"]);
      auto k = known_answer::make_rekey_with(keys.at(rk["from"].get<std::size_t>()),
                                             keys.at(rk["to"].get<std::size_t>()).public_key(), x,
                                             scalar_of(rk["s"]));
      ASSERT_TRUE(k.ok());
      const auto parts = known_answer::parts(*k);
      EXPECT_EQ(hex_g2(parts.r), rk["R"]);
      EXPECT_EQ(hex_g1(parts.d1), rk["D1"]);
      EXPECT_EQ(hex_gt(parts.d2), rk["D2"]);
      rks.push_back(std::move(*k));
    }

    Ciphertext c = e.enc.capsule;
    for (std::size_t li = 0; li < chain["levels"].size(); ++li) {
      SCOPED_TRACE("level index " + std::to_string(li));
      const auto& level = chain["levels"][li];
      if (li > 0) {
        auto next = reencrypt(rks.at(li - 1), c);
        ASSERT_TRUE(next.ok()) << error_message(next.error());
        c = *next;
      }
      ASSERT_EQ(c.level(), level["level"].get<unsigned>());
      const auto blocks = known_answer::blocks(c);
      ASSERT_EQ(blocks.size(), level["blocks"].size());
      for (std::size_t j = 0; j < blocks.size(); ++j) {
        EXPECT_EQ(hex_g1(blocks[j].u1), level["blocks"][j]["U1"]) << "block " << j;
        EXPECT_EQ(hex_gt(blocks[j].u2), level["blocks"][j]["U2"]) << "block " << j;
      }
      const SecretKey& holder = keys.at(level["blocks"].back()["holder"].get<std::size_t>());
      EXPECT_EQ(c.holder(), holder.public_key().fingerprint());
      auto k = decapsulate(holder, c);
      ASSERT_TRUE(k.ok());
      EXPECT_EQ(hex_key(*k), level["K"]);
      // And through the binary format.
      auto decoded = Ciphertext::decode(c.encode());
      ASSERT_TRUE(decoded.ok());
      auto k2 = decapsulate(holder, *decoded);
      ASSERT_TRUE(k2.ok());
      EXPECT_EQ(hex_key(*k2), level["K"]);
    }
  }
}

}  // namespace
}  // namespace mupre
