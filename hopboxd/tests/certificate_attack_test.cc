// hopboxd's certificate policy (certificate_policy.cc) under attack, against a real hopbox-ca
// process and real TLS on loopback (issue 12, item 5): old or expired revocation lists that
// would hide a revocation, and an impostor at the CA's address with a TLS certificate an
// enrolled device's key issued.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "ca_attacker.h"
#include "certificate_policy.h"
#include "certs/tls_certificate.h"
#include "certs/verify.h"

namespace hopboxd {
namespace {

using hopbox_ca::test::EnrolledDevice;
using hopbox_ca::test::FakeCa;
using hopbox_ca::test::TestCa;
namespace certs = hopbox::certs;

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<FakeCa> at_the_cas_front(const TestCa& ca) {
  const auto tls = std::filesystem::path(ca.data()) / "tls";
  return std::make_unique<FakeCa>(hopbox::testing::read_all(tls / "key.pem"),
                                  hopbox::testing::read_all(tls / "cert.pem"));
}

std::optional<std::string> refuse_registration(const CertificatePolicy& p, const std::string& user,
                                               const EnrolledDevice& d) {
  return p.refuse_registration(user, d.signing_key(), d.encryption_key, d.certificate);
}

std::string root_pem(const TestCa& ca) {
  return hopbox::testing::read_all(ca.root_pem());
}

constexpr int kNoBackgroundRefresh = 3600;

TEST(CertificatePolicyAttack, AnOlderListServedAfterANewerOneIsRefused) {
  TestCa ca;
  const EnrolledDevice alice(ca, "alice");
  const certs::Bytes before_revocation = hopbox_ca::test::fetch_revocation_list(ca);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // lists count in seconds
  ASSERT_EQ(ca.operator_cli("revoke --data-dir " + ca.data() + " alice").first, 0);
  const auto front = at_the_cas_front(ca);
  front->serve_revocation_list(hopbox_ca::test::fetch_revocation_list(ca));
  CertificatePolicy policy(front->address(), root_pem(ca), kNoBackgroundRefresh);
  ASSERT_NE(policy.refuse_device(alice.certificate), std::nullopt);

  front->serve_revocation_list(before_revocation);
  EXPECT_FALSE(policy.refresh());
  EXPECT_EQ(policy.refuse_device(alice.certificate), "the device's certificate was revoked");
}

TEST(CertificatePolicyAttack, AnExpiredListFailsClosed) {
  TestCa ca;
  const EnrolledDevice bob(ca, "bob");
  const auto front = at_the_cas_front(ca);
  const std::int64_t t = now();
  front->serve_revocation_list(certs::sign_revocation_list({t - 2 * 86400, t - 86400, {}},
                                                           hopbox_ca::test::ca_root_signer(ca)));
  CertificatePolicy policy(front->address(), root_pem(ca), kNoBackgroundRefresh);
  EXPECT_FALSE(policy.refresh());
  const auto why = refuse_registration(policy, "bob", bob);
  ASSERT_NE(why, std::nullopt);
  EXPECT_NE(why->find("revocation list"), std::string::npos) << *why;
  EXPECT_NE(policy.refuse_device(bob.certificate), std::nullopt);
  // Once the CA's current list arrives, bob is accepted.
  front->serve_revocation_list(hopbox_ca::test::fetch_revocation_list(ca));
  EXPECT_TRUE(policy.refresh());
  EXPECT_EQ(refuse_registration(policy, "bob", bob), std::nullopt);
  EXPECT_EQ(policy.refuse_device(bob.certificate), std::nullopt);
}

TEST(CertificatePolicyAttack, AHeldListThatExpiresWithNoNewerOneFailsClosed) {
  TestCa ca;
  const EnrolledDevice bob(ca, "bob");
  const auto front = at_the_cas_front(ca);
  const std::int64_t t = now();
  front->serve_revocation_list(
      certs::sign_revocation_list({t - 1, t + 2, {}}, hopbox_ca::test::ca_root_signer(ca)));
  CertificatePolicy policy(front->address(), root_pem(ca), kNoBackgroundRefresh);
  EXPECT_EQ(policy.refuse_device(bob.certificate), std::nullopt);
  // The CA's new lists are withheld; the one held runs out.
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  EXPECT_FALSE(policy.refresh());
  const auto why = policy.refuse_device(bob.certificate);
  ASSERT_NE(why, std::nullopt);
  EXPECT_NE(why->find("expired"), std::string::npos) << *why;
}

TEST(CertificatePolicyAttack, AnImpostorWithACertificateADeviceIssuedIsNotTheCa) {
  TestCa ca;
  const EnrolledDevice mallory(ca, "mallory");
  const auto tls_key = hopbox_ca::test::new_p256_key();
  const std::int64_t t = now();
  const certs::Bytes forged = certs::issue_tls_certificate(
      "hopbox-ca", hopbox_ca::test::spki_of(tls_key.get()), {"localhost", "127.0.0.1"}, t - 60,
      t + 3600, mallory.certificate, hopbox_ca::test::signer_of(mallory.key));
  FakeCa impostor(hopbox_ca::test::private_pem(tls_key.get()),
                  certs::to_pem(forged) + certs::to_pem(mallory.certificate));
  impostor.serve_revocation_list(hopbox_ca::test::fetch_revocation_list(ca));
  CertificatePolicy fooled(impostor.address(), root_pem(ca), kNoBackgroundRefresh);
  EXPECT_FALSE(fooled.refresh());
  EXPECT_EQ(impostor.calls(), 0) << "hopboxd talked to the impostor over TLS";
  CertificatePolicy real(ca.address(), root_pem(ca), kNoBackgroundRefresh);
  EXPECT_TRUE(real.refresh());
}

}  // namespace
}  // namespace hopboxd
