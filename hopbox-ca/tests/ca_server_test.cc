// hopbox-ca as a real process: its API refuses what it should, and its root key may live in a
// PKCS#11 token (SoftHSM2) without anything changing for clients.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <chrono>
#include <thread>

#include "certs/requests.h"
#include "certs/verify.h"
#include "hopbox/testing/softhsm.h"
#include "mupre/keys.h"
#include "mupre/pre.h"
#include "test_ca.h"
#include "test_device.h"

namespace hopbox_ca {
namespace {

namespace certs = hopbox::certs;
namespace v1 = hopbox::v1;
using test::TestCa;
namespace fs = std::filesystem;

using Device = test::TestDevice;

grpc::Status enroll(const TestCa& ca, const v1::EnrollRequest& req, v1::EnrollResponse* resp) {
  grpc::ClientContext ctx;
  return ca.stub()->Enroll(&ctx, req, resp);
}

certs::Bytes root_of(const TestCa& ca) {
  grpc::ClientContext ctx;
  v1::GetRootResponse resp;
  EXPECT_TRUE(ca.stub()->GetRoot(&ctx, v1::GetRootRequest(), &resp).ok());
  return certs::Bytes(resp.root_certificate().begin(), resp.root_certificate().end());
}

// Issue 13: one hopbox-ca per data folder and per port, and no random port by mistake.
TEST(CaServer, ASecondServerOnTheSameFolderOrPortOrAnInvalidAddressIsRefused) {
  TestCa ca;
  const fs::path dir = fs::path(ca.data()).parent_path();
  hopbox::testing::ChildProcess other;
  const auto second = [&](const std::string& data, const std::string& listen) {
    const int code = other.start_or_exit(
        HOPBOX_CA_BINARY,
        {"serve", "--data-dir", data, "--listen", listen, "--port-file", (dir / "port2").string()},
        dir / "second.log", dir / "port2");
    other.stop(SIGKILL);
    return code;
  };
  const auto log = [&] { return hopbox::testing::read_all(dir / "second.log"); };
  EXPECT_EQ(second(ca.data(), "127.0.0.1:0"), 1);
  EXPECT_NE(log().find("data folder " + ca.data() + " is in use"), std::string::npos) << log();
  // Another CA, on the first one's port.
  const std::string other_data = (dir / "other").string();
  ASSERT_EQ(ca.operator_cli("init --data-dir " + other_data).first, 0);
  const std::string port = ca.address().substr(ca.address().rfind(':') + 1);
  EXPECT_EQ(second(other_data, ca.address()), 1);
  EXPECT_NE(log().find("port " + port + " is in use"), std::string::npos) << log();
  for (const std::string bad : {"127.0.0.1", "127.0.0.1:x", "127.0.0.1:65536", "127.0.0.1:-5"}) {
    EXPECT_EQ(second(other_data, bad), 2) << bad;
    EXPECT_NE(log().find("--listen \"" + bad + "\""), std::string::npos) << log();
  }
  // The operator's commands still work beside the running server, which still answers.
  EXPECT_NE(ca.invite("alice"), "");
  EXPECT_FALSE(root_of(ca).empty());
}

TEST(CaServer, EnrollsOnceWithAValidProofAndCode) {
  TestCa ca;
  EXPECT_EQ(root_of(ca), certs::from_pem(hopbox::testing::read_all(ca.root_pem())));
  const Device alice;
  const std::string code = ca.invite("alice");
  v1::EnrollResponse resp;
  // A proof by another key, a damaged mupre key, oversized fields: refused, code kept.
  v1::EnrollRequest forged = alice.enroll_request("alice", code);
  forged.set_proof(Device().sign(certs::enrollment_proof_message("alice", alice.encryption_key())));
  EXPECT_EQ(enroll(ca, forged, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  v1::EnrollRequest damaged = alice.enroll_request("alice", code);
  damaged.set_encryption_key(std::string(50, '\x01'));
  EXPECT_EQ(enroll(ca, damaged, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::EnrollRequest huge = alice.enroll_request(std::string(5000, 'a'), code);
  EXPECT_EQ(enroll(ca, huge, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(enroll(ca, alice.enroll_request("alice smith", code), &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  ASSERT_TRUE(enroll(ca, alice.enroll_request("alice", code), &resp).ok());
  const certs::Bytes cert(resp.certificate().begin(), resp.certificate().end());
  const auto trusted = certs::verify_device_chain({cert}, root_of(ca), {}, std::time(nullptr));
  EXPECT_EQ(trusted.identifier, "alice");
  EXPECT_EQ(trusted.encryption_key, alice.encryption_key());
  EXPECT_EQ(enroll(ca, Device().enroll_request("alice", code), &resp).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

grpc::Status confirm(const TestCa& ca, const Device& signer, const std::string& cert) {
  grpc::ClientContext ctx;
  v1::ConfirmEnrollmentRequest req;
  req.set_certificate(cert);
  req.set_signature(
      signer.sign(certs::enrollment_complete_message(certs::Bytes(cert.begin(), cert.end()))));
  v1::ConfirmEnrollmentResponse resp;
  return ca.stub()->ConfirmEnrollment(&ctx, req, &resp);
}

bool revoked_at_ca(const TestCa& ca, const std::string& cert) {
  grpc::ClientContext ctx;
  v1::GetRevocationListResponse list;
  EXPECT_TRUE(ca.stub()->GetRevocationList(&ctx, v1::GetRevocationListRequest(), &list).ok());
  return certs::open_revocation_list(
             certs::Bytes(list.revocation_list().begin(), list.revocation_list().end()),
             root_of(ca))
      .contains(certs::inspect_certificate(certs::Bytes(cert.begin(), cert.end())).fingerprint);
}

// Issue 13: an init that failed after the CA step resumes; nobody else can finish it.
TEST(CaServer, EnrollmentResumesOnlyWithTheSameKeysAndCodeUntilConfirmed) {
  TestCa ca;
  const Device alice, mallory;
  const std::string code = ca.invite("alice");
  v1::EnrollResponse first, again;
  ASSERT_TRUE(enroll(ca, alice.enroll_request("alice", code), &first).ok());
  ASSERT_TRUE(enroll(ca, alice.enroll_request("Alice", code), &again).ok());
  EXPECT_EQ(again.certificate(), first.certificate());  // the same certificate, no new one
  EXPECT_EQ(again.identifier(), "alice");
  // Other keys with the code, or the keys with another code: refused.
  EXPECT_EQ(enroll(ca, mallory.enroll_request("alice", code), &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(enroll(ca, alice.enroll_request("alice", "AAAA-BBBB-CCCC"), &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // Only the certified key confirms, and only the identifier's current certificate.
  EXPECT_EQ(confirm(ca, mallory, first.certificate()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(confirm(ca, alice, first.certificate()).ok());
  // Confirmed: no more resuming.
  EXPECT_EQ(enroll(ca, alice.enroll_request("alice", code), &again).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

// Issue 13: the operator frees an identifier whose enrollment never completed, never one in use.
TEST(CaServer, TheOperatorResetsOnlyAnEnrollmentNeverConfirmed) {
  TestCa ca;
  const Device abandoned, fresh;
  const std::string code = ca.invite("alice");
  v1::EnrollResponse old_cert, new_cert;
  ASSERT_TRUE(enroll(ca, abandoned.enroll_request("alice", code), &old_cert).ok());
  const auto reset = [&](const std::string& id) {
    return ca.operator_cli("reset --data-dir " + ca.data() + " " + id).first;
  };
  EXPECT_EQ(ca.invite("alice"), "");  // certified already
  EXPECT_EQ(reset("nobody"), 3);      // not found
  ASSERT_EQ(reset("ALICE"), 0);
  EXPECT_TRUE(revoked_at_ca(ca, old_cert.certificate()));
  EXPECT_EQ(reset("alice"), 3);  // nothing left to reset
  // The old keys and code resume nothing; a new invitation enrolls new keys.
  EXPECT_EQ(enroll(ca, abandoned.enroll_request("alice", code), &new_cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::string code2 = ca.invite("alice");
  ASSERT_FALSE(code2.empty());
  ASSERT_TRUE(enroll(ca, fresh.enroll_request("alice", code2), &new_cert).ok());
  EXPECT_FALSE(revoked_at_ca(ca, new_cert.certificate()));
  // The revoked certificate confirms nothing; the new one does, and then reset is refused.
  EXPECT_EQ(confirm(ca, abandoned, old_cert.certificate()).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(confirm(ca, fresh, new_cert.certificate()).ok());
  EXPECT_EQ(reset("alice"), 3);
  EXPECT_FALSE(revoked_at_ca(ca, new_cert.certificate()));
  EXPECT_EQ(ca.invite("alice"), "");
}

TEST(CaServer, RevocationNeedsTheUsersPrimaryOrTheDeviceItselfAndShowsInTheSignedList) {
  TestCa ca;
  const Device alice, bob;
  v1::EnrollResponse a, b;
  ASSERT_TRUE(enroll(ca, alice.enroll_request("alice", ca.invite("alice")), &a).ok());
  ASSERT_TRUE(enroll(ca, bob.enroll_request("bob", ca.invite("bob")), &b).ok());
  const certs::Bytes alice_cert(a.certificate().begin(), a.certificate().end());
  const certs::Bytes bob_cert(b.certificate().begin(), b.certificate().end());
  auto revoke = [&](const Device& by, const certs::Bytes& by_cert, const certs::Bytes& target) {
    grpc::ClientContext ctx;
    v1::RevokeDeviceRequest req;
    req.set_certificate(std::string(target.begin(), target.end()));
    req.set_requester_chain(std::string(by_cert.begin(), by_cert.end()));
    req.set_signature(by.sign(certs::revocation_message(target)));
    v1::RevokeDeviceResponse resp;
    return ca.stub()->RevokeDevice(&ctx, req, &resp);
  };
  // Two secondaries of alice's, certified by her primary.
  const Device phone, tablet;
  const std::int64_t now = std::time(nullptr);
  std::int64_t serial = 10;
  auto secondary_of_alice = [&](const Device& d) {
    certs::Bytes chain = certs::issue_certificate(
        {"alice", d.spki(), d.encryption_key(), serial++, now - 60, now + 3600}, alice_cert,
        [&](std::span<const std::uint8_t> m) {
          const std::string sig = alice.sign(certs::Bytes(m.begin(), m.end()));
          return certs::Bytes(sig.begin(), sig.end());
        });
    return chain;
  };
  const certs::Bytes phone_cert = secondary_of_alice(phone);
  const certs::Bytes tablet_cert = secondary_of_alice(tablet);
  const auto chain_of = [&](const certs::Bytes& leaf) {
    return certs::encode_chain({leaf, alice_cert});
  };
  EXPECT_EQ(revoke(bob, bob_cert, phone_cert).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(revoke(bob, alice_cert, phone_cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // signed by a key the chain does not hold
  EXPECT_EQ(revoke(alice, alice_cert, certs::Bytes{0x30, 0x00}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Issue 12: a (stolen) secondary revokes neither the primary, which would cut the whole
  // account off at once, nor another secondary; and the primary is never revoked alone.
  EXPECT_EQ(revoke(phone, chain_of(phone_cert), alice_cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(revoke(phone, chain_of(phone_cert), tablet_cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(revoke(alice, alice_cert, alice_cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The primary revokes a secondary; a secondary revokes itself.
  ASSERT_TRUE(revoke(alice, alice_cert, phone_cert).ok());
  ASSERT_TRUE(revoke(tablet, chain_of(tablet_cert), tablet_cert).ok());

  grpc::ClientContext ctx;
  v1::GetRevocationListResponse list;
  ASSERT_TRUE(ca.stub()->GetRevocationList(&ctx, v1::GetRevocationListRequest(), &list).ok());
  const auto revoked = certs::open_revocation_list(
      certs::Bytes(list.revocation_list().begin(), list.revocation_list().end()), root_of(ca));
  EXPECT_TRUE(revoked.contains(certs::inspect_certificate(phone_cert).fingerprint));
  EXPECT_TRUE(revoked.contains(certs::inspect_certificate(tablet_cert).fingerprint));
  EXPECT_FALSE(revoked.contains(certs::inspect_certificate(alice_cert).fingerprint));
  EXPECT_FALSE(revoked.contains(certs::inspect_certificate(bob_cert).fingerprint));
  // Revoked, the phone can no longer revoke anything.
  EXPECT_EQ(revoke(phone, chain_of(phone_cert), phone_cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST(CaServer, ASecondaryReplacesThePrimaryOnceWithAProofOfItsKey) {
  TestCa ca;
  const Device primary, secondary, tablet;
  v1::EnrollResponse enrolled;
  ASSERT_TRUE(enroll(ca, primary.enroll_request("alice", ca.invite("alice")), &enrolled).ok());
  const certs::Bytes primary_cert(enrolled.certificate().begin(), enrolled.certificate().end());
  const std::int64_t now = std::time(nullptr);
  auto certified_by_primary = [&](const Device& d, std::int64_t serial) {
    return certs::issue_certificate(
        {"alice", d.spki(), d.encryption_key(), serial, now - 60, now + 3600}, primary_cert,
        [&](std::span<const std::uint8_t> m) {
          const std::string sig = primary.sign(certs::Bytes(m.begin(), m.end()));
          return certs::Bytes(sig.begin(), sig.end());
        });
  };
  const certs::Bytes secondary_cert = certified_by_primary(secondary, 7);
  const certs::Bytes tablet_cert = certified_by_primary(tablet, 8);
  auto recover = [&](const std::vector<certs::Bytes>& chain, const Device& signer,
                     v1::RecoverPrimaryResponse* resp) {
    grpc::ClientContext ctx;
    v1::RecoverPrimaryRequest req;
    const certs::Bytes encoded = certs::encode_chain(chain);
    req.set_requester_chain(std::string(encoded.begin(), encoded.end()));
    req.set_signature(signer.sign(certs::recover_primary_message(chain.back())));
    return ca.stub()->RecoverPrimary(&ctx, req, resp);
  };
  v1::RecoverPrimaryResponse resp;
  EXPECT_EQ(recover({primary_cert}, primary, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);  // the primary cannot replace itself
  EXPECT_EQ(recover({secondary_cert, primary_cert}, Device(), &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);  // no proof of the secondary's key
  ASSERT_TRUE(recover({secondary_cert, primary_cert}, secondary, &resp).ok());
  const certs::Bytes fresh(resp.certificate().begin(), resp.certificate().end());
  const auto root = root_of(ca);
  EXPECT_EQ(certs::verify_device_chain({fresh}, root, {}, now).encryption_key,
            secondary.encryption_key());
  // The old primary is revoked: its chain no longer serves, not even for a second recovery.
  grpc::ClientContext ctx;
  v1::GetRevocationListResponse list;
  ASSERT_TRUE(ca.stub()->GetRevocationList(&ctx, v1::GetRevocationListRequest(), &list).ok());
  EXPECT_TRUE(certs::open_revocation_list(
                  certs::Bytes(list.revocation_list().begin(), list.revocation_list().end()), root)
                  .contains(certs::inspect_certificate(primary_cert).fingerprint));
  // The old chain serves no second recovery: another device certified by the old primary is
  // refused, and the same secondary asking again (its client never heard the answer) gets the
  // certificate it was issued, not a new one, and only with a proof of its key.
  EXPECT_EQ(recover({tablet_cert, primary_cert}, tablet, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(recover({secondary_cert, primary_cert}, tablet, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  v1::RecoverPrimaryResponse again;
  ASSERT_TRUE(recover({secondary_cert, primary_cert}, secondary, &again).ok());
  EXPECT_EQ(certs::Bytes(again.certificate().begin(), again.certificate().end()), fresh);
}

// Issue 12: a stolen, unlocked secondary asking the CA directly does not revoke the primary at
// once; the request waits, announced, and a device of the user cancels it.
TEST(CaServer, ASecondarysRecoveryWaitsAnnouncedAndADeviceOfTheUserCancelsIt) {
  TestCa ca("", {"--recovery-wait-seconds", "3600"});
  const Device primary, secondary, bob;
  v1::EnrollResponse enrolled, bob_enrolled;
  ASSERT_TRUE(enroll(ca, primary.enroll_request("alice", ca.invite("alice")), &enrolled).ok());
  ASSERT_TRUE(enroll(ca, bob.enroll_request("bob", ca.invite("bob")), &bob_enrolled).ok());
  const certs::Bytes primary_cert(enrolled.certificate().begin(), enrolled.certificate().end());
  const certs::Bytes bob_cert(bob_enrolled.certificate().begin(), bob_enrolled.certificate().end());
  const std::int64_t now = std::time(nullptr);
  std::int64_t serial = 7;
  auto certified_by_primary = [&](const Device& d) {
    return certs::issue_certificate(
        {"alice", d.spki(), d.encryption_key(), serial++, now - 60, now + 3600}, primary_cert,
        [&](std::span<const std::uint8_t> m) {
          const std::string sig = primary.sign(certs::Bytes(m.begin(), m.end()));
          return certs::Bytes(sig.begin(), sig.end());
        });
  };
  const certs::Bytes secondary_cert = certified_by_primary(secondary);
  auto recover = [&](const certs::Bytes& leaf, const Device& signer,
                     v1::RecoverPrimaryResponse* resp) {
    grpc::ClientContext ctx;
    v1::RecoverPrimaryRequest req;
    const certs::Bytes encoded = certs::encode_chain({leaf, primary_cert});
    req.set_requester_chain(std::string(encoded.begin(), encoded.end()));
    req.set_signature(signer.sign(certs::recover_primary_message(primary_cert)));
    return ca.stub()->RecoverPrimary(&ctx, req, resp);
  };
  auto cancel = [&](const std::vector<certs::Bytes>& chain, const Device& signer,
                    const std::string& identifier, v1::CancelPrimaryRecoveryResponse* resp) {
    grpc::ClientContext ctx;
    v1::CancelPrimaryRecoveryRequest req;
    const certs::Bytes encoded = certs::encode_chain(chain);
    req.set_requester_chain(std::string(encoded.begin(), encoded.end()));
    req.set_signature(signer.sign(certs::cancel_primary_recovery_message(identifier)));
    return ca.stub()->CancelPrimaryRecovery(&ctx, req, resp);
  };
  auto waiting = [&]() {
    grpc::ClientContext ctx;
    v1::ListPrimaryRecoveriesRequest req;
    req.set_identifier("alice");
    v1::ListPrimaryRecoveriesResponse resp;
    EXPECT_TRUE(ca.stub()->ListPrimaryRecoveries(&ctx, req, &resp).ok());
    return resp;
  };
  auto primary_revoked = [&]() {
    grpc::ClientContext ctx;
    v1::GetRevocationListResponse list;
    EXPECT_TRUE(ca.stub()->GetRevocationList(&ctx, v1::GetRevocationListRequest(), &list).ok());
    return certs::open_revocation_list(
               certs::Bytes(list.revocation_list().begin(), list.revocation_list().end()),
               root_of(ca))
        .contains(certs::inspect_certificate(primary_cert).fingerprint);
  };

  // Announced: no certificate, a time, the primary untouched; asking again changes nothing.
  v1::RecoverPrimaryResponse first, again;
  ASSERT_TRUE(recover(secondary_cert, secondary, &first).ok());
  EXPECT_TRUE(first.certificate().empty());
  EXPECT_GE(first.not_before(), now + 3600);
  EXPECT_LE(first.not_before(), now + 3660);
  EXPECT_FALSE(primary_revoked());
  ASSERT_TRUE(recover(secondary_cert, secondary, &again).ok());
  EXPECT_TRUE(again.certificate().empty());
  EXPECT_EQ(again.not_before(), first.not_before());
  EXPECT_FALSE(primary_revoked());
  const auto listed = waiting();
  ASSERT_EQ(listed.announcements_size(), 1);
  const certs::Bytes secondary_fingerprint = certs::inspect_certificate(secondary_cert).fingerprint;
  EXPECT_EQ(listed.announcements(0).requester_fingerprint(),
            std::string(secondary_fingerprint.begin(), secondary_fingerprint.end()));
  EXPECT_EQ(listed.announcements(0).not_before(), first.not_before());

  // At most four requesters wait per identifier.
  const Device second, third, fourth, fifth;
  v1::RecoverPrimaryResponse other;
  for (const Device* d : {&second, &third, &fourth}) {
    ASSERT_TRUE(recover(certified_by_primary(*d), *d, &other).ok());
    EXPECT_TRUE(other.certificate().empty());
  }
  EXPECT_EQ(recover(certified_by_primary(fifth), fifth, &other).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(waiting().announcements_size(), 4);

  // Not cancelled by another user's device, nor by a requester, nor with a forged signature.
  v1::CancelPrimaryRecoveryResponse cancelled;
  EXPECT_EQ(cancel({bob_cert}, bob, "alice", &cancelled).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(cancel({bob_cert}, bob, "bob", &cancelled).ok());  // bob's own: none
  EXPECT_EQ(cancelled.cancelled(), 0);
  EXPECT_EQ(cancel({secondary_cert, primary_cert}, secondary, "alice", &cancelled).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(cancel({primary_cert}, bob, "alice", &cancelled).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(waiting().announcements_size(), 4);
  // The primary cancels them all.
  ASSERT_TRUE(cancel({primary_cert}, primary, "alice", &cancelled).ok());
  EXPECT_EQ(cancelled.cancelled(), 4);
  EXPECT_EQ(waiting().announcements_size(), 0);
  EXPECT_FALSE(primary_revoked());
  // Asking again starts a new waiting period: it does not complete.
  ASSERT_TRUE(recover(secondary_cert, secondary, &again).ok());
  EXPECT_TRUE(again.certificate().empty());
  EXPECT_GE(again.not_before(), first.not_before());
  EXPECT_FALSE(primary_revoked());
}

TEST(CaServer, TheAnnouncingSecondaryCompletesOnlyAfterTheWaitingPeriod) {
  TestCa ca("", {"--recovery-wait-seconds", "2"});
  const Device primary, secondary, other;
  v1::EnrollResponse enrolled;
  ASSERT_TRUE(enroll(ca, primary.enroll_request("alice", ca.invite("alice")), &enrolled).ok());
  const certs::Bytes primary_cert(enrolled.certificate().begin(), enrolled.certificate().end());
  const std::int64_t now = std::time(nullptr);
  std::int64_t serial = 7;
  auto certified_by_primary = [&](const Device& d) {
    return certs::issue_certificate(
        {"alice", d.spki(), d.encryption_key(), serial++, now - 60, now + 3600}, primary_cert,
        [&](std::span<const std::uint8_t> m) {
          const std::string sig = primary.sign(certs::Bytes(m.begin(), m.end()));
          return certs::Bytes(sig.begin(), sig.end());
        });
  };
  auto recover = [&](const certs::Bytes& leaf, const Device& signer,
                     v1::RecoverPrimaryResponse* resp) {
    grpc::ClientContext ctx;
    v1::RecoverPrimaryRequest req;
    const certs::Bytes encoded = certs::encode_chain({leaf, primary_cert});
    req.set_requester_chain(std::string(encoded.begin(), encoded.end()));
    req.set_signature(signer.sign(certs::recover_primary_message(primary_cert)));
    return ca.stub()->RecoverPrimary(&ctx, req, resp);
  };
  const certs::Bytes secondary_cert = certified_by_primary(secondary);
  v1::RecoverPrimaryResponse resp;
  ASSERT_TRUE(recover(secondary_cert, secondary, &resp).ok());
  ASSERT_TRUE(resp.certificate().empty());
  const std::int64_t not_before = resp.not_before();
  while (std::time(nullptr) < not_before)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Asked to announce only (the client, while the cloud still waits), it does not complete.
  {
    grpc::ClientContext ctx;
    v1::RecoverPrimaryRequest req;
    const certs::Bytes encoded = certs::encode_chain({secondary_cert, primary_cert});
    req.set_requester_chain(std::string(encoded.begin(), encoded.end()));
    req.set_signature(secondary.sign(certs::recover_primary_message(primary_cert)));
    req.set_announce_only(true);
    ASSERT_TRUE(ca.stub()->RecoverPrimary(&ctx, req, &resp).ok());
    EXPECT_TRUE(resp.certificate().empty());
    EXPECT_EQ(resp.not_before(), not_before);
  }
  // Another device that never announced does not complete: it starts its own wait.
  ASSERT_TRUE(recover(certified_by_primary(other), other, &resp).ok());
  EXPECT_TRUE(resp.certificate().empty());
  // The announcing secondary does, and every announcement goes with the old primary.
  ASSERT_TRUE(recover(secondary_cert, secondary, &resp).ok());
  const certs::Bytes fresh(resp.certificate().begin(), resp.certificate().end());
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(certs::verify_device_chain({fresh}, root_of(ca), {}, std::time(nullptr)).encryption_key,
            secondary.encryption_key());
  grpc::ClientContext ctx;
  v1::ListPrimaryRecoveriesRequest list;
  list.set_identifier("alice");
  v1::ListPrimaryRecoveriesResponse waiting;
  ASSERT_TRUE(ca.stub()->ListPrimaryRecoveries(&ctx, list, &waiting).ok());
  EXPECT_EQ(waiting.announcements_size(), 0);
  // Asked again, the same certificate: its old chain ends at a revoked primary, and the
  // retry neither waits nor issues anything new.
  v1::RecoverPrimaryResponse again;
  ASSERT_TRUE(recover(secondary_cert, secondary, &again).ok());
  EXPECT_EQ(certs::Bytes(again.certificate().begin(), again.certificate().end()), fresh);
}

// A new device asking to be re-certified for "alice": its signing key, and the mupre key it
// names (a stranger may name another device's).
struct Recertifier {
  const TestCa& ca;
  const Device& signer;
  const Device& keys;

  v1::BeginRecertificationResponse begin() const {
    grpc::ClientContext ctx;
    v1::BeginRecertificationRequest req;
    req.set_identifier("alice");
    const auto spki = signer.spki();
    const auto key = keys.encryption_key();
    req.set_signing_key(std::string(spki.begin(), spki.end()));
    req.set_encryption_key(std::string(key.begin(), key.end()));
    req.set_proof(signer.sign(certs::recertification_proof_message("alice", key)));
    v1::BeginRecertificationResponse resp;
    EXPECT_TRUE(ca.stub()->BeginRecertification(&ctx, req, &resp).ok());
    EXPECT_FALSE(resp.capsule().empty());
    return resp;
  }
  grpc::Status complete(const std::string& ticket, const certs::Bytes& answer,
                        v1::CompleteRecertificationResponse* resp,
                        bool announce_only = false) const {
    grpc::ClientContext ctx;
    v1::CompleteRecertificationRequest req;
    req.set_identifier("alice");
    const auto spki = signer.spki();
    const auto key = keys.encryption_key();
    req.set_signing_key(std::string(spki.begin(), spki.end()));
    req.set_encryption_key(std::string(key.begin(), key.end()));
    req.set_ticket(ticket);
    req.set_answer(std::string(answer.begin(), answer.end()));
    req.set_announce_only(announce_only);
    return ca.stub()->CompleteRecertification(&ctx, req, resp);
  }
  // The right answer, given the key the capsule is for (a recovery chain stands in for it).
  certs::Bytes answer(const v1::BeginRecertificationResponse& challenge,
                      const mupre::SecretKey& opener) const {
    auto capsule = mupre::Ciphertext::decode(
        certs::Bytes(challenge.capsule().begin(), challenge.capsule().end()));
    EXPECT_TRUE(capsule);
    auto k = mupre::decapsulate(opener, *capsule);
    EXPECT_TRUE(k);
    return certs::recertification_answer(k->bytes(), keys.encryption_key());
  }
};

int announcements_for_alice(const TestCa& ca) {
  grpc::ClientContext ctx;
  v1::ListPrimaryRecoveriesRequest list;
  list.set_identifier("alice");
  v1::ListPrimaryRecoveriesResponse waiting;
  EXPECT_TRUE(ca.stub()->ListPrimaryRecoveries(&ctx, list, &waiting).ok());
  return waiting.announcements_size();
}

TEST(CaServer, ReCertificationNeedsTheAnswerOnlyARecoveredDeviceCanGive) {
  TestCa ca;
  const Device primary, recovered, impostor;
  v1::EnrollResponse enrolled;
  ASSERT_TRUE(enroll(ca, primary.enroll_request("alice", ca.invite("alice")), &enrolled).ok());
  const Recertifier genuine{ca, recovered, recovered}, stranger{ca, impostor, impostor};
  // The impostor cannot open a capsule for alice's certified key: a guess is refused.
  v1::CompleteRecertificationResponse cert;
  const auto guessed = stranger.begin();
  EXPECT_EQ(stranger.complete(guessed.ticket(), certs::Bytes(32, 7), &cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The CA signed the capsule for the requester's key, so that the cloud can tell it apart.
  const auto challenge = genuine.begin();
  const certs::Bytes capsule(challenge.capsule().begin(), challenge.capsule().end());
  const certs::Bytes signature(challenge.signature().begin(), challenge.signature().end());
  EXPECT_TRUE(certs::verify_root_signature(
      root_of(ca),
      certs::recertification_challenge_message("alice", recovered.encryption_key(), capsule,
                                               challenge.expires_at()),
      signature));
  EXPECT_FALSE(certs::verify_root_signature(
      root_of(ca),
      certs::recertification_challenge_message("alice", impostor.encryption_key(), capsule,
                                               challenge.expires_at()),
      signature));
  // A device that can open it (here: with the primary's key, which the recovery chain stands
  // in for) is certified, and the old certificate is revoked. Its answer and its ticket are
  // worth nothing to the impostor: both are bound to the keys they were made for.
  const certs::Bytes answer = genuine.answer(challenge, primary.mupre_key);
  EXPECT_EQ(stranger.complete(challenge.ticket(), answer, &cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stranger.complete(guessed.ticket(), answer, &cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const Recertifier borrowed{ca, impostor, recovered};  // the impostor's signature, its key
  EXPECT_EQ(borrowed.complete(challenge.ticket(), answer, &cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // A ticket changed in any byte is refused.
  std::string forged = challenge.ticket();
  forged[forged.size() / 2] ^= 1;
  EXPECT_EQ(genuine.complete(forged, answer, &cert).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // announce_only records the request and certifies nothing, even without a waiting period.
  ASSERT_TRUE(genuine.complete(challenge.ticket(), answer, &cert, true).ok());
  EXPECT_TRUE(cert.certificate().empty());
  EXPECT_EQ(announcements_for_alice(ca), 1);
  ASSERT_TRUE(genuine.complete(challenge.ticket(), answer, &cert).ok());
  const certs::Bytes fresh(cert.certificate().begin(), cert.certificate().end());
  EXPECT_EQ(certs::verify_device_chain({fresh}, root_of(ca), {}, std::time(nullptr)).encryption_key,
            recovered.encryption_key());
  EXPECT_EQ(announcements_for_alice(ca), 0);
  // The old primary's capsule opens nothing any more: challenges are for the current key.
  const auto next = genuine.begin();
  EXPECT_FALSE(mupre::decapsulate(
      primary.mupre_key,
      *mupre::Ciphertext::decode(certs::Bytes(next.capsule().begin(), next.capsule().end()))));
}

// Strangers (any key pair of their own, or naming a recovering device's public key) get
// challenges, but only a right answer is recorded: they cannot fill the places for waiting
// re-certifications, nor replace the one of the device that really recovers.
TEST(CaServer, RecertificationChallengesToStrangersFillNoPlaceAGenuineRecoveryNeeds) {
  TestCa ca("", {"--recovery-wait-seconds", "3600"});
  const Device primary, recovered;
  v1::EnrollResponse enrolled;
  ASSERT_TRUE(enroll(ca, primary.enroll_request("alice", ca.invite("alice")), &enrolled).ok());
  const Recertifier genuine{ca, recovered, recovered};
  const auto challenge = genuine.begin();
  std::vector<Device> strangers(12);
  v1::CompleteRecertificationResponse resp;
  for (std::size_t i = 0; i < strangers.size(); ++i) {
    // Half name the recovering device's own encryption key.
    const Recertifier s{ca, strangers[i], i % 2 == 0 ? strangers[i] : recovered};
    const auto theirs = s.begin();
    EXPECT_EQ(s.complete(theirs.ticket(), certs::Bytes(32, 1), &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(announcements_for_alice(ca), 0);
  // The genuine device's challenge still stands; its right answer starts the waiting period.
  const std::int64_t before = std::time(nullptr);
  const certs::Bytes answer = genuine.answer(challenge, primary.mupre_key);
  ASSERT_TRUE(genuine.complete(challenge.ticket(), answer, &resp).ok());
  EXPECT_TRUE(resp.certificate().empty());
  EXPECT_GE(resp.not_before(), before + 3600);
  EXPECT_EQ(announcements_for_alice(ca), 1);
  // Answering again does not move its period.
  const std::int64_t not_before = resp.not_before();
  const auto again = genuine.begin();
  ASSERT_TRUE(
      genuine.complete(again.ticket(), genuine.answer(again, primary.mupre_key), &resp).ok());
  EXPECT_EQ(resp.not_before(), not_before);
  EXPECT_EQ(announcements_for_alice(ca), 1);
}

// A thief holding alice's stolen primary opens a challenge himself (no cloud needed) just
// before alice's recovery revokes that key. Within the ticket's ten minutes his answer would,
// were the ticket not bound to the certificate its capsule was made for, count against
// alice's new primary (certifying him at once without a waiting period, or taking one of the
// four places with one).
TEST(CaServer, AnAnswerForAReplacedPrimarysCapsuleCountsForNothing) {
  TestCa ca;
  const Device primary, recovered, thief;
  v1::EnrollResponse enrolled;
  ASSERT_TRUE(enroll(ca, primary.enroll_request("alice", ca.invite("alice")), &enrolled).ok());
  const Recertifier genuine{ca, recovered, recovered}, stolen{ca, thief, thief};
  const auto old = stolen.begin();
  const certs::Bytes old_answer = stolen.answer(old, primary.mupre_key);
  const auto challenge = genuine.begin();
  v1::CompleteRecertificationResponse cert;
  ASSERT_TRUE(
      genuine.complete(challenge.ticket(), genuine.answer(challenge, primary.mupre_key), &cert)
          .ok());
  ASSERT_FALSE(cert.certificate().empty());
  v1::CompleteRecertificationResponse theirs;
  const grpc::Status s = stolen.complete(old.ticket(), old_answer, &theirs);
  EXPECT_FALSE(s.ok()) << "the answer for the revoked primary's capsule was accepted"
                       << (theirs.certificate().empty() ? "" : " and certified the thief");
  EXPECT_EQ(announcements_for_alice(ca), 0);
}

TEST(CaServer, RootKeyInAPkcs11TokenNeverTouchesTheDisk) {
  char tmpl[] = "/tmp/hopbox-ca-token-XXXXXX";
  const std::filesystem::path dir = mkdtemp(tmpl);
  hopbox::testing::configure_softhsm(dir);
  hopbox::testing::init_softhsm_token("ca", "4321");
  setenv("HOPBOX_CA_PIN", "4321", 1);
  {
    TestCa ca(std::string("--module ") + SOFTHSM_MODULE + " --token ca");
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(ca.data()) / "ca-key.pem"));
    EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(ca.data()) / "ca-token.json"));
    const Device alice;
    v1::EnrollResponse resp;
    ASSERT_TRUE(enroll(ca, alice.enroll_request("alice", ca.invite("alice")), &resp).ok());
    const certs::Bytes cert(resp.certificate().begin(), resp.certificate().end());
    EXPECT_EQ(certs::verify_device_chain({cert}, root_of(ca), {}, std::time(nullptr)).identifier,
              "alice");
    // Without the PIN the CA does not start.
    unsetenv("HOPBOX_CA_PIN");
    const auto [code, out] =
        ca.operator_cli("serve --data-dir " + ca.data() + " --listen 127.0.0.1:0 --port-file " +
                        (fs::path(ca.data()).parent_path() / "port2").string());
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(ca.last_operator_error().find("HOPBOX_CA_PIN"), std::string::npos);
  }
  unsetenv("SOFTHSM2_CONF");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hopbox_ca
