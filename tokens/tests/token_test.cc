// Device keys in a real PKCS#11 token (SoftHSM2, initialized by softhsm2-util in a temporary
// folder): they work, they persist, and they cannot be read or wrapped out.
#include "token.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
// p11-kit spells the PKCS#11 types in lower case when CRYPTOKI_GNU is defined.
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "hopbox/testing/softhsm.h"
#include "mupre/pre.h"

namespace hopbox {
namespace {

namespace fs = std::filesystem;

constexpr char kPin[] = "4321";

// A SoftHSM2 configuration and one initialized token, in a temporary folder.
class SoftHsm : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hopbox-token-XXXXXX";
    dir_ = mkdtemp(tmpl);
    hopbox::testing::configure_softhsm(dir_);
    hopbox::testing::init_softhsm_token("device", kPin);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::unique_ptr<Token> open() { return Token::open(SOFTHSM_MODULE, "device", kPin); }

  fs::path dir_;
};

bool verifies(const Bytes& spki, const Bytes& msg, const Bytes& sig) {
  const unsigned char* p = spki.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  if (key == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, sig.data(), sig.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

TEST_F(SoftHsm, SigningKeySignsWhatOpenSslVerifies) {
  auto token = open();
  token->generate_device_keys("laptop");
  EXPECT_TRUE(token->has_device_keys("laptop"));
  EXPECT_FALSE(token->has_device_keys("phone"));
  const Bytes spki = token->signing_public_key("laptop");
  const Bytes msg = {'h', 'e', 'l', 'l', 'o'};
  const Bytes sig = token->sign("laptop", msg);
  EXPECT_TRUE(verifies(spki, msg, sig));
  EXPECT_FALSE(verifies(spki, Bytes{'h', 'e', 'l', 'l', 'O'}, sig));
  EXPECT_THROW(token->generate_device_keys("laptop"), TokenError);
}

// A set-up that failed deletes what it made (issue 13): only those keys, all three objects.
TEST_F(SoftHsm, DeletedDeviceKeysAreGoneAndTheLabelIsFreeAgain) {
  auto token = open();
  token->generate_device_keys("laptop");
  token->generate_device_keys("phone");
  const Bytes old_spki = token->signing_public_key("laptop");
  token->delete_device_keys("laptop");
  EXPECT_FALSE(token->has_device_keys("laptop"));
  EXPECT_THROW(token->signing_public_key("laptop"), TokenError);
  EXPECT_TRUE(token->has_device_keys("phone"));
  token->delete_device_keys("laptop");  // absent: nothing to do
  token->generate_device_keys("laptop");
  EXPECT_NE(token->signing_public_key("laptop"), old_spki);
}

TEST_F(SoftHsm, KeysCannotBeReadOrWrappedOutOfTheToken) {
  auto token = open();
  token->generate_device_keys("laptop");
  for (const bool sealing : {true, false}) {
    const unsigned long read = token->try_read_secret_value("laptop", sealing);
    EXPECT_TRUE(read == CKR_ATTRIBUTE_SENSITIVE) << std::hex << read;
    const unsigned long wrap = token->try_wrap_out("laptop", sealing);
    EXPECT_TRUE(wrap == CKR_KEY_UNEXTRACTABLE || wrap == CKR_KEY_NOT_WRAPPABLE) << std::hex << wrap;
  }
}

TEST_F(SoftHsm, MupreKeySealedByTheTokenDecryptsAndSurvivesReopening) {
  Bytes sealed;
  Bytes public_key;
  mupre::Encapsulation e = [&] {
    auto token = open();
    token->generate_device_keys("laptop");
    const SealedSecretKey key = SealedSecretKey::create(*token, "laptop");
    sealed = key.sealed();
    const auto pk = key.public_key().encode();
    public_key.assign(pk.begin(), pk.end());
    mupre::Encapsulation enc = mupre::encapsulate(key.public_key());
    auto k = mupre::decapsulate(key, enc.capsule);
    EXPECT_TRUE(k.ok());
    EXPECT_TRUE(std::equal(k->bytes().begin(), k->bytes().end(), enc.key.bytes().begin()));
    return enc;
  }();
  // A new process would do this: open the token again, bind the stored sealed key.
  auto token = open();
  auto pk = mupre::PublicKey::decode(public_key);
  ASSERT_TRUE(pk.ok());
  const SealedSecretKey key(*token, "laptop", sealed, *pk);
  auto k = mupre::decapsulate(key, e.capsule);
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(std::equal(k->bytes().begin(), k->bytes().end(), e.key.bytes().begin()));
  // A tampered sealed blob, or the blob under another device's label, unseals to nothing.
  Bytes bad = sealed;
  bad.at(20) ^= 1;
  const SealedSecretKey tampered(*token, "laptop", bad, *pk);
  EXPECT_EQ(mupre::decapsulate(tampered, e.capsule).error(), mupre::Error::kKeyUnavailable);
  token->generate_device_keys("phone");
  const SealedSecretKey moved(*token, "phone", sealed, *pk);
  EXPECT_EQ(mupre::decapsulate(moved, e.capsule).error(), mupre::Error::kKeyUnavailable);
}

TEST_F(SoftHsm, WrongPinAndUnknownTokenAreClearErrors) {
  try {
    Token::open(SOFTHSM_MODULE, "device", "0000");
    FAIL() << "opened with a wrong PIN";
  } catch (const TokenError& e) {
    EXPECT_EQ(e.rv(), CKR_PIN_INCORRECT);
  }
  EXPECT_THROW(Token::open(SOFTHSM_MODULE, "no-such-token", kPin), TokenError);
  EXPECT_THROW(Token::open("/nonexistent/module.so", "device", kPin), TokenError);
}

}  // namespace
}  // namespace hopbox
