// docs/formats.md is the contract for independent implementations: its certificate, revocation
// list and item signature examples must verify with this library, byte for byte.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>

#include "certs/item_signature.h"
#include "certs/verify.h"
#include "hopbox/testing/doc_examples.h"
#include "mupre/hex.h"

namespace hopbox::certs {
namespace {

constexpr std::int64_t kJune2026 = 1780272000;

std::map<std::string, Bytes> examples() {
  return hopbox::testing::hex_examples(std::string(HOPBOX_DOCS_DIR) + "/formats.md");
}

class FormatsDoc : public ::testing::Test {
 protected:
  const Bytes& at(const std::string& name) {
    EXPECT_TRUE(ex_.count(name)) << "example " << name << " missing";
    return ex_[name];
  }
  std::map<std::string, Bytes> ex_ = examples();
};

TEST_F(FormatsDoc, DeviceCertificateCarriesTheDocumentedExtension) {
  const CertificateInfo info = inspect_certificate(at("device_certificate"));
  EXPECT_EQ(info.identifier, "alice");
  EXPECT_EQ(info.encryption_key, at("public_key_A"));
  const Bytes& ext = at("device_keys_extension");
  const Bytes& cert = at("device_certificate");
  EXPECT_NE(std::search(cert.begin(), cert.end(), ext.begin(), ext.end()), cert.end());
  const TrustedDevice d =
      verify_device_chain({at("device_certificate")}, at("root_certificate"), {}, kJune2026);
  EXPECT_EQ(d.encryption_key, at("public_key_A"));
}

TEST_F(FormatsDoc, RevocationListNamesTheDeviceCertificate) {
  const RevocationList list = open_revocation_list(at("revocation_list"), at("root_certificate"));
  EXPECT_TRUE(list.contains(inspect_certificate(at("device_certificate")).fingerprint));
  // Issued 2026-01-01, in force for one day.
  EXPECT_EQ(list.issued_at, 1767225600);
  EXPECT_EQ(list.next_update, 1767225600 + 86400);
  EXPECT_NO_THROW(check_revocation_list_current(list, list.issued_at, list.issued_at + 60));
  EXPECT_THROW(check_revocation_list_current(list, 0, kJune2026), CertError);
  EXPECT_THROW(
      verify_device_chain({at("device_certificate")}, at("root_certificate"), list, kJune2026),
      CertError);
}

TEST_F(FormatsDoc, ItemMessageAndSignatureMatchTheMupreExamples) {
  const Bytes& payload = at("payload_chunk_8");
  Bytes digest(32);
  {
    // SHA-256 of the framed chunks after the 30-byte payload header.
    const Bytes framed(payload.begin() + 30, payload.end());
    EVP_Digest(framed.data(), framed.size(), digest.data(), nullptr, EVP_sha256(), nullptr);
  }
  const ItemFacts facts{"alice",
                        "item-0001",
                        "work",
                        at("capsule_level_1"),
                        at("wrapped_key"),
                        at("metadata"),
                        Bytes(payload.begin(), payload.begin() + 30),
                        digest,
                        {}};
  EXPECT_EQ(item_message(facts), at("item_message"));
  const ItemSignature s = decode_item_signature(at("item_signature"));
  EXPECT_EQ(verify_item(facts, s, at("root_certificate"), {}, kJune2026).identifier, "alice");
}

}  // namespace
}  // namespace hopbox::certs
