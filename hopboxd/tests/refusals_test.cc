// Every INVALID_ARGUMENT / PERMISSION_DENIED / NOT_FOUND refusal of hopboxd (issue 14): each
// test drives a real hopboxd process with the smallest request that reaches exactly one check,
// and asserts both the status code and a fragment of that check's message (which proves which
// check fired, not only that some error happened). docs/testing.md, "Refusals", lists the
// sites and those not covered here.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "certs/certificate.h"
#include "hopbox/testing/refused.h"
#include "hopbox/threshold.h"
#include "mupre/pre.h"
#include "mupre/shamir.h"
#include "test_ca.h"
#include "test_client.h"

namespace hopboxd::test {
namespace {

using grpc::StatusCode;

template <class Bytes>
std::string as_string(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A level-1 capsule for `to`, encoded.
std::string capsule_for(const mupre::PublicKey& to) {
  return as_string(mupre::encapsulate(to).capsule.encode());
}

// A level-2 capsule: one for `from`'s key, re-encrypted once towards `to`.
std::string second_level_capsule(const TestDevice& from, const TestDevice& to) {
  const auto rk = mupre::make_rekey(*from.key, to.key->public_key());
  const auto c = mupre::reencrypt(*rk, mupre::encapsulate(from.key->public_key()).capsule);
  return as_string(c->encode());
}

// Everything an honest Upload sends, so that a test can spoil exactly one part.
struct UploadParts {
  v1::UploadHeader header;
  std::string body;
  std::string digest;
};

UploadParts honest_upload(const TestDevice& d, const std::string& owner, const std::string& item) {
  const mupre::ItemBinding binding{item, owner};
  const mupre::Encapsulation e = mupre::encapsulate(d.key->public_key());
  const mupre::DataKey dk = mupre::DataKey::generate();
  const auto w = mupre::wrap_data_key(e.key, dk, binding);
  const std::vector<std::uint8_t> meta = {'{', '}'};
  const auto m = mupre::seal_metadata(dk, binding, meta);
  std::istringstream in("the payload");
  std::ostringstream out;
  EXPECT_EQ(mupre::seal_payload(dk, binding, in, out, 4096), mupre::Error::kOk);
  const std::string sealed = out.str();
  UploadParts p;
  p.header.set_item_id(item);
  p.header.set_capsule(as_string(e.capsule.encode()));
  p.header.set_wrapped_key(as_string(*w));
  p.header.set_metadata(as_string(*m));
  p.header.set_payload_header(sealed.substr(0, mupre::kPayloadHeaderSize));
  p.body = sealed.substr(mupre::kPayloadHeaderSize);
  p.digest.assign(32, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(p.digest.data()),
                     reinterpret_cast<const unsigned char*>(p.body.data()), p.body.size());
  return p;
}

v1::UploadRequest header_message(const v1::UploadHeader& h) {
  v1::UploadRequest m;
  *m.mutable_header() = h;
  return m;
}
v1::UploadRequest payload_message(const std::string& bytes) {
  v1::UploadRequest m;
  m.set_payload(bytes);
  return m;
}
v1::UploadRequest commit_message(const std::string& digest, const std::string& signature = "") {
  v1::UploadRequest m;
  m.mutable_commit()->set_payload_sha256(digest);
  m.mutable_commit()->set_signature(signature);
  return m;
}

class Refusals : public ::testing::Test {
 protected:
  // with_ca: a real hopbox-ca too, which the service asks about every device (--ca).
  explicit Refusals(bool with_ca = false)
      : ca_(with_ca ? std::make_unique<hopbox_ca::test::TestCa>() : nullptr),
        server_(server_args(ca_.get())) {}
  static std::vector<std::string> server_args(const hopbox_ca::test::TestCa* ca) {
    std::vector<std::string> args = {"--recovery-wait-seconds", "0"};
    if (ca != nullptr) {
      args.insert(args.end(), {"--ca", ca->address(), "--ca-root", ca->root_pem().string(),
                               "--revocation-refresh", "1"});
    }
    return args;
  }
  void SetUp() override { stub_ = server_.stub(); }

  void account(const std::string& user, TestDevice& d) {
    const grpc::Status s = create_account(*stub_, user, d);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  void device(const TestDevice& approver, TestDevice& d) {
    const grpc::Status s = add_device(*stub_, approver, d);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  void upload(const TestDevice& d, const std::string& owner, const std::string& item) {
    const grpc::Status s = upload_item(*stub_, d, owner, item, "words");
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  void share(const TestDevice& from, const TestDevice& to) {
    const grpc::Status s = install_rekey(*stub_, from, to, v1::REKEY_KIND_SHARE, {}, nullptr);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // `protector`'s account registers `key` as a recovery key for `user` (whose primary invites).
  void recovery_key(const TestDevice& user_primary, const std::string& user,
                    const TestDevice& protector, const std::string& protector_user,
                    TestDevice& key) {
    const grpc::Status s = register_recovery_key(
        *stub_, protector, user, make_invitation(user_primary, user, protector_user), key);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // A new device asking to recover `user`'s account, signed in.
  void pending(const std::string& user, const std::string& via, TestDevice& d) {
    grpc::Status s = request_recovery(*stub_, user, {via}, d);
    ASSERT_TRUE(s.ok()) << s.error_message();
    s = d.login(*stub_);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // `secondary` takes over from its account's primary (R1; no wait on this server).
  void take_over(const TestDevice& secondary, const TestDevice& primary) {
    {
      grpc::ClientContext ctx;
      secondary.authorize(ctx);
      v1::AnnouncePromotionResponse resp;
      const grpc::Status s = stub_->AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    v1::PromoteDeviceRequest req;
    req.set_lost_device_id(primary.id);
    const grpc::Status s = call(&v1::Hopbox::Stub::PromoteDevice, &secondary, req);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  // One unary call, as `d` (or unauthenticated when null).
  template <class Req, class Resp>
  grpc::Status call(grpc::Status (v1::Hopbox::Stub::*method)(grpc::ClientContext*, const Req&,
                                                             Resp*),
                    const TestDevice* d, const Req& req) {
    grpc::ClientContext ctx;
    if (d != nullptr) d->authorize(ctx);
    Resp resp;
    return (stub_.get()->*method)(&ctx, req, &resp);
  }

  // An Upload stream of exactly these messages.
  grpc::Status upload_messages(const TestDevice& d, const std::vector<v1::UploadRequest>& msgs) {
    grpc::ClientContext ctx;
    d.authorize(ctx);
    v1::UploadResponse resp;
    auto writer = stub_->Upload(&ctx, &resp);
    for (const auto& m : msgs) {
      if (!writer->Write(m)) break;  // the service answered already
    }
    writer->WritesDone();
    return writer->Finish();
  }

  grpc::Status download(const TestDevice& d, const std::string& owner, const std::string& item) {
    std::string plain;
    return download_item(*stub_, d, owner, item, plain);
  }

  // InstallReKey of a key from `from` (a secret key the test holds) to `to`, sent by `caller`.
  grpc::Status install(const TestDevice& caller, const mupre::SecretKey& from,
                       const mupre::PublicKey& to, v1::ReKeyKind kind,
                       const v1::AccessPolicy& policy = {},
                       const std::string& protected_user = "") {
    v1::InstallReKeyRequest req;
    req.set_rekey(as_string(mupre::make_rekey(from, to)->encode()));
    req.set_kind(kind);
    *req.mutable_policy() = policy;
    req.set_protected_user(protected_user);
    return call(&v1::Hopbox::Stub::InstallReKey, &caller, req);
  }

  grpc::Status refresh(const TestDevice& d, const std::string& owner, const std::string& item,
                       const std::function<void(v1::RefreshItemRequest&)>& spoil) {
    v1::RefreshItemRequest req;
    req.set_owner(owner);
    req.set_item_id(item);
    req.set_expected_version(1);
    const mupre::Encapsulation e = mupre::encapsulate(d.key->public_key());
    req.set_capsule(as_string(e.capsule.encode()));
    req.set_wrapped_key(as_string(
        *mupre::wrap_data_key(e.key, mupre::DataKey::generate(), mupre::ItemBinding{item, owner})));
    spoil(req);
    return call(&v1::Hopbox::Stub::RefreshItem, &d, req);
  }

  // A RequestRecovery for `user`, honest but for `spoil`.
  grpc::Status recovery_request(const std::string& user,
                                const std::function<void(v1::RequestRecoveryRequest&)>& spoil) {
    TestDevice d;
    v1::RequestRecoveryRequest req;
    req.set_user(user);
    req.set_device_name("new");
    *req.mutable_keys() = d.keys();
    req.add_via("bob");
    req.set_requested_at(now());
    const std::string pk = d.keys().encryption_key();
    const auto msg = hopbox::certs::recovery_request_message(
        user, "new", std::vector<std::uint8_t>(pk.begin(), pk.end()), req.requested_at(), {"bob"});
    req.set_signature(d.sign_message(as_string(msg)));
    spoil(req);
    return call(&v1::Hopbox::Stub::RequestRecovery, nullptr, req);
  }

  // A threshold set-up (t = 1) for alice by `alice_primary`, with bob's recovery key `key`
  // as its one protector, that passes every check of PutThresholdRecovery unless spoiled.
  v1::ThresholdRecovery threshold_setup(const TestDevice& key, unsigned t = 1) {
    v1::ThresholdRecovery config;
    config.set_threshold(1);
    auto& p = *config.add_protectors();
    p.set_user("bob");
    p.set_recovery_key_device(key.id);
    const auto sharing = mupre::split(mupre::bls12_381::scalar_random_nonzero(), t, t);
    p.set_commitments(as_string(sharing->commitments.encode()));
    p.set_shares_capsule(capsule_for(key.key->public_key()));
    p.set_sealed_rekey(std::string(hopbox::threshold::kOverhead + mupre::kReKeySize, 'r'));
    p.set_shares_sealed(std::string(hopbox::threshold::kOverhead + mupre::kShareSize, 's'));
    return config;
  }
  grpc::Status put_threshold(const TestDevice& d, const v1::ThresholdRecovery& config) {
    return call(&v1::Hopbox::Stub::PutThresholdRecovery, &d, config);
  }
  // alice (a0) protected by bob (b0, whose recovery key for alice is `key`), with a set-up.
  void protected_alice(TestDevice& a0, TestDevice& b0, TestDevice& key) {
    account("alice", a0);
    account("bob", b0);
    recovery_key(a0, "alice", b0, "bob", key);
    const grpc::Status s = put_threshold(a0, threshold_setup(key));
    ASSERT_TRUE(s.ok()) << s.error_message();
  }

  std::unique_ptr<hopbox_ca::test::TestCa> ca_;
  TestServer server_;
  std::unique_ptr<v1::Hopbox::Stub> stub_;
};

const std::string kTooLargeChain(64 * 1024 + 1, 'c');

// ---- Sessions and the preamble of every authenticated call ----

TEST_F(Refusals, ADeviceReplacedByARecoveryIsLockedOutOfItsSession) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  take_over(a1, a0);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::ListItems, &a0, v1::ListItemsRequest()),
                 StatusCode::PERMISSION_DENIED, "this device was replaced by a recovery");
}

TEST_F(Refusals, ADeviceReplacedByARecoveryCannotBeginASession) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  take_over(a1, a0);
  v1::BeginSessionRequest req;
  req.set_device_id(a0.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::BeginSession, nullptr, req), StatusCode::PERMISSION_DENIED,
                 "this device was replaced by a recovery");
}

TEST_F(Refusals, ADeviceWaitingForItsRecoveryCanOnlyDoWhatTheRecoveryNeeds) {
  TestDevice a0, b0, key, p;
  account("alice", a0);
  account("bob", b0);
  recovery_key(a0, "alice", b0, "bob", key);
  pending("alice", "bob", p);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::ListItems, &p, v1::ListItemsRequest()),
                 StatusCode::PERMISSION_DENIED, "this device is waiting for its recovery");
}

TEST_F(Refusals, BeginningASessionForAnUnknownDeviceIsNotFound) {
  v1::BeginSessionRequest req;
  req.set_device_id(987654);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::BeginSession, nullptr, req), StatusCode::NOT_FOUND,
                 "no such device");
}

TEST_F(Refusals, ARecoveryKeyDoesNotSignIn) {
  TestDevice a0, b0, key;
  account("alice", a0);
  account("bob", b0);
  recovery_key(a0, "alice", b0, "bob", key);
  v1::BeginSessionRequest req;
  req.set_device_id(key.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::BeginSession, nullptr, req), StatusCode::PERMISSION_DENIED,
                 "a recovery key does not sign in");
}

TEST_F(Refusals, CompletingASessionWithAChallengeOfTheWrongLengthIsInvalid) {
  TestDevice a0;
  account("alice", a0);
  v1::CompleteSessionRequest req;
  req.set_device_id(a0.id);
  req.set_challenge(std::string(31, 'c'));
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::CompleteSession, nullptr, req),
                 StatusCode::INVALID_ARGUMENT, "challenge must be 32 bytes");
}

