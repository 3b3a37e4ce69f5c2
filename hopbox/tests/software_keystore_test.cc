// The passphrase-protected software keystore: the fallback for machines without a token.
#include "software_keystore.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mupre/pre.h"

namespace hopbox {
namespace {

namespace fs = std::filesystem;

class SoftwareKeys : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hopbox-soft-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

TEST_F(SoftwareKeys, SignSealAndReopenWithThePassphraseOnly) {
  Bytes sealed, spki;
  {
    auto ks = SoftwareKeyStore::open(dir_, "correct horse");
    EXPECT_FALSE(ks->hardware_bound());
    ks->generate_device_keys("laptop");
    EXPECT_THROW(ks->generate_device_keys("laptop"), std::runtime_error);
    spki = ks->signing_public_key("laptop");
    const SealedSecretKey key = SealedSecretKey::create(*ks, "laptop");
    sealed = key.sealed();
  }
  auto ks = SoftwareKeyStore::open(dir_, "correct horse");
  const Bytes msg = {1, 2, 3};
  const Bytes sig = ks->sign("laptop", msg);
  const unsigned char* p = spki.data();
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  ASSERT_NE(pub, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pub), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, sig.data(), sig.size(), msg.data(), msg.size()), 1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
  // The sealed mupre key opens, and only under its own label.
  std::uint8_t out[32];
  EXPECT_TRUE(ks->unseal("laptop", sealed, out));
  EXPECT_FALSE(ks->unseal("phone", sealed, out));
  // The file says what it is.
  std::ifstream in(dir_ / "software-keys.json");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  EXPECT_NE(text.find("weaker than a hardware token"), std::string::npos);
}

TEST_F(SoftwareKeys, AWrongPassphraseIsRefused) {
  SoftwareKeyStore::open(dir_, "right")->generate_device_keys("laptop");
  try {
    SoftwareKeyStore::open(dir_, "wrong");
    FAIL() << "opened with a wrong passphrase";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("wrong passphrase"), std::string::npos);
  }
}

// A damaged file throws std::runtime_error, as open() promises (the client reports it), and
// never one of the JSON library's exceptions nor undefined behaviour. Found by
// fuzz_software_keystore: a key entry without its "signing" field.
TEST_F(SoftwareKeys, ADamagedFileThrowsTheDocumentedError) {
  SoftwareKeyStore::open(dir_, "pw")->generate_device_keys("laptop");
  const fs::path file = dir_ / "software-keys.json";
  nlohmann::json good;
  {
    std::ifstream in(file);
    good = nlohmann::json::parse(in);
  }
  const auto write = [&](const nlohmann::json& doc) {
    std::ofstream(file, std::ios::trunc) << doc.dump();
  };
  nlohmann::json doc = good;
  doc["keys"]["laptop"].erase("signing");
  write(doc);
  auto ks = SoftwareKeyStore::open(dir_, "pw");
  EXPECT_THROW(ks->sign("laptop", Bytes{1, 2}), std::runtime_error);
  doc = good;
  doc["keys"]["laptop"] = "not an object";
  write(doc);
  EXPECT_THROW(SoftwareKeyStore::open(dir_, "pw")->signing_public_key("laptop"),
               std::runtime_error);
  for (const auto& [field, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{{"opslimit", "3"},
                                                           {"opslimit", 1e300},
                                                           {"memlimit", -1},
                                                           {"salt", 7},
                                                           {"kdf", 2},
                                                           {"keys", nlohmann::json::array()}}) {
    doc = good;
    doc[field] = value;
    write(doc);
    EXPECT_THROW(SoftwareKeyStore::open(dir_, "pw"), std::runtime_error) << field << value;
  }
  doc = good;
  doc.erase("check");
  write(doc);
  EXPECT_THROW(SoftwareKeyStore::open(dir_, "pw"), std::runtime_error);
}

}  // namespace
}  // namespace hopbox
