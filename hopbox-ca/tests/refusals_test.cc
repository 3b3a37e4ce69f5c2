// Every INVALID_ARGUMENT / PERMISSION_DENIED / NOT_FOUND refusal of hopbox-ca (issue 14): each
// test drives a real hopbox-ca process with the smallest request that reaches exactly one
// check, and asserts both the status code and a fragment of that check's message.
// docs/testing.md, "Refusals", lists the sites.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include <ctime>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "certs/certificate.h"
#include "certs/requests.h"
#include "hopbox/testing/refused.h"
#include "mupre/keys.h"
#include "mupre/pre.h"
#include "test_ca.h"
#include "test_device.h"

namespace hopbox_ca {
namespace {

namespace certs = hopbox::certs;
namespace v1 = hopbox::v1;
using grpc::StatusCode;
using test::TestCa;

std::string str(const certs::Bytes& b) {
  return std::string(b.begin(), b.end());
}

using Device = test::TestDevice;

class Refusals : public ::testing::Test {
 protected:
  explicit Refusals(std::vector<std::string> serve_args = {}) : ca_("", serve_args) {}

  template <class Req, class Resp>
  grpc::Status call(grpc::Status (v1::CertificateAuthority::Stub::*method)(grpc::ClientContext*,
                                                                           const Req&, Resp*),
                    const Req& req) {
    grpc::ClientContext ctx;
    Resp resp;
    return (ca_.stub().get()->*method)(&ctx, req, &resp);
  }