// ---- Accounts and devices ----

struct KeysCase {
  const char* name;
  std::function<void(v1::DeviceKeys&)> spoil;
  const char* fragment;
};
void PrintTo(const KeysCase& c, std::ostream* os) {
  *os << c.name;
}

const KeysCase kBadKeys[] = {
    {"ASigningKeyThatIsNotP256", [](v1::DeviceKeys& k) { k.set_signing_key("not a key"); },
     "keys.signing_key: not an ECDSA P-256"},
    {"AnEncryptionKeyThatIsNotMupre", [](v1::DeviceKeys& k) { k.set_encryption_key("not a key"); },
     "keys.encryption_key: "},
    {"ACertificateChainOver64KiB",
     [](v1::DeviceKeys& k) { k.set_certificate_chain(kTooLargeChain); },
     "keys.certificate_chain: too large"},
};

class BadKeys : public Refusals, public ::testing::WithParamInterface<KeysCase> {};

TEST_P(BadKeys, CreatingAnAccountWithThemIsInvalid) {
  TestDevice d;
  v1::CreateAccountRequest req;
  req.set_user("alice");
  req.set_device_name("laptop");
  *req.mutable_keys() = d.keys();
  GetParam().spoil(*req.mutable_keys());
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::CreateAccount, nullptr, req), StatusCode::INVALID_ARGUMENT,
                 GetParam().fragment);
}

TEST_P(BadKeys, AddingADeviceWithThemIsInvalid) {
  TestDevice a0, d;
  account("alice", a0);
  v1::AddDeviceRequest req;
  req.set_device_name("phone");
  *req.mutable_keys() = d.keys();
  GetParam().spoil(*req.mutable_keys());
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::AddDevice, &a0, req), StatusCode::INVALID_ARGUMENT,
                 GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(Refusals, BadKeys, ::testing::ValuesIn(kBadKeys),
                         [](const auto& c) { return std::string(c.param.name); });

TEST_F(Refusals, AnAccountNameWithAControlCharacterIsInvalid) {
  TestDevice d;
  v1::CreateAccountRequest req;
  req.set_user(
      "ali\x01"
      "ce");
  req.set_device_name("laptop");
  *req.mutable_keys() = d.keys();
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::CreateAccount, nullptr, req), StatusCode::INVALID_ARGUMENT,
                 "user: 1 to 255 bytes");
}

TEST_F(Refusals, AnAccountWithAnEmptyDeviceNameIsInvalid) {
  TestDevice d;
  v1::CreateAccountRequest req;
  req.set_user("alice");
  *req.mutable_keys() = d.keys();
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::CreateAccount, nullptr, req), StatusCode::INVALID_ARGUMENT,
                 "device_name: 1 to 255 bytes");
}

TEST_F(Refusals, AddingADeviceWithAnEmptyNameIsInvalid) {
  TestDevice a0, d;
  account("alice", a0);
  v1::AddDeviceRequest req;
  *req.mutable_keys() = d.keys();
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::AddDevice, &a0, req), StatusCode::INVALID_ARGUMENT,
                 "device_name: 1 to 255 bytes");
}

TEST_F(Refusals, ListingTheDevicesOfAnUnknownUserIsNotFound) {
  TestDevice a0;
  account("alice", a0);
  v1::ListDevicesRequest req;
  req.set_user("nobody");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::ListDevices, &a0, req), StatusCode::NOT_FOUND,
                 "no such user");
}

