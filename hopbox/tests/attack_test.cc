// The client's trust in the CA (hopbox/src/trust.cc) under attack, against a real hopbox-ca
// process and real TLS on loopback (issue 12, item 5): an enrolled user impersonating the CA
// with a TLS certificate their device's key issued, and old revocation lists served again.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <thread>

#include "ca_attacker.h"
#include "certs/tls_certificate.h"
#include "certs/verify.h"
#include "client.h"
#include "state.h"
#include "trust.h"

namespace hopbox {
namespace {

using hopbox_ca::test::EnrolledDevice;
using hopbox_ca::test::FakeCa;
using hopbox_ca::test::TestCa;
namespace fs = std::filesystem;

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

v1::DeviceKeys keys_of(const EnrolledDevice& d) {
  v1::DeviceKeys k;
  const auto spki = d.signing_key();
  k.set_signing_key(std::string(spki.begin(), spki.end()));
  k.set_encryption_key(std::string(d.encryption_key.begin(), d.encryption_key.end()));
  k.set_certificate_chain(std::string(d.certificate.begin(), d.certificate.end()));
  return k;
}

// What the client says when it refuses; "" if it trusted the device.
std::string refusal(Trust& trust, const EnrolledDevice& d, const std::string& user) {
  try {
    trust.verify_device(keys_of(d), user);
  } catch (const ClientError& e) {
    return e.what();
  }
  return "";
}

// A server that listens like the CA's, presenting the CA's own TLS key and certificate: what
// an attacker who controls the CA's front (or its TLS key) can serve.
std::unique_ptr<FakeCa> at_the_cas_front(const TestCa& ca) {
  const fs::path tls = fs::path(ca.data()) / "tls";
  return std::make_unique<FakeCa>(testing::read_all(tls / "key.pem"),
                                  testing::read_all(tls / "cert.pem"));
}

TEST(CaTlsAttack, ACertificateAnEnrolledDeviceIssuesForTheCasHostIsRefused) {
  TestCa ca;
  const EnrolledDevice mallory(ca, "mallory");
  // mallory's device key certifies a TLS key for the CA's host names, with certs' own
  // issuing function, and serves it (with her certificate as its issuer) at another address.
  const auto tls_key = hopbox_ca::test::new_p256_key();
  const std::int64_t t = now();
  const certs::Bytes forged = certs::issue_tls_certificate(
      "hopbox-ca", hopbox_ca::test::spki_of(tls_key.get()), {"localhost", "127.0.0.1"}, t - 60,
      t + 3600, mallory.certificate, hopbox_ca::test::signer_of(mallory.key));
  FakeCa impostor(hopbox_ca::test::private_pem(tls_key.get()),
                  certs::to_pem(forged) + certs::to_pem(mallory.certificate));

  Trust fooled(impostor.address(), ca.root_pem().string());
  const std::string why = refusal(fooled, mallory, "mallory");
  EXPECT_NE(why, "");
  EXPECT_EQ(impostor.calls(), 0) << "the client talked to the impostor over TLS";
  // The same client configuration reaches the real CA.
  Trust real(ca.address(), ca.root_pem().string());
  EXPECT_EQ(refusal(real, mallory, "mallory"), "");
}

TEST(RevocationListReplay, AnOlderListServedAfterANewerOneIsRefusedAndTheRefusalPersists) {
  TestCa ca;
  const EnrolledDevice alice(ca, "alice"), bob(ca, "bob");
  const certs::Bytes before_revocation = hopbox_ca::test::fetch_revocation_list(ca);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // lists count in seconds
  ASSERT_EQ(ca.operator_cli("revoke --data-dir " + ca.data() + " alice").first, 0);
  const certs::Bytes after_revocation = hopbox_ca::test::fetch_revocation_list(ca);
  const auto front = at_the_cas_front(ca);

  front->serve_revocation_list(after_revocation);
  std::int64_t remembered = 0;
  Trust trust(front->address(), ca.root_pem().string(), 0,
              [&](std::int64_t issued_at) { remembered = issued_at; });
  EXPECT_EQ(refusal(trust, bob, "bob"), "");
  EXPECT_NE(refusal(trust, alice, "alice").find("revoked"), std::string::npos);
  EXPECT_GT(remembered, 0);

  // The list from before alice's revocation, validly signed, served again: it would make
  // her device trusted once more.
  front->serve_revocation_list(before_revocation);
  trust.forget_revocations();
  EXPECT_NE(refusal(trust, alice, "alice").find("older"), std::string::npos)
      << refusal(trust, alice, "alice");

  // The next run of the client remembers the newest list through its device state.
  char tmpl[] = "/tmp/hopbox-attack-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  DeviceState state;
  state.revocation_list_issued_at = remembered;
  save_state(tmpl, state);
  Trust next_run(front->address(), ca.root_pem().string(),
                 load_state(tmpl).revocation_list_issued_at);
  EXPECT_NE(refusal(next_run, alice, "alice").find("older"), std::string::npos);
  EXPECT_NE(refusal(next_run, bob, "bob").find("older"), std::string::npos);
  fs::remove_all(tmpl);
}

TEST(RevocationListReplay, AnExpiredListFailsClosed) {
  TestCa ca;
  const EnrolledDevice bob(ca, "bob");
  const auto front = at_the_cas_front(ca);
  const std::int64_t t = now();
  front->serve_revocation_list(certs::sign_revocation_list({t - 2 * 86400, t - 86400, {}},
                                                           hopbox_ca::test::ca_root_signer(ca)));
  Trust trust(front->address(), ca.root_pem().string());
  EXPECT_NE(refusal(trust, bob, "bob").find("expired"), std::string::npos)
      << refusal(trust, bob, "bob");
  // The CA's own current list is accepted.
  front->serve_revocation_list(hopbox_ca::test::fetch_revocation_list(ca));
  EXPECT_EQ(refusal(trust, bob, "bob"), "");
}

}  // namespace
}  // namespace hopbox