  // `d` enrolled as alice's primary; its certificate.
  certs::Bytes enroll(const Device& d, const std::string& id) {
    grpc::ClientContext ctx;
    v1::EnrollResponse resp;
    const grpc::Status s = ca_.stub()->Enroll(&ctx, d.enroll_request(id, ca_.invite(id)), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return certs::Bytes(resp.certificate().begin(), resp.certificate().end());
  }
  // A secondary device of `id`, certified by its primary `by` (certificate `by_cert`).
  certs::Bytes secondary(const Device& d, const std::string& id, const Device& by,
                         const certs::Bytes& by_cert) {
    const std::int64_t now = std::time(nullptr);
    return certs::issue_certificate(
        {id, d.spki(), d.encryption_key(), serial_++, now - 60, now + 3600}, by_cert, by.signer());
  }

  grpc::Status revoke(const Device& by, const std::vector<certs::Bytes>& chain,
                      const certs::Bytes& target) {
    v1::RevokeDeviceRequest req;
    req.set_certificate(str(target));
    req.set_requester_chain(str(certs::encode_chain(chain)));
    req.set_signature(by.sign(certs::revocation_message(target)));
    return call(&v1::CertificateAuthority::Stub::RevokeDevice, req);
  }
  grpc::Status recover(const Device& by, const std::vector<certs::Bytes>& chain) {
    v1::RecoverPrimaryRequest req;
    req.set_requester_chain(str(certs::encode_chain(chain)));
    req.set_signature(by.sign(certs::recover_primary_message(chain.back())));
    return call(&v1::CertificateAuthority::Stub::RecoverPrimary, req);
  }
  grpc::Status cancel(const Device& by, const std::vector<certs::Bytes>& chain,
                      const std::string& id) {
    v1::CancelPrimaryRecoveryRequest req;
    req.set_requester_chain(str(certs::encode_chain(chain)));
    req.set_signature(by.sign(certs::cancel_primary_recovery_message(id)));
    return call(&v1::CertificateAuthority::Stub::CancelPrimaryRecovery, req);
  }
  grpc::Status confirm(const Device& by, const certs::Bytes& cert) {
    v1::ConfirmEnrollmentRequest req;
    req.set_certificate(str(cert));
    req.set_signature(by.sign(certs::enrollment_complete_message(cert)));
    return call(&v1::CertificateAuthority::Stub::ConfirmEnrollment, req);
  }

  TestCa ca_;
  std::int64_t serial_ = 100;
};

// With a waiting period, so that a recovery announcement stands.
class RefusalsWithAWait : public Refusals {
 protected:
  RefusalsWithAWait() : Refusals({"--recovery-wait-seconds", "3600"}) {}
};

const std::string kLongIdentifier(1025, 'i');

// ---- Enrollment ----

struct EnrollCase {
  const char* name;
  std::function<void(v1::EnrollRequest&)> spoil;
  StatusCode code;
  const char* fragment;
};

const EnrollCase kBadEnrollments[] = {
    {"AnIdentifierOver1024Bytes", [](auto& r) { r.set_identifier(kLongIdentifier); },
     StatusCode::INVALID_ARGUMENT, "a field is larger than allowed"},
    {"AnEnrollmentCodeOver64Bytes", [](auto& r) { r.set_enrollment_code(std::string(65, 'c')); },
     StatusCode::INVALID_ARGUMENT, "a field is larger than allowed"},
    {"ASigningKeyOver512Bytes", [](auto& r) { r.set_signing_key(std::string(513, 'k')); },
     StatusCode::INVALID_ARGUMENT, "a field is larger than allowed"},
    {"AProofOver128Bytes", [](auto& r) { r.set_proof(std::string(129, 'p')); },
     StatusCode::INVALID_ARGUMENT, "a field is larger than allowed"},
    {"AnEncryptionKeyThatIsNotMupre", [](auto& r) { r.set_encryption_key("junk"); },
     StatusCode::INVALID_ARGUMENT, "encryption_key: not a mupre public key"},
    {"AProofByAnotherKey",
     [](auto& r) {
       const Device other;
       r.set_signing_key(str(other.spki()));
     },
     StatusCode::PERMISSION_DENIED, "proof: not a signature by signing_key"},
    {"TheWrongCode", [](auto& r) { r.set_enrollment_code("WRONG-CODE"); },
     StatusCode::PERMISSION_DENIED, "the enrollment code is not valid for this identifier"},
    {"NoInvitation", [](auto& r) { r.set_identifier("bob"); }, StatusCode::PERMISSION_DENIED,
     "the enrollment code is not valid for this identifier"},
};

class BadEnrollment : public Refusals, public ::testing::WithParamInterface<EnrollCase> {};

TEST_P(BadEnrollment, IsRefused) {
  const Device d;
  v1::EnrollRequest req = d.enroll_request("alice", ca_.invite("alice"));
  const std::string identifier = req.identifier();
  GetParam().spoil(req);
  if (req.identifier() != identifier && req.identifier().size() <= 1024) {
    // Signed for the identifier asked for: only the missing invitation refuses it.
    req.set_proof(d.sign(certs::enrollment_proof_message(req.identifier(), d.encryption_key())));
  }
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::Enroll, req), GetParam().code,
                 GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(Refusals, BadEnrollment, ::testing::ValuesIn(kBadEnrollments),
                         [](const auto& c) { return std::string(c.param.name); });

TEST_F(Refusals, AnExpiredEnrollmentCodeIsDenied) {
  const Device d;
  const std::string code = ca_.invite("alice");
  ASSERT_FALSE(code.empty());
  {
    // The operator's code ran out (the shortest is an hour): as if that hour had passed.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((std::filesystem::path(ca_.data()) / "ca.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 10000);
    const int rc = sqlite3_exec(db, "UPDATE invites SET expires_at = 1", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK);
  }
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::Enroll, d.enroll_request("alice", code)),
                 StatusCode::PERMISSION_DENIED, "the enrollment code has expired");
}

TEST_F(Refusals, ConfirmingACertificateOver4KiBIsInvalid) {
  const Device d;
  EXPECT_REFUSED(confirm(d, certs::Bytes(4097, 0x30)), StatusCode::INVALID_ARGUMENT,
                 "a field is larger than allowed");
}

TEST_F(Refusals, ConfirmingWithASignatureOver128BytesIsInvalid) {
  const Device d;
  const certs::Bytes cert = enroll(d, "alice");
  v1::ConfirmEnrollmentRequest req;
  req.set_certificate(str(cert));
  req.set_signature(std::string(129, 's'));
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::ConfirmEnrollment, req),
                 StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
}

TEST_F(Refusals, ConfirmingSomethingThatIsNotACertificateIsInvalid) {
  const Device d;
  EXPECT_REFUSED(confirm(d, certs::Bytes{0x30, 0x00}), StatusCode::INVALID_ARGUMENT,
                 "certificate: certificate: not valid DER");
}

TEST_F(Refusals, ConfirmingWithAnotherKeysSignatureIsDenied) {
  const Device d, other;
  const certs::Bytes cert = enroll(d, "alice");
  EXPECT_REFUSED(confirm(other, cert), StatusCode::PERMISSION_DENIED, "signature: does not verify");
}

TEST_F(Refusals, ConfirmingASecondarysCertificateIsDenied) {
  const Device alice, phone;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  EXPECT_REFUSED(confirm(phone, phone_cert), StatusCode::PERMISSION_DENIED,
                 "not the identifier's current certificate from this CA");
}

// ---- Revocation ----