TEST_F(Refusals, APairingRequestWithAnEmptyDeviceNameIsInvalid) {
  TestDevice a0;
  account("alice", a0);
  v1::RequestPairingRequest req;
  req.set_user("alice");
  req.set_pairing_code("code");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::RequestPairing, nullptr, req),
                 StatusCode::INVALID_ARGUMENT, "device_name: 1 to 255 bytes");
}

TEST_F(Refusals, APairingRequestWithoutACodeIsInvalid) {
  TestDevice a0;
  account("alice", a0);
  v1::RequestPairingRequest req;
  req.set_user("alice");
  req.set_device_name("phone");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::RequestPairing, nullptr, req),
                 StatusCode::INVALID_ARGUMENT, "pairing_code: 1 to 1024 bytes");
}

TEST_F(Refusals, APairingRequestToAnUnknownUserIsNotFound) {
  v1::RequestPairingRequest req;
  req.set_user("nobody");
  req.set_device_name("phone");
  req.set_pairing_code("code");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::RequestPairing, nullptr, req), StatusCode::NOT_FOUND,
                 "no such user");
}

TEST_F(Refusals, RemovingAnotherAccountsDeviceIsNotFound) {
  TestDevice a0, b0, b1;
  account("alice", a0);
  account("bob", b0);
  device(b0, b1);
  v1::RemoveDeviceRequest req;
  req.set_device_id(b1.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::RemoveDevice, &a0, req), StatusCode::NOT_FOUND,
                 "no such device in this account");
}

TEST_F(Refusals, OnlyThePrimaryRemovesARecoveryUser) {
  TestDevice a0, a1, b0, key;
  account("alice", a0);
  device(a0, a1);
  account("bob", b0);
  recovery_key(a0, "alice", b0, "bob", key);
  v1::RemoveDeviceRequest req;
  req.set_device_id(key.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::RemoveDevice, &a1, req), StatusCode::PERMISSION_DENIED,
                 "only the primary removes a recovery user");
}

TEST_F(Refusals, OnlyThePrimaryCertifiesDevices) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  v1::UpdateDeviceCertificateRequest req;
  req.set_device_id(a1.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::UpdateDeviceCertificate, &a1, req),
                 StatusCode::PERMISSION_DENIED, "only the primary certifies devices");
}

TEST_F(Refusals, ADeviceCertificateOver64KiBIsInvalid) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  v1::UpdateDeviceCertificateRequest req;
  req.set_device_id(a1.id);
  req.set_certificate_chain(kTooLargeChain);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::UpdateDeviceCertificate, &a0, req),
                 StatusCode::INVALID_ARGUMENT, "certificate_chain: too large");
}

TEST_F(Refusals, CertifyingAnotherAccountsDeviceIsNotFound) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::UpdateDeviceCertificateRequest req;
  req.set_device_id(b0.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::UpdateDeviceCertificate, &a0, req), StatusCode::NOT_FOUND,
                 "no such device in this account");
}

// ---- Upload: each part of the stream spoiled in turn ----

struct UploadCase {
  const char* name;
  // Spoils the honest messages (header, payload, commit) of alice's first device.
  std::function<void(std::vector<v1::UploadRequest>&, const TestDevice& bob)> spoil;
  const char* fragment;
};
void PrintTo(const UploadCase& c, std::ostream* os) {
  *os << c.name;
}

v1::UploadHeader& header_of(std::vector<v1::UploadRequest>& m) {
  return *m[0].mutable_header();
}

const UploadCase kBadUploads[] = {
    {"AStreamThatDoesNotBeginWithTheHeader", [](auto& m, const auto&) { std::swap(m[0], m[1]); },
     "the first message must be the header"},
    {"AnEmptyItemId", [](auto& m, const auto&) { header_of(m).set_item_id(""); },
     "item_id: 1 to 128 of"},
    {"AnItemIdWithASlash", [](auto& m, const auto&) { header_of(m).set_item_id("a/b"); },
     "item_id: 1 to 128 of"},
    {"AFolderLabelOver128Bytes",
     [](auto& m, const auto&) { header_of(m).set_folder(std::string(129, 'f')); },
     "folder: at most 128 bytes"},
    {"ACapsuleThatDoesNotDecode", [](auto& m, const auto&) { header_of(m).set_capsule("junk"); },
     "capsule: "},
    {"ASecondLevelCapsule",
     [](auto& m, const auto& bob) {
       TestDevice other;
       header_of(m).set_capsule(second_level_capsule(bob, other));
     },
     "capsule: must be a fresh (level 1) capsule"},
    {"ACapsuleForAnotherAccountsKey",
     [](auto& m, const auto& bob) { header_of(m).set_capsule(capsule_for(bob.key->public_key())); },
     "capsule: not addressed to a device key of this account"},
    {"AWrappedKeyOfTheWrongLength",
     [](auto& m, const auto&) { header_of(m).set_wrapped_key(std::string(73, 'w')); },
     "wrapped_key: 74 bytes"},
    {"MetadataOverTheLimit",
     [](auto& m, const auto&) {
       header_of(m).set_metadata(std::string(mupre::kMaxMetadataSize + 65, 'm'));
     },
     "metadata: too large"},
    {"ASealedNameOver4KiB",
     [](auto& m, const auto&) { header_of(m).set_sealed_name(std::string(4097, 'n')); },
     "sealed_name: at most 4 KiB"},
    {"APayloadHeaderOfAnotherFormat",
     [](auto& m, const auto&) {
       std::string h = header_of(m).payload_header();
       h[0] = 0x08;
       header_of(m).set_payload_header(h);
     },
     "payload_header: not a mupre payload header"},
    {"APayloadHeaderOfTheWrongLength",
     [](auto& m, const auto&) { header_of(m).set_payload_header(std::string(29, '\x09')); },
     "payload_header: not a mupre payload header"},
    {"AHeaderSignatureOver64KiB",
     [](auto& m, const auto&) { header_of(m).set_signature(kTooLargeChain); },
     "signature: too large"},
    {"AMessageAfterTheCommit", [](auto& m, const auto&) { m.push_back(payload_message("more")); },
     "nothing may follow the commit"},
    {"APayloadMessageOver4MiB",
     [](auto& m, const auto&) { m[1].set_payload(std::string((4 << 20) + 1, 'p')); },
     "payload message larger than 4 MiB"},
    {"ASecondHeader", [](auto& m, const auto&) { m.insert(m.begin() + 1, m[0]); },
     "a second header"},
    {"ACommitWithAnotherDigest",
     [](auto& m, const auto&) { m[2] = commit_message(std::string(32, 'd')); },
     "commit: payload digest does not match the bytes received"},
    {"ACommitSignatureOver64KiB",
     [](auto& m, const auto&) {
       m[2] = commit_message(m[2].commit().payload_sha256(), kTooLargeChain);
     },
     "commit.signature: too large"},
};

class BadUpload : public Refusals, public ::testing::WithParamInterface<UploadCase> {};

TEST_P(BadUpload, IsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  const UploadParts p = honest_upload(a0, "alice", "doc");
  std::vector<v1::UploadRequest> msgs = {header_message(p.header), payload_message(p.body),
                                         commit_message(p.digest)};
  // The honest stream is accepted: what refuses the spoiled one is the spoiling.
  ASSERT_TRUE(upload_messages(a0, msgs).ok());
  auto& h = *msgs[0].mutable_header();
  h.set_item_id("doc2");
  h.set_replace(true);
  GetParam().spoil(msgs, b0);
  EXPECT_REFUSED(upload_messages(a0, msgs), StatusCode::INVALID_ARGUMENT, GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(Refusals, BadUpload, ::testing::ValuesIn(kBadUploads),
                         [](const auto& c) { return std::string(c.param.name); });

// ---- Download, refresh and delete of an item ----

TEST_F(Refusals, DownloadingAnInvalidItemIdIsInvalid) {
  TestDevice a0;
  account("alice", a0);
  EXPECT_REFUSED(download(a0, "", "no/such"), StatusCode::INVALID_ARGUMENT, "item_id: 1 to 128 of");
}

TEST_F(Refusals, DownloadingFromAnUnknownOwnerIsNoSuchItem) {
  TestDevice a0;
  account("alice", a0);
  EXPECT_REFUSED(download(a0, "nobody", "doc"), StatusCode::NOT_FOUND, "no such item");
}

TEST_F(Refusals, AnotherAccountsReservedItemIsNoSuchItemEvenThroughAShare) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  upload(a0, "alice", ".namekey");
  share(a0, b0);
  EXPECT_REFUSED(download(b0, "alice", ".namekey"), StatusCode::NOT_FOUND, "no such item");
}

TEST_F(Refusals, DownloadingAnAbsentItemIsNoSuchItem) {
  TestDevice a0;
  account("alice", a0);
  EXPECT_REFUSED(download(a0, "", "absent"), StatusCode::NOT_FOUND, "no such item");
}

TEST_F(Refusals, AnotherAccountsItemWithoutAShareIsNoSuchItem) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  upload(a0, "alice", "doc");
  EXPECT_REFUSED(download(b0, "alice", "doc"), StatusCode::NOT_FOUND, "no such item");
}

