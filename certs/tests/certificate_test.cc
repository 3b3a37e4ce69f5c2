#include <gtest/gtest.h>

#include "certs/verify.h"
#include "test_keys.h"

namespace hopbox::certs {
namespace {

using testing::fake_mupre_key;
using testing::Hierarchy;
using testing::now;
using testing::TestKey;

TEST(DeviceCertificate, CarriesIdentifierAndBothKeys) {
  Hierarchy h;
  const CertificateInfo info = inspect_certificate(h.primary);
  EXPECT_EQ(info.identifier, "alice");
  EXPECT_EQ(info.signing_key, h.primary_key.spki());
  EXPECT_EQ(info.encryption_key, fake_mupre_key(1));
  EXPECT_EQ(info.serial, 2);
  EXPECT_TRUE(inspect_certificate(h.root).encryption_key.empty());
}

TEST(DeviceCertificate, IssuingWithAKeyThatIsNotTheIssuersFails) {
  Hierarchy h;
  TestKey other;
  const std::int64_t t = now();
  EXPECT_THROW(issue_certificate({"alice", other.spki(), fake_mupre_key(3), 9, t, t + 60}, h.root,
                                 other.signer()),
               CertError);
}

TEST(DeviceChain, SecondaryVerifiesThroughItsPrimary) {
  Hierarchy h;
  const TrustedDevice d = verify_device_chain({h.secondary, h.primary}, h.root, {}, now());
  EXPECT_EQ(d.identifier, "alice");
  EXPECT_EQ(d.encryption_key, fake_mupre_key(2));
  EXPECT_EQ(d.signing_key, h.secondary_key.spki());
  EXPECT_EQ(safety_number(d).size(), 29u);
}

TEST(DeviceChain, MissingIntermediateIsRejected) {
  Hierarchy h;
  EXPECT_THROW(verify_device_chain({h.secondary}, h.root, {}, now()), CertError);
}

TEST(DeviceChain, OtherRootIsRejected) {
  Hierarchy h, other;
  EXPECT_THROW(verify_device_chain({h.primary}, other.root, {}, now()), CertError);
  EXPECT_THROW(verify_device_chain({}, h.root, {}, now()), CertError);
}

TEST(DeviceChain, ExpiredOrNotYetValidIsRejected) {
  Hierarchy h;
  EXPECT_THROW(verify_device_chain({h.primary}, h.root, {}, now() + 86400 * 31), CertError);
  EXPECT_THROW(verify_device_chain({h.primary}, h.root, {}, now() - 3600), CertError);
}

TEST(DeviceChain, DeviceCannotCertifyAnotherUser) {
  Hierarchy h;
  TestKey mallory;
  const std::int64_t t = now();
  // Refused at issuing; certs/tests/attack_test.cc forges one and sees it refused at
  // verification.
  try {
    issue_certificate({"bob", mallory.spki(), fake_mupre_key(7), 10, t - 60, t + 3600}, h.primary,
                      h.primary_key.signer());
    FAIL() << "a device of alice certified a key for bob";
  } catch (const CertError& e) {
    EXPECT_NE(std::string(e.what()).find("own identifier"), std::string::npos) << e.what();
  }
}

TEST(DeviceChain, RevokedLeafOrIntermediateIsRejected) {
  Hierarchy h;
  RevocationList leaf{now(), now() + 60, {inspect_certificate(h.secondary).fingerprint}};
  RevocationList mid{now(), now() + 60, {inspect_certificate(h.primary).fingerprint}};
  EXPECT_THROW(verify_device_chain({h.secondary, h.primary}, h.root, leaf, now()), CertError);
  EXPECT_THROW(verify_device_chain({h.secondary, h.primary}, h.root, mid, now()), CertError);
  EXPECT_NO_THROW(verify_device_chain({h.primary}, h.root, leaf, now()));
}

TEST(RevocationList, RoundTripsUnderTheRootsSignature) {
  Hierarchy h;
  RevocationList list{1234, 5678, {Bytes(32, 0xaa), Bytes(32, 0xbb)}};
  const Bytes signed_list = sign_revocation_list(list, h.root_key.signer());
  const RevocationList back = open_revocation_list(signed_list, h.root);
  EXPECT_EQ(back.issued_at, 1234);
  EXPECT_EQ(back.next_update, 5678);
  EXPECT_EQ(back.revoked, list.revoked);
}

TEST(RevocationList, AnyAlteredByteOrOtherSignerIsRejected) {
  Hierarchy h, other;
  const Bytes good = sign_revocation_list({99, 199, {Bytes(32, 1)}}, h.root_key.signer());
  for (std::size_t i = 0; i < good.size(); ++i) {
    Bytes bad = good;
    bad[i] ^= 0x01;
    EXPECT_THROW(open_revocation_list(bad, h.root), CertError) << "byte " << i;
  }
  EXPECT_THROW(open_revocation_list(good, other.root), CertError);
  EXPECT_THROW(open_revocation_list(Bytes(good.begin(), good.end() - 1), h.root), CertError);
}

TEST(Chain, EncodingRoundTripsAndRejectsGarbage) {
  Hierarchy h;
  const Bytes chain = encode_chain({h.secondary, h.primary});
  EXPECT_EQ(decode_chain(chain), (std::vector<Bytes>{h.secondary, h.primary}));
  Bytes truncated(chain.begin(), chain.end() - 5);
  EXPECT_THROW(decode_chain(truncated), CertError);
  EXPECT_THROW(decode_chain(Bytes{0x30, 0x03, 0x01, 0x01, 0x00}), CertError);
  EXPECT_EQ(from_pem(to_pem(h.primary)), h.primary);
}

}  // namespace
}  // namespace hopbox::certs