TEST_F(Refusals, ARevokedDeviceRevokesNothing) {
  const Device alice, phone;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  ASSERT_TRUE(revoke(alice, {alice_cert}, phone_cert).ok());
  EXPECT_REFUSED(revoke(phone, {phone_cert, alice_cert}, phone_cert), StatusCode::PERMISSION_DENIED,
                 "requester: ");
}

TEST_F(Refusals, ADeviceRevokesOnlyDevicesOfItsOwnUser) {
  const Device alice, phone, bob;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes bob_cert = enroll(bob, "bob");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  EXPECT_REFUSED(revoke(bob, {bob_cert}, phone_cert), StatusCode::PERMISSION_DENIED,
                 "a device may revoke only devices of its own user");
}

TEST_F(Refusals, ARevocationSignedByAKeyTheChainDoesNotHoldIsDenied) {
  const Device alice, phone, bob;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  EXPECT_REFUSED(revoke(bob, {alice_cert}, phone_cert), StatusCode::PERMISSION_DENIED,
                 "signature: does not verify");
}

TEST_F(Refusals, ThePrimaryIsNeverRevokedAlone) {
  const Device alice;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  EXPECT_REFUSED(revoke(alice, {alice_cert}, alice_cert), StatusCode::PERMISSION_DENIED,
                 "the primary's certificate is replaced by a recovery, never revoked alone");
}

TEST_F(Refusals, ASecondaryDoesNotRevokeAnotherSecondary) {
  const Device alice, phone, tablet;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  const certs::Bytes tablet_cert = secondary(tablet, "alice", alice, alice_cert);
  EXPECT_REFUSED(revoke(phone, {phone_cert, alice_cert}, tablet_cert),
                 StatusCode::PERMISSION_DENIED,
                 "only the primary device revokes another device of the user");
}

TEST_F(Refusals, RevokingSomethingThatIsNotACertificateIsInvalid) {
  const Device alice;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  EXPECT_REFUSED(revoke(alice, {alice_cert}, certs::Bytes{0x30, 0x00}),
                 StatusCode::INVALID_ARGUMENT, "certificate: not valid DER");
}

// ---- Recovery of the primary (R1) ----

TEST_F(Refusals, ARecoveryChainWithoutThePrimaryIsInvalid) {
  const Device alice;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  EXPECT_REFUSED(recover(alice, {alice_cert}), StatusCode::INVALID_ARGUMENT,
                 "requester_chain: the device and the primary that certified it");
}

TEST_F(Refusals, ARevokedSecondaryDoesNotRecoverThePrimary) {
  const Device alice, phone;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  ASSERT_TRUE(revoke(alice, {alice_cert}, phone_cert).ok());
  EXPECT_REFUSED(recover(phone, {phone_cert, alice_cert}), StatusCode::PERMISSION_DENIED,
                 "requester: ");
}

TEST_F(Refusals, ARecoverySignedByAnotherDeviceIsDenied) {
  const Device alice, phone, tablet;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  EXPECT_REFUSED(recover(tablet, {phone_cert, alice_cert}), StatusCode::PERMISSION_DENIED,
                 "signature: does not verify");
}

TEST_F(Refusals, ARecoveryChainThatIsNotDerIsInvalid) {
  v1::RecoverPrimaryRequest req;
  req.set_requester_chain("junk");
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::RecoverPrimary, req),
                 StatusCode::INVALID_ARGUMENT, "certificate chain: not a sequence of DER");
}

TEST_F(Refusals, CancellingWithAnEmptyChainIsInvalid) {
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::CancelPrimaryRecovery,
                      v1::CancelPrimaryRecoveryRequest()),
                 StatusCode::INVALID_ARGUMENT, "requester_chain: empty");
}

TEST_F(Refusals, ARevokedDeviceCancelsNothing) {
  const Device alice, phone;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  ASSERT_TRUE(revoke(alice, {alice_cert}, phone_cert).ok());
  EXPECT_REFUSED(cancel(phone, {phone_cert, alice_cert}, "alice"), StatusCode::PERMISSION_DENIED,
                 "requester: ");
}

TEST_F(Refusals, ACancellationForAnotherIdentifierDoesNotVerify) {
  const Device alice;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  EXPECT_REFUSED(cancel(alice, {alice_cert}, "bob"), StatusCode::PERMISSION_DENIED,
                 "signature: does not verify");
}

TEST_F(Refusals, ACancellationChainThatIsNotDerIsInvalid) {
  v1::CancelPrimaryRecoveryRequest req;
  req.set_requester_chain("junk");
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::CancelPrimaryRecovery, req),
                 StatusCode::INVALID_ARGUMENT, "certificate chain: not a sequence of DER");
}