TEST_F(Refusals, AnOwnDeviceWithoutAKeyChainHasNoAccess) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  upload(a0, "alice", "doc");
  EXPECT_REFUSED(download(a1, "", "doc"), StatusCode::PERMISSION_DENIED,
                 "no access: no admissible chain to this device");
}

TEST_F(Refusals, AShareRecipientCannotRefreshTheItem) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  upload(a0, "alice", "doc");
  share(a0, b0);
  EXPECT_REFUSED(refresh(b0, "alice", "doc", [](auto&) {}), StatusCode::PERMISSION_DENIED,
                 "only the owner's devices may refresh an item");
}

struct RefreshCase {
  const char* name;
  std::function<void(v1::RefreshItemRequest&, const TestDevice& bob)> spoil;
  const char* fragment;
};
void PrintTo(const RefreshCase& c, std::ostream* os) {
  *os << c.name;
}

const RefreshCase kBadRefreshes[] = {
    {"ACapsuleThatDoesNotDecode", [](auto& r, const auto&) { r.set_capsule("junk"); }, "capsule: "},
    {"ASecondLevelCapsule",
     [](auto& r, const auto& bob) {
       TestDevice other;
       r.set_capsule(second_level_capsule(bob, other));
     },
     "capsule: must be a fresh (level 1) capsule"},
    {"ACapsuleForAnotherAccountsKey",
     [](auto& r, const auto& bob) { r.set_capsule(capsule_for(bob.key->public_key())); },
     "capsule: not addressed to a device key of the item's owner"},
    {"AWrappedKeyOfTheWrongLength",
     [](auto& r, const auto&) { r.set_wrapped_key(std::string(75, 'w')); },
     "wrapped_key: 74 bytes"},
    {"ASignatureOver64KiB", [](auto& r, const auto&) { r.set_signature(kTooLargeChain); },
     "signature: too large"},
};

class BadRefresh : public Refusals, public ::testing::WithParamInterface<RefreshCase> {};

TEST_P(BadRefresh, IsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  upload(a0, "alice", "doc");
  ASSERT_TRUE(refresh(a0, "", "doc", [](auto&) {}).ok());  // honest: accepted
  EXPECT_REFUSED(refresh(a0, "", "doc",
                         [&](v1::RefreshItemRequest& r) {
                           r.set_expected_version(2);
                           GetParam().spoil(r, b0);
                         }),
                 StatusCode::INVALID_ARGUMENT, GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(Refusals, BadRefresh, ::testing::ValuesIn(kBadRefreshes),
                         [](const auto& c) { return std::string(c.param.name); });

TEST_F(Refusals, DeletingAnInvalidItemIdIsInvalid) {
  TestDevice a0;
  account("alice", a0);
  v1::DeleteItemRequest req;
  req.set_item_id("a b");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::DeleteItem, &a0, req), StatusCode::INVALID_ARGUMENT,
                 "item_id: 1 to 128 of");
}

TEST_F(Refusals, DeletingAnAbsentItemIsNoSuchItem) {
  TestDevice a0;
  account("alice", a0);
  v1::DeleteItemRequest req;
  req.set_item_id("absent");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::DeleteItem, &a0, req), StatusCode::NOT_FOUND,
                 "no such item");
}

// ---- The re-encryption key network ----

TEST_F(Refusals, ARekeyThatDoesNotDecodeIsInvalid) {
  TestDevice a0;
  account("alice", a0);
  v1::InstallReKeyRequest req;
  req.set_rekey("junk");
  req.set_kind(v1::REKEY_KIND_SHARE);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::InstallReKey, &a0, req), StatusCode::INVALID_ARGUMENT,
                 "rekey: ");
}

TEST_F(Refusals, ARekeyToAnUnregisteredKeyIsNotFound) {
  TestDevice a0, stranger;
  account("alice", a0);
  EXPECT_REFUSED(install(a0, *a0.key, stranger.key->public_key(), v1::REKEY_KIND_SHARE),
                 StatusCode::NOT_FOUND, "rekey: unknown source or target key");
}

TEST_F(Refusals, ARekeyFromAnotherAccountsKeyIsDenied) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  // bob holds alice's secret key somehow; the key is still alice's, not bob's to use.
  EXPECT_REFUSED(install(b0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_SHARE),
                 StatusCode::PERMISSION_DENIED, "rekey: source key is not this account's");
}

// A statement is the installing device's signature, kept for the account's own devices: the
// service bounds it and gives it back exactly as sent.
TEST_F(Refusals, AStatementOver256BytesIsInvalidAndOneWithinIsListedAsSent) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::InstallReKeyRequest req;
  req.set_rekey(as_string(mupre::make_rekey(*a0.key, b0.key->public_key())->encode()));
  req.set_kind(v1::REKEY_KIND_SHARE);
  req.set_statement(std::string(257, 's'));
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::InstallReKey, &a0, req), StatusCode::INVALID_ARGUMENT,
                 "statement: at most 256 bytes");
  req.set_statement(std::string(256, '\x01'));
  ASSERT_TRUE(call(&v1::Hopbox::Stub::InstallReKey, &a0, req).ok());
  grpc::ClientContext ctx;
  a0.authorize(ctx);
  v1::ListReKeysResponse listed;
  ASSERT_TRUE(stub_->ListReKeys(&ctx, v1::ListReKeysRequest(), &listed).ok());
  ASSERT_EQ(listed.rekeys_size(), 1);
  EXPECT_EQ(listed.rekeys(0).statement(), std::string(256, '\x01'));
}

TEST_F(Refusals, AShareWithANegativeExpiryIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::AccessPolicy p;
  p.set_expires_at(-5);
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_SHARE, p),
                 StatusCode::INVALID_ARGUMENT, "policy.expires_at: negative");
}

TEST_F(Refusals, AShareThatExpiredAlreadyIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::AccessPolicy p;
  p.set_expires_at(now() - 10);
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_SHARE, p),
                 StatusCode::INVALID_ARGUMENT, "policy.expires_at: already past");
}

TEST_F(Refusals, AnOwnDeviceKeyToAnotherAccountIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_OWN_DEVICE),
                 StatusCode::INVALID_ARGUMENT, "own-device key to another account");
}

TEST_F(Refusals, AShareToTheSharersOwnAccountIsInvalid) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  EXPECT_REFUSED(install(a0, *a0.key, a1.key->public_key(), v1::REKEY_KIND_SHARE),
                 StatusCode::INVALID_ARGUMENT, "share: to another account, not this one");
}

TEST_F(Refusals, AShareOfAFolderLabelOver128BytesIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::AccessPolicy p;
  p.set_scope(v1::AccessPolicy::SCOPE_FOLDER);
  p.set_folder(std::string(129, 'f'));
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_SHARE, p),
                 StatusCode::INVALID_ARGUMENT, "policy: folder or item list too large");
}

TEST_F(Refusals, AShareOfOver10000ItemsIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::AccessPolicy p;
  for (int i = 0; i <= 10000; ++i) p.add_item_ids(std::to_string(i) + "i");
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_SHARE, p),
                 StatusCode::INVALID_ARGUMENT, "policy: folder or item list too large");
}

