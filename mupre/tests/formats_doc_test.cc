// docs/formats.md is the contract for independent implementations: every example in it must
// decode with our code and stand in the relations the text states.
#include <gtest/gtest.h>

#include <sodium.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "hopbox/testing/doc_examples.h"
#include "mupre/item.h"
#include "mupre/shamir.h"
#include "test_util.h"

namespace mupre {
namespace {

using Bytes = std::vector<std::uint8_t>;

std::map<std::string, Bytes> examples() {
  return hopbox::testing::hex_examples(std::string(HOPBOX_DOCS_DIR) + "/formats.md");
}

class FormatsDoc : public ::testing::Test {
 protected:
  void SetUp() override { ex_ = examples(); }
  const Bytes& at(const std::string& name) {
    EXPECT_TRUE(ex_.count(name)) << "example " << name << " missing";
    return ex_[name];
  }
  std::map<std::string, Bytes> ex_;
  const ItemBinding binding_{"item-0001", "alice"};
};

TEST_F(FormatsDoc, KeyExamplesAgree) {
  for (const char* who : {"A", "B"}) {
    auto sk = SecretKey::decode(at(std::string("secret_key_") + who));
    ASSERT_TRUE(sk.ok()) << who;
    const auto pk = sk->public_key().encode();
    EXPECT_EQ(Bytes(pk.begin(), pk.end()), at(std::string("public_key_") + who));
    Bytes fp(32);
    crypto_hash_sha256(fp.data(), pk.data(), pk.size());
    EXPECT_EQ(fp, at(std::string("fingerprint_") + who));
    EXPECT_EQ(Bytes(sk->public_key().fingerprint().begin(), sk->public_key().fingerprint().end()),
              fp);
  }
}

TEST_F(FormatsDoc, CapsuleReKeyAndLevelTwoExamplesAgree) {
  auto a = SecretKey::decode(at("secret_key_A"));
  auto b = SecretKey::decode(at("secret_key_B"));
  ASSERT_TRUE(a.ok() && b.ok());
  auto c1 = Ciphertext::decode(at("capsule_level_1"));
  ASSERT_TRUE(c1.ok());
  auto k = decapsulate(*a, *c1);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(Bytes(k->bytes().begin(), k->bytes().end()), at("K"));
  auto rk = ReKey::decode(at("rekey_A_to_B"));
  ASSERT_TRUE(rk.ok());
  auto c2 = reencrypt(*rk, *c1);
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(c2->encode(), at("ciphertext_level_2"));
  auto k2 = decapsulate(*b, *c2);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(Bytes(k2->bytes().begin(), k2->bytes().end()), at("K"));
}

TEST_F(FormatsDoc, ItemExamplesOpenUnderTheStatedKeys) {
  auto a = SecretKey::decode(at("secret_key_A"));
  ASSERT_TRUE(a.ok());
  auto c1 = Ciphertext::decode(at("capsule_level_1"));
  ASSERT_TRUE(c1.ok());
  auto k = decapsulate(*a, *c1);
  ASSERT_TRUE(k.ok());
  auto dk = unwrap_data_key(*k, at("wrapped_key"), binding_);
  ASSERT_TRUE(dk.ok());
  EXPECT_EQ(Bytes(dk->bytes().begin(), dk->bytes().end()), at("DK"));
  auto meta = open_metadata(*dk, binding_, at("metadata"));
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(std::string(meta->begin(), meta->end()), R"({"name":"a.txt"})");
  const Bytes& payload = at("payload_chunk_8");
  std::istringstream in(std::string(payload.begin(), payload.end()));
  std::ostringstream out;
  ASSERT_EQ(open_payload(*dk, binding_, in, out), Error::kOk);
  EXPECT_EQ(out.str(), "hello, hopbox");
}

TEST_F(FormatsDoc, ShareExamplesVerifyAndCombineToSeven) {
  auto s1 = Share::decode(at("share_1"));
  auto s3 = Share::decode(at("share_3"));
  auto com = Commitments::decode(at("commitments"));
  ASSERT_TRUE(s1.ok() && s3.ok() && com.ok());
  EXPECT_EQ(com->threshold(), 2u);
  const std::vector<Share> shares = {*s1, *s3};
  auto secret = combine(shares, *com);
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(bls12_381::scalar_equal(*secret, bls12_381::scalar_from_u64(7)));
}

}  // namespace
}  // namespace mupre