TEST_F(RefusalsWithAWait, ADeviceThatAnnouncedARecoveryCannotCancelRecoveries) {
  const Device alice, phone;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  const certs::Bytes phone_cert = secondary(phone, "alice", alice, alice_cert);
  ASSERT_TRUE(recover(phone, {phone_cert, alice_cert}).ok());  // announced: it waits
  EXPECT_REFUSED(cancel(phone, {phone_cert, alice_cert}, "alice"), StatusCode::PERMISSION_DENIED,
                 "a device that announced a recovery cannot cancel recoveries");
}

TEST_F(Refusals, ListingTheRecoveriesOfAnIdentifierOver1024BytesIsInvalid) {
  v1::ListPrimaryRecoveriesRequest req;
  req.set_identifier(kLongIdentifier);
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::ListPrimaryRecoveries, req),
                 StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
}

// ---- Re-certification of a recovered device (R2/R3) ----

TEST_F(Refusals, BeginningARecertificationForAnIdentifierOver1024BytesIsInvalid) {
  const Device d;
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::BeginRecertification,
                      d.recertification_request(kLongIdentifier)),
                 StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
}

TEST_F(Refusals, BeginningARecertificationWithAProofByAnotherKeyIsDenied) {
  const Device alice, d, other;
  enroll(alice, "alice");
  v1::BeginRecertificationRequest req = d.recertification_request("alice");
  req.set_signing_key(str(other.spki()));
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::BeginRecertification, req),
                 StatusCode::PERMISSION_DENIED, "proof: not a signature by signing_key");
}

TEST_F(Refusals, BeginningARecertificationOfAnUnknownIdentifierIsNotFound) {
  const Device d;
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::BeginRecertification,
                      d.recertification_request("nobody")),
                 StatusCode::NOT_FOUND, "no valid certificate for this identifier");
}

v1::CompleteRecertificationRequest completion(const Device& d, const std::string& id,
                                              const std::string& ticket,
                                              const certs::Bytes& answer) {
  v1::CompleteRecertificationRequest req;
  req.set_identifier(id);
  req.set_signing_key(str(d.spki()));
  req.set_encryption_key(str(d.encryption_key()));
  req.set_ticket(ticket);
  req.set_answer(str(answer));
  return req;
}

TEST_F(Refusals, CompletingARecertificationWithAnAnswerOver64BytesIsInvalid) {
  const Device d;
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::CompleteRecertification,
                      completion(d, "alice", "t", certs::Bytes(65, 1))),
                 StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
}

TEST_F(Refusals, CompletingARecertificationOfAnUnknownIdentifierIsNotFound) {
  const Device d;
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::CompleteRecertification,
                      completion(d, "nobody", "t", certs::Bytes(32, 1))),
                 StatusCode::NOT_FOUND, "no valid certificate for this identifier");
}

TEST_F(Refusals, CompletingARecertificationWithAWrongAnswerIsDenied) {
  const Device alice, d;
  enroll(alice, "alice");
  grpc::ClientContext ctx;
  v1::BeginRecertificationResponse challenge;
  ASSERT_TRUE(
      ca_.stub()->BeginRecertification(&ctx, d.recertification_request("alice"), &challenge).ok());
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::CompleteRecertification,
                      completion(d, "alice", challenge.ticket(), certs::Bytes(32, 7))),
                 StatusCode::PERMISSION_DENIED, "not this CA's ticket for these keys");
}

TEST_F(Refusals, ARecertificationChallengeMadeBeforeACancellationIsVoid) {
  const Device alice, d;
  const certs::Bytes alice_cert = enroll(alice, "alice");
  grpc::ClientContext ctx;
  v1::BeginRecertificationResponse challenge;
  ASSERT_TRUE(
      ca_.stub()->BeginRecertification(&ctx, d.recertification_request("alice"), &challenge).ok());
  // The right answer: the capsule opened with alice's certified key.
  const auto capsule = mupre::Ciphertext::decode(
      certs::Bytes(challenge.capsule().begin(), challenge.capsule().end()));
  ASSERT_TRUE(capsule);
  const auto k = mupre::decapsulate(alice.mupre_key, *capsule);
  ASSERT_TRUE(k);
  const certs::Bytes answer = certs::recertification_answer(k->bytes(), d.encryption_key());
  ASSERT_TRUE(cancel(alice, {alice_cert}, "alice").ok());
  EXPECT_REFUSED(call(&v1::CertificateAuthority::Stub::CompleteRecertification,
                      completion(d, "alice", challenge.ticket(), answer)),
                 StatusCode::PERMISSION_DENIED,
                 "the account cancelled its recoveries since this challenge was made");
}

}  // namespace
}  // namespace hopbox_ca