TEST_F(Refusals, AShareNamingAnInvalidItemIdIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::AccessPolicy p;
  p.add_item_ids("fine");
  p.add_item_ids("not/fine");
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_SHARE, p),
                 StatusCode::INVALID_ARGUMENT, "policy.item_ids: bad item id");
}

TEST_F(Refusals, ARecoveryKeyForAnUnknownProtectedUserIsNotFound) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_RECOVERY, {}, "nobody"),
                 StatusCode::NOT_FOUND, "no such protected user");
}

TEST_F(Refusals, ARecoveryKeyOfAnotherShapeIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  // To bob's device itself, not to a recovery key bob made for alice.
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_RECOVERY),
                 StatusCode::INVALID_ARGUMENT,
                 "recovery key: from the protected user's key to a recovery key made for them");
}

TEST_F(Refusals, ARekeyOfNoKindIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  EXPECT_REFUSED(install(a0, *a0.key, b0.key->public_key(), v1::REKEY_KIND_UNSPECIFIED),
                 StatusCode::INVALID_ARGUMENT, "kind: own-device, share or recovery");
}

TEST_F(Refusals, RevokingAnUnknownRekeyIsNotFound) {
  TestDevice a0;
  account("alice", a0);
  v1::RevokeReKeyRequest req;
  req.set_rekey_id(424242);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::RevokeReKey, &a0, req), StatusCode::NOT_FOUND,
                 "no such rekey");
}

TEST_F(Refusals, RevokingAnotherAccountsRekeyIsDenied) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  std::int64_t id = 0;
  ASSERT_TRUE(install_rekey(*stub_, a0, b0, v1::REKEY_KIND_SHARE, {}, &id).ok());
  v1::RevokeReKeyRequest req;
  req.set_rekey_id(id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::RevokeReKey, &b0, req), StatusCode::PERMISSION_DENIED,
                 "rekey was made by another account");
}

// ---- Inboxes ----

TEST_F(Refusals, ANotificationToAnUnknownDeviceIsNotFound) {
  TestDevice a0;
  account("alice", a0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(777777);
  req.mutable_access_request()->set_item("doc");
  EXPECT_REFUSED(send_notification(*stub_, a0, req), StatusCode::NOT_FOUND, "no such device");
}

TEST_F(Refusals, AnAccessRequestToOnesOwnAccountIsInvalid) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  v1::SendNotificationRequest req;
  req.set_to_device_id(a0.id);
  req.mutable_access_request()->set_item("doc");
  EXPECT_REFUSED(send_notification(*stub_, a1, req), StatusCode::INVALID_ARGUMENT,
                 "access_request: to the primary of another account");
}

TEST_F(Refusals, AnAccessRequestWithAPlaintextItemIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(a0.id);
  req.mutable_access_request()->set_item("doc");
  EXPECT_REFUSED(send_notification(*stub_, b0, req), StatusCode::INVALID_ARGUMENT,
                 "access_request: the item travels sealed (sealed_item)");
}

TEST_F(Refusals, AnAccessRequestWithAMessageOver1KiBIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(a0.id);
  req.mutable_access_request()->set_message(std::string(1025, 'm'));
  EXPECT_REFUSED(send_notification(*stub_, b0, req), StatusCode::INVALID_ARGUMENT,
                 "access_request: a sealed item of at most 4 KiB, and a message of at most 1 KiB");
}

TEST_F(Refusals, AnAccessRequestWithASealedItemOver4KiBIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(a0.id);
  req.mutable_access_request()->set_sealed_item(std::string(4097, 's'));
  EXPECT_REFUSED(send_notification(*stub_, b0, req), StatusCode::INVALID_ARGUMENT,
                 "access_request: a sealed item of at most 4 KiB, and a message of at most 1 KiB");
}

TEST_F(Refusals, ARecoveryInvitationFromASecondaryIsInvalid) {
  TestDevice a0, a1, b0;
  account("alice", a0);
  device(a0, a1);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(b0.id);
  *req.mutable_recovery_invitation() = make_invitation(a1, "alice", "bob");
  EXPECT_REFUSED(send_notification(*stub_, a1, req), StatusCode::INVALID_ARGUMENT,
                 "recovery_invitation: from a primary to another account's primary");
}

TEST_F(Refusals, ARecoveryInvitationForSomeoneElseIsDenied) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(b0.id);
  *req.mutable_recovery_invitation() = make_invitation(a0, "alice", "carol");
  EXPECT_REFUSED(send_notification(*stub_, a0, req), StatusCode::PERMISSION_DENIED,
                 "no valid invitation from alice for bob");
}

TEST_F(Refusals, ARecoveryInvitationNotSignedByThePrimaryIsDenied) {
  TestDevice a0, a1, b0;
  account("alice", a0);
  device(a0, a1);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(b0.id);
  *req.mutable_recovery_invitation() = make_invitation(a1, "alice", "bob");  // a1 signs
  EXPECT_REFUSED(send_notification(*stub_, a0, req), StatusCode::PERMISSION_DENIED,
                 "the invitation is not signed by alice's primary device");
}

TEST_F(Refusals, RefusingARecoveryOneWasNotAskedForIsDenied) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(a0.id);
  req.mutable_recovery_refused();
  EXPECT_REFUSED(send_notification(*stub_, b0, req), StatusCode::PERMISSION_DENIED,
                 "recovery_refused: that device did not ask this account");
}

TEST_F(Refusals, AnsweringAnAccessRequestThatIsNotInTheInboxIsDenied) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(b0.id);
  req.mutable_access_answer()->set_request_id(1);
  req.mutable_access_answer()->set_granted(true);
  EXPECT_REFUSED(send_notification(*stub_, a0, req), StatusCode::PERMISSION_DENIED,
                 "access_answer: no access request of that device in this inbox");
}

TEST_F(Refusals, ANotificationWithoutAPayloadIsInvalid) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::SendNotificationRequest req;
  req.set_to_device_id(b0.id);
  EXPECT_REFUSED(send_notification(*stub_, a0, req), StatusCode::INVALID_ARGUMENT,
                 "payload: access_request, access_answer");
}

TEST_F(Refusals, AcknowledgingAnUnknownNotificationIsNotFound) {
  TestDevice a0;
  account("alice", a0);
  v1::AckNotificationRequest req;
  req.set_notification_id(31337);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::AckNotification, &a0, req), StatusCode::NOT_FOUND,
                 "no such notification for this device");
}

// ---- Recovery (Protocol 2) ----

TEST_F(Refusals, APromotionWithACertificateOver64KiBIsInvalid) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  v1::PromoteDeviceRequest req;
  req.set_lost_device_id(a0.id);
  req.set_certificate_chain(kTooLargeChain);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::PromoteDevice, &a1, req), StatusCode::INVALID_ARGUMENT,
                 "certificate_chain: too large");
}

TEST_F(Refusals, ANewDeviceRecoversOnlyWithACa) {
  TestDevice a0, b0, key, p;
  account("alice", a0);
  account("bob", b0);
  recovery_key(a0, "alice", b0, "bob", key);
  pending("alice", "bob", p);
  v1::PromoteDeviceRequest req;
  req.set_lost_device_id(a0.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::PromoteDevice, &p, req), StatusCode::PERMISSION_DENIED,
                 "recovering on a new device needs a service configured with the CA");
}

TEST_F(Refusals, ProtectingAnUnknownUserIsNotFound) {
  TestDevice a0, b0, key;
  account("alice", a0);
  account("bob", b0);
  EXPECT_REFUSED(
      register_recovery_key(*stub_, b0, "nobody", make_invitation(a0, "nobody", "bob"), key),
      StatusCode::NOT_FOUND, "no such protected user");
}

TEST_F(Refusals, AUserCannotProtectTheirOwnAccount) {
  TestDevice a0, key;
  account("alice", a0);
  EXPECT_REFUSED(
      register_recovery_key(*stub_, a0, "alice", make_invitation(a0, "alice", "alice"), key),
      StatusCode::INVALID_ARGUMENT, "protected_user: a user cannot protect their own account");
}

TEST_F(Refusals, ARecoveryKeyWithoutAnInvitationForThisUserIsDenied) {
  TestDevice a0, b0, c0, key;
  account("alice", a0);
  account("bob", b0);
  account("carol", c0);
  EXPECT_REFUSED(
      register_recovery_key(*stub_, c0, "alice", make_invitation(a0, "alice", "bob"), key),
      StatusCode::PERMISSION_DENIED, "no valid invitation from alice for carol");
}

TEST_F(Refusals, ARecoveryKeyWithAnInvitationNotSignedByThePrimaryIsDenied) {
  TestDevice a0, a1, b0, key;
  account("alice", a0);
  device(a0, a1);
  account("bob", b0);
  EXPECT_REFUSED(
      register_recovery_key(*stub_, b0, "alice", make_invitation(a1, "alice", "bob"), key),
      StatusCode::PERMISSION_DENIED, "the invitation is not signed by alice's primary device");
}

TEST_F(Refusals, ARecoveryKeyWithBadKeysIsInvalid) {
  TestDevice a0, b0, key;
  account("alice", a0);
  account("bob", b0);
  v1::RegisterRecoveryKeyRequest req;
  req.set_protected_user("alice");
  *req.mutable_keys() = key.keys();
  req.mutable_keys()->set_signing_key("not a key");
  *req.mutable_invitation() = make_invitation(a0, "alice", "bob");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::RegisterRecoveryKey, &b0, req),
                 StatusCode::INVALID_ARGUMENT, "keys.signing_key: not an ECDSA P-256");
}

TEST_F(Refusals, AnInvitationAnswersOnce) {
  TestDevice a0, b0, key, again;
  account("alice", a0);
  account("bob", b0);
  const v1::RecoveryInvitation inv = make_invitation(a0, "alice", "bob");
  ASSERT_TRUE(register_recovery_key(*stub_, b0, "alice", inv, key).ok());
  EXPECT_REFUSED(register_recovery_key(*stub_, b0, "alice", inv, again),
                 StatusCode::PERMISSION_DENIED, "that invitation was answered already");
}

struct RecoveryRequestCase {
  const char* name;
  std::function<void(v1::RequestRecoveryRequest&)> spoil;
  StatusCode code;
  const char* fragment;
};
void PrintTo(const RecoveryRequestCase& c, std::ostream* os) {
  *os << c.name;
}

const RecoveryRequestCase kBadRecoveryRequests[] = {
    {"AnEmptyDeviceName", [](auto& r) { r.set_device_name(""); }, StatusCode::INVALID_ARGUMENT,
     "device_name: 1 to 255 bytes"},
    {"NoRecoveryUser", [](auto& r) { r.clear_via(); }, StatusCode::INVALID_ARGUMENT,
     "via: 1 to 16 users"},
    {"SeventeenRecoveryUsers",
     [](auto& r) {
       for (int i = 0; i < 16; ++i) r.add_via(std::to_string(i) + "u");
     },
     StatusCode::INVALID_ARGUMENT, "via: 1 to 16 users"},
    {"AnUnknownUser", [](auto& r) { r.set_user("nobody"); }, StatusCode::NOT_FOUND, "no such user"},
    {"ASigningKeyThatIsNotP256", [](auto& r) { r.mutable_keys()->set_signing_key("junk"); },
     StatusCode::INVALID_ARGUMENT, "keys.signing_key: not an ECDSA P-256"},
    {"ATimeAnHourAgo", [](auto& r) { r.set_requested_at(now() - 3600); },
     StatusCode::INVALID_ARGUMENT, "requested_at: not within five minutes"},
};

class BadRecoveryRequest : public Refusals,
                           public ::testing::WithParamInterface<RecoveryRequestCase> {};

TEST_P(BadRecoveryRequest, IsRefused) {
  TestDevice a0, b0, key;
  account("alice", a0);
  account("bob", b0);
  recovery_key(a0, "alice", b0, "bob", key);
  EXPECT_REFUSED(recovery_request("alice", GetParam().spoil), GetParam().code, GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(Refusals, BadRecoveryRequest, ::testing::ValuesIn(kBadRecoveryRequests),
                         [](const auto& c) { return std::string(c.param.name); });

TEST_F(Refusals, CancellingARecoveryThatIsNotInProgressIsNotFound) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  v1::CancelRecoveryRequest req;
  req.set_device_id(a1.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::CancelRecovery, &a0, req), StatusCode::NOT_FOUND,
                 "no recovery of that device is in progress");
}

TEST_F(Refusals, CancellingAnotherAccountsRecoveryIsNotFound) {
  TestDevice a0, a1, b0;
  account("alice", a0);
  device(a0, a1);
  account("bob", b0);
  {
    grpc::ClientContext ctx;
    a1.authorize(ctx);
    v1::AnnouncePromotionResponse resp;
    ASSERT_TRUE(stub_->AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp).ok());
  }
  v1::CancelRecoveryRequest req;
  req.set_device_id(a1.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::CancelRecovery, &b0, req), StatusCode::NOT_FOUND,
                 "no recovery of that device is in progress");
}

TEST_F(Refusals, AKeyCodeOver64CharactersIsInvalid) {
  TestDevice b0;
  account("bob", b0);
  v1::ExpectRecoveryRequest req;
  req.set_protected_user("alice");
  req.set_key_code(std::string(65, '1'));
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::ExpectRecovery, &b0, req), StatusCode::INVALID_ARGUMENT,
                 "key_code: at most 64 characters");
}

TEST_F(Refusals, AKeyCodeWithoutTwentyFiveDigitsIsInvalid) {
  TestDevice b0;
  account("bob", b0);
  v1::ExpectRecoveryRequest req;
  req.set_protected_user("alice");
  req.set_key_code("12345 67890 12345 67890 1234x");  // 24 digits
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::ExpectRecovery, &b0, req), StatusCode::INVALID_ARGUMENT,
                 "key_code: 25 digits");
}

TEST_F(Refusals, VouchingForAnAccountOneDoesNotProtectIsNotFound) {
  TestDevice a0, c0;
  account("alice", a0);
  account("carol", c0);
  v1::ExpectRecoveryRequest req;
  req.set_protected_user("alice");
  req.set_key_code("12345 67890 12345 67890 12345");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::ExpectRecovery, &c0, req), StatusCode::NOT_FOUND,
                 "you do not protect alice");
}

struct ChallengeCase {
  const char* name;
  // Spoils a request for the recovering device of alice; bob's device is another account's.
  std::function<void(v1::ReencryptChallengeRequest&, const TestDevice& bob)> spoil;
  const char* fragment;
};
void PrintTo(const ChallengeCase& c, std::ostream* os) {
  *os << c.name;
}

const ChallengeCase kBadChallenges[] = {
    {"ACaSignatureOver256Bytes",
     [](auto& r, const auto&) { r.set_ca_signature(std::string(257, 's')); },
     "ca_signature: too large"},
    {"ACapsuleThatDoesNotDecode", [](auto& r, const auto&) { r.set_capsule("junk"); }, "capsule: "},
    {"ASecondLevelCapsule",
     [](auto& r, const auto& bob) {
       TestDevice other;
       r.set_capsule(second_level_capsule(bob, other));
     },
     "capsule: must be a fresh (level 1) capsule"},
    {"ACapsuleForAnotherAccountsKey",
     [](auto& r, const auto& bob) { r.set_capsule(capsule_for(bob.key->public_key())); },
     "capsule: not addressed to a device key of this account"},
};

class BadChallenge : public Refusals, public ::testing::WithParamInterface<ChallengeCase> {};

TEST_P(BadChallenge, IsInvalid) {
  TestDevice a0, b0, key, p;
  account("alice", a0);
  account("bob", b0);
  recovery_key(a0, "alice", b0, "bob", key);
  pending("alice", "bob", p);
  v1::ReencryptChallengeRequest req;
  req.set_capsule(capsule_for(a0.key->public_key()));
  GetParam().spoil(req, b0);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::ReencryptChallenge, &p, req), StatusCode::INVALID_ARGUMENT,
                 GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(Refusals, BadChallenge, ::testing::ValuesIn(kBadChallenges),
                         [](const auto& c) { return std::string(c.param.name); });

// ---- The threshold set-up (R3) ----

TEST_F(Refusals, OnlyThePrimarySetsUpAThreshold) {
  TestDevice a0, a1;
  account("alice", a0);
  device(a0, a1);
  EXPECT_REFUSED(put_threshold(a1, v1::ThresholdRecovery()), StatusCode::PERMISSION_DENIED,
                 "only the primary");
}

struct ThresholdCase {
  const char* name;
  // Spoils alice's honest set-up; her secondary device is `secondary`.
  std::function<void(v1::ThresholdRecovery&, const TestDevice& secondary)> spoil;
  const char* fragment;
};
void PrintTo(const ThresholdCase& c, std::ostream* os) {
  *os << c.name;
}

v1::ThresholdRecovery::Protector& protector_of(v1::ThresholdRecovery& c) {
  return *c.mutable_protectors(0);
}

const ThresholdCase kBadThresholds[] = {
    {"ASignatureOver256Bytes", [](auto& c, const auto&) { c.set_signature(std::string(257, 's')); },
     "signature: too large"},
    {"AThresholdOfZero", [](auto& c, const auto&) { c.set_threshold(0); },
     "threshold: 1 <= t <= n <= 16"},
    {"AThresholdAboveTheProtectors", [](auto& c, const auto&) { c.set_threshold(2); },
     "threshold: 1 <= t <= n <= 16"},
    {"AProtectorThatIsNotARecoveryKey",
     [](auto& c, const auto& secondary) { protector_of(c).set_recovery_key_device(secondary.id); },
     "protector bob: not a recovery key made for this account"},
    {"AProtectorUnderAnotherName", [](auto& c, const auto&) { protector_of(c).set_user("eve"); },
     "protector eve: not a recovery key made for this account"},
    {"CommitmentsOfAnotherThreshold",
     [](auto& c, const auto&) {
       const auto two = mupre::split(mupre::bls12_381::scalar_random_nonzero(), 2, 2);
       protector_of(c).set_commitments(as_string(two->commitments.encode()));
     },
     "protector bob: commitments do not match the threshold"},
    {"SharesForAnotherKey",
     [](auto& c, const auto& secondary) {
       protector_of(c).set_shares_capsule(capsule_for(secondary.key->public_key()));
     },
     "protector bob: shares not addressed to their recovery key"},
    {"ASealedRekeyOfTheWrongSize",
     [](auto& c, const auto&) { protector_of(c).set_sealed_rekey("short"); },
     "protector bob: sealed sizes are wrong"},
    {"SealedSharesOfTheWrongSize",
     [](auto& c, const auto&) { protector_of(c).set_shares_sealed("short"); },
     "protector bob: sealed sizes are wrong"},
};

class BadThreshold : public Refusals, public ::testing::WithParamInterface<ThresholdCase> {};

TEST_P(BadThreshold, IsInvalid) {
  TestDevice a0, a1, b0, key;
  account("alice", a0);
  device(a0, a1);
  account("bob", b0);
  recovery_key(a0, "alice", b0, "bob", key);
  ASSERT_TRUE(put_threshold(a0, threshold_setup(key)).ok());  // honest: accepted
  v1::ThresholdRecovery config = threshold_setup(key);
  GetParam().spoil(config, a1);
  EXPECT_REFUSED(put_threshold(a0, config), StatusCode::INVALID_ARGUMENT, GetParam().fragment);
}

INSTANTIATE_TEST_SUITE_P(Refusals, BadThreshold, ::testing::ValuesIn(kBadThresholds),
                         [](const auto& c) { return std::string(c.param.name); });

TEST_F(Refusals, TheThresholdSetUpOfAnUnknownUserIsNotFound) {
  TestDevice a0;
  account("alice", a0);
  v1::GetThresholdRecoveryRequest req;
  req.set_user("nobody");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::GetThresholdRecovery, &a0, req), StatusCode::NOT_FOUND,
                 "no such user");
}

TEST_F(Refusals, AThresholdSetUpThatWasNeverMadeIsNotFound) {
  TestDevice a0;
  account("alice", a0);
  EXPECT_REFUSED(
      call(&v1::Hopbox::Stub::GetThresholdRecovery, &a0, v1::GetThresholdRecoveryRequest()),
      StatusCode::NOT_FOUND, "no threshold recovery set up");
}

TEST_F(Refusals, AStrangerCannotReadAThresholdSetUp) {
  TestDevice a0, b0, key, c0;
  protected_alice(a0, b0, key);
  account("carol", c0);
  v1::GetThresholdRecoveryRequest req;
  req.set_user("alice");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::GetThresholdRecovery, &c0, req),
                 StatusCode::PERMISSION_DENIED, "not a recovery user of this account");
}

TEST_F(Refusals, SharesForAnUnknownUserAreNotFound) {
  TestDevice b0;
  account("bob", b0);
  v1::SubmitRecoverySharesRequest req;
  req.set_user("nobody");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::SubmitRecoveryShares, &b0, req), StatusCode::NOT_FOUND,
                 "no such user");
}

TEST_F(Refusals, SharesForAnAccountWithoutASetUpAreNotFound) {
  TestDevice a0, b0;
  account("alice", a0);
  account("bob", b0);
  v1::SubmitRecoverySharesRequest req;
  req.set_user("alice");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::SubmitRecoveryShares, &b0, req), StatusCode::NOT_FOUND,
                 "no threshold recovery set up");
}

TEST_F(Refusals, SharesFromAStrangerAreDenied) {
  TestDevice a0, b0, key, c0;
  protected_alice(a0, b0, key);
  account("carol", c0);
  v1::SubmitRecoverySharesRequest req;
  req.set_user("alice");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::SubmitRecoveryShares, &c0, req),
                 StatusCode::PERMISSION_DENIED, "not a recovery user of this account");
}

// bob's shares for alice's pending device `p`, `count` of them, each `share`.
v1::SubmitRecoverySharesRequest shares_for(const TestDevice& p, int count,
                                           const std::string& share) {
  v1::SubmitRecoverySharesRequest req;
  req.set_user("alice");
  req.set_device_id(p.id);
  const auto fp = p.key->public_key().fingerprint();
  req.set_encryption_key_fingerprint(as_string(fp));
  for (int i = 0; i < count; ++i) req.add_shares(share);
  return req;
}

std::string random_share(std::uint8_t index) {
  std::array<std::uint8_t, mupre::kShareSize> out{};
  mupre::Share(index, mupre::bls12_381::scalar_random_nonzero()).encode(out);
  return as_string(out);
}

TEST_F(Refusals, SharesNotOnePerRecoveryUserAreInvalid) {
  TestDevice a0, b0, key, p;
  protected_alice(a0, b0, key);
  pending("alice", "bob", p);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::SubmitRecoveryShares, &b0, shares_for(p, 2, "")),
                 StatusCode::INVALID_ARGUMENT, "shares: one per recovery user");
}

TEST_F(Refusals, AShareThatDoesNotMatchTheCommitmentsIsInvalidAndNamesItsSender) {
  TestDevice a0, b0, key, p;
  protected_alice(a0, b0, key);
  pending("alice", "bob", p);
  EXPECT_REFUSED(
      call(&v1::Hopbox::Stub::SubmitRecoveryShares, &b0, shares_for(p, 1, random_share(1))),
      StatusCode::INVALID_ARGUMENT, "share 1 from bob does not match the commitments");
}

TEST_F(Refusals, TheProgressOfAnUnknownUserIsNotFound) {
  TestDevice a0;
  account("alice", a0);
  v1::GetRecoveryProgressRequest req;
  req.set_user("nobody");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::GetRecoveryProgress, &a0, req), StatusCode::NOT_FOUND,
                 "no such user");
}

TEST_F(Refusals, TheProgressOfAnotherAccountIsDenied) {
  TestDevice a0, b0, key;
  protected_alice(a0, b0, key);
  v1::GetRecoveryProgressRequest req;
  req.set_user("alice");
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::GetRecoveryProgress, &b0, req),
                 StatusCode::PERMISSION_DENIED, "progress of another account");
}

TEST_F(Refusals, TheProgressWithoutASetUpIsNotFound) {
  TestDevice a0;
  account("alice", a0);
  EXPECT_REFUSED(
      call(&v1::Hopbox::Stub::GetRecoveryProgress, &a0, v1::GetRecoveryProgressRequest()),
      StatusCode::NOT_FOUND, "no threshold recovery set up");
}

TEST_F(Refusals, APendingDeviceLearnsOfNoOtherRequestsProgress) {
  TestDevice a0, b0, key, p, q;
  protected_alice(a0, b0, key);
  pending("alice", "bob", p);
  pending("alice", "bob", q);
  v1::GetRecoveryProgressRequest req;
  req.set_device_id(q.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::GetRecoveryProgress, &p, req), StatusCode::NOT_FOUND,
                 "no such pending recovery request");
}

TEST_F(Refusals, TheProgressOfADeviceThatIsNotRecoveringIsNotFound) {
  TestDevice a0, a1, b0, key;
  protected_alice(a0, b0, key);
  device(a0, a1);
  v1::GetRecoveryProgressRequest req;
  req.set_device_id(a1.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::GetRecoveryProgress, &a0, req), StatusCode::NOT_FOUND,
                 "no such pending recovery request");
}

}  // namespace

// ---- With the CA (hopboxd --ca): certified devices only ----

namespace {

class CertifiedRefusals : public Refusals {
 protected:
  CertifiedRefusals() : Refusals(true) {}

  // Enrolls `d` at the CA as `user`'s primary; its certificate.
  std::string enroll(const TestDevice& d, const std::string& user) {
    const v1::DeviceKeys k = d.keys();
    v1::EnrollRequest req;
    req.set_identifier(user);
    req.set_enrollment_code(ca_->invite(user));
    req.set_signing_key(k.signing_key());
    req.set_encryption_key(k.encryption_key());
    req.set_proof(d.sign_message(as_string(hopbox::certs::enrollment_proof_message(
        user, std::vector<std::uint8_t>(k.encryption_key().begin(), k.encryption_key().end())))));
    v1::EnrollResponse resp;
    grpc::ClientContext ctx;
    const grpc::Status s = ca_->stub()->Enroll(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.certificate();
  }
  // A certified account: `d` its primary, registered with its CA certificate.
  std::string certified_account(const std::string& user, TestDevice& d) {
    const std::string cert = enroll(d, user);
    v1::CreateAccountRequest req;
    req.set_user(user);
    req.set_device_name("primary");
    *req.mutable_keys() = d.keys();
    req.mutable_keys()->set_certificate_chain(cert);
    v1::CreateAccountResponse resp;
    grpc::ClientContext ctx;
    const grpc::Status s = stub_->CreateAccount(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    d.id = resp.device_id();
    EXPECT_TRUE(d.login(*stub_).ok());
    return cert;
  }
  // `d` certified by `user`'s primary `by` (certificate `by_cert`) and added: its chain.
  std::string certified_device(const std::string& user, const TestDevice& by,
                               const std::string& by_cert, TestDevice& d) {
    const v1::DeviceKeys k = d.keys();
    const std::int64_t t = now();
    const auto cert = hopbox::certs::issue_certificate(
        {user, std::vector<std::uint8_t>(k.signing_key().begin(), k.signing_key().end()),
         std::vector<std::uint8_t>(k.encryption_key().begin(), k.encryption_key().end()), 77,
         t - 60, t + 3600},
        std::vector<std::uint8_t>(by_cert.begin(), by_cert.end()),
        [&](std::span<const std::uint8_t> m) {
          const std::string sig = by.sign_message(std::string(m.begin(), m.end()));
          return std::vector<std::uint8_t>(sig.begin(), sig.end());
        });
    const std::string chain = as_string(hopbox::certs::encode_chain(
        {cert, std::vector<std::uint8_t>(by_cert.begin(), by_cert.end())}));
    v1::AddDeviceRequest req;
    req.set_device_name("secondary");
    *req.mutable_keys() = k;
    req.mutable_keys()->set_certificate_chain(chain);
    v1::AddDeviceResponse resp;
    grpc::ClientContext ctx;
    by.authorize(ctx);
    const grpc::Status s = stub_->AddDevice(&ctx, req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    d.id = resp.device_id();
    return chain;
  }
  void announce(const TestDevice& d) {
    grpc::ClientContext ctx;
    d.authorize(ctx);
    v1::AnnouncePromotionResponse resp;
    const grpc::Status s = stub_->AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  // ListItems as `d` until it is refused (the service polls the CA's list every second), or
  // 30 s pass; the last status.
  grpc::Status list_items_until_refused(const TestDevice& d) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    grpc::Status s;
    do {
      s = call(&v1::Hopbox::Stub::ListItems, &d, v1::ListItemsRequest());
      if (!s.ok()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    } while (std::chrono::steady_clock::now() < deadline);
    return s;
  }
};

TEST_F(CertifiedRefusals, AnUncertifiedAccountIsDenied) {
  TestDevice d;
  v1::CreateAccountRequest req;
  req.set_user("alice");
  req.set_device_name("laptop");
  *req.mutable_keys() = d.keys();
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::CreateAccount, nullptr, req),
                 StatusCode::PERMISSION_DENIED, "keys.certificate_chain: ");
}

TEST_F(CertifiedRefusals, ADeviceRevokedAtTheCaIsLockedOutAndCannotSignInAgain) {
  TestDevice a0;
  certified_account("alice", a0);
  ASSERT_TRUE(call(&v1::Hopbox::Stub::ListItems, &a0, v1::ListItemsRequest()).ok());
  ASSERT_EQ(ca_->operator_cli("revoke --data-dir " + ca_->data() + " alice").first, 0);
  EXPECT_REFUSED(list_items_until_refused(a0), StatusCode::PERMISSION_DENIED,
                 "the device's certificate was revoked");
  EXPECT_REFUSED(a0.login(*stub_), StatusCode::PERMISSION_DENIED,
                 "the device's certificate was revoked");
}

TEST_F(CertifiedRefusals, ANewDeviceWithoutARecoveryUsersApprovalIsNotPromoted) {
  TestDevice a0, p;
  certified_account("alice", a0);
  ASSERT_TRUE(request_recovery(*stub_, "alice", {"bob"}, p).ok());
  ASSERT_TRUE(p.login(*stub_).ok());
  v1::PromoteDeviceRequest req;
  req.set_lost_device_id(a0.id);
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::PromoteDevice, &p, req), StatusCode::PERMISSION_DENIED,
                 "no recovery user has approved this device's recovery");
}

TEST_F(CertifiedRefusals, APromotionNeedsTheCasPrimaryCertificate) {
  TestDevice a0, a1;
  const std::string a0_cert = certified_account("alice", a0);
  const std::string chain = certified_device("alice", a0, a0_cert, a1);
  ASSERT_TRUE(a1.login(*stub_).ok());
  announce(a1);
  v1::PromoteDeviceRequest req;
  req.set_lost_device_id(a0.id);
  req.set_certificate_chain(chain);  // valid, but through the primary it replaces
  EXPECT_REFUSED(call(&v1::Hopbox::Stub::PromoteDevice, &a1, req), StatusCode::PERMISSION_DENIED,
                 "certificate_chain: the CA's primary certificate for this device is needed");
}

TEST_F(CertifiedRefusals, ASecondaryThatReplacedThePrimaryAtTheCaOnlyCompletesTheRecovery) {
  TestDevice a0, a1;
  const std::string a0_cert = certified_account("alice", a0);
  const std::string chain = certified_device("alice", a0, a0_cert, a1);
  ASSERT_TRUE(a1.login(*stub_).ok());
  announce(a1);
  {
    // At the CA (no wait there): a1 replaces the primary, whose certificate is revoked.
    v1::RecoverPrimaryRequest req;
    req.set_requester_chain(chain);
    req.set_signature(a1.sign_message(as_string(hopbox::certs::recover_primary_message(
        std::vector<std::uint8_t>(a0_cert.begin(), a0_cert.end())))));
    v1::RecoverPrimaryResponse resp;
    grpc::ClientContext ctx;
    const grpc::Status s = ca_->stub()->RecoverPrimary(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_FALSE(resp.certificate().empty());
  }
  EXPECT_REFUSED(list_items_until_refused(a1), StatusCode::PERMISSION_DENIED,
                 "this device's primary was replaced at the CA: complete the recovery");
}

}  // namespace
}  // namespace hopboxd::test
