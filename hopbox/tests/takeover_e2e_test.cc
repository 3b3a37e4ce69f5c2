// Account takeover end to end (issue 12): hopbox-ca, hopboxd, the hopbox command line and
// SoftHSM2 tokens, all real. The attacker is an enrolled user with their own token (speaking
// the real API where the honest client would not), a share recipient, or the cloud editing its
// own database.
#include "certs/certificate.h"
#include "certs/requests.h"
#include "e2e_fixture.h"
#include "mupre/hex.h"
#include "mupre/keys.h"
#include "mupre/pre.h"
#include "test_client.h"
#include "token.h"

#include <chrono>
#include <ctime>
#include <optional>
#include <thread>

namespace hopbox {
namespace {

namespace v1 = hopbox::v1;

class Takeover : public EndToEnd {
 protected:
  bool with_ca() const override { return true; }
  void enroll(const std::string& user) {
    hopbox::testing::init_softhsm_token(user + "1", "1234");
    ok(user + "1", "init --user " + user + " --token " + user + "1 --enroll-code " +
                       ca_->invite(user) + server_opts_);
  }
  // SQL naming the id of `user`'s device that is `condition` (on devices d).
  static std::string device_row(const std::string& user, const std::string& condition) {
    return "(SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.name = '" + user +
           "' AND " + condition + ")";
  }
  // make_user's first device, the primary until a recovery.
  static std::string first_device(const std::string& user) {
    return device_row(user, "d.name = 'primary'");
  }
  // SQL adding an edge of `kind` (1: share, 2: recovery) from `from` to `to` (device rows) as
  // `from`'s account made it: the cloud's own row, with no re-encryption key behind it.
  static std::string forged_edge(int kind, const std::string& from, const std::string& to) {
    return "INSERT INTO rekeys(creator_device, from_device, to_device, kind, user_id, scope, "
           "folder, items, rekey, from_fingerprint, to_fingerprint) SELECT f.id, f.id, t.id, " +
           std::to_string(kind) +
           ", f.user_id, 0, '', '', x'00', f.fingerprint, t.fingerprint FROM devices f, devices t "
           "WHERE f.id = " +
           from + " AND t.id = " + to;
  }
  // The cloud lists alice's first device once more, as a secondary 'laptop' with its keys and
  // this fingerprint, under its own certificate chain or the one given.
  void list_alice_primary_again(const std::string& fingerprint,
                                const std::optional<std::string>& chain = std::nullopt) {
    std::vector<std::string> blobs{fingerprint};
    if (chain) blobs.push_back(*chain);
    cloud_sql(
        "INSERT INTO devices(user_id, name, is_primary, signing_key, encryption_key, "
        "fingerprint, certificate_chain) SELECT user_id, 'laptop', 0, signing_key, "
        "encryption_key, ?1, " +
            std::string(chain ? "?2" : "certificate_chain") +
            " FROM devices WHERE id = " + first_device("alice"),
        blobs);
  }
  // hopboxd learns of the CA's revocations only when it starts (a cloud slow to, as it may be):
  // a test of what the device does does not race the service's poller.
  void service_slow_to_learn_revocations() {
    server_->restart_replacing({"--ca", ca_->address(), "--ca-root", ca_->root_pem().string(),
                                "--revocation-refresh", "3600", "--recovery-wait-seconds",
                                recovery_wait()});
  }
  // alice2's `recover` takes over, then stops: the cloud fails every item's refresh.
  void alices_recovery_stops_at_the_items() {
    fail_on("refuse_refresh", "UPDATE ON items");
    EXPECT_NE(hopbox("alice2", "recover --yes").exit_code, 0);
    stop_failing("refuse_refresh");
  }
  // alice invites bob, bob accepts, alice installs the recovery key to bob's recovery key.
  void bob_protects_alice() {
    ok("alice1", "recovery add bob");
    ok("bob1", "watch --seconds 1 --yes");
    ok("alice1", "watch --seconds 1 --yes");
  }
};

// Example 1 of the issue: a stranger "answers" a recovery invitation that was never made. Here
// without a CA, so that only the client's own record of its invitations stands in the way.
class TakeoverWithoutCa : public EndToEnd {};

TEST_F(TakeoverWithoutCa, UnsolicitedRecoveryConsentIsRefusedAndIgnoredEvenWhenTheCloudForgesIt) {
  make_user("alice");
  hopbox::testing::init_softhsm_token("mallory1", "1234");
  ok("mallory1", "init --user mallory --token mallory1" + server_opts_);
  auto stub = server_->stub();
  // mallory registers a recovery key "for" alice: refused without alice's invitation.
  hopboxd::test::TestDevice mallory = session_of("mallory1"), mallory_key;
  EXPECT_EQ(hopboxd::test::register_recovery_key(*stub, mallory, "alice", v1::RecoveryInvitation(),
                                                 mallory_key)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // The cloud itself plants a recovery key of mallory's for alice, and answers naming it.
  const mupre::SecretKey planted = mupre::SecretKey::generate();
  const auto pk = planted.public_key().encode();
  const auto fp = planted.public_key().fingerprint();
  cloud_sql(
      "INSERT INTO devices(user_id, name, is_primary, signing_key, encryption_key, fingerprint, "
      "certificate_chain, recovery_for) SELECT u.id, 'planted', 0, d.signing_key, ?1, ?2, "
      "d.certificate_chain, (SELECT id FROM users WHERE name = 'alice') FROM users u JOIN "
      "devices d ON d.user_id = u.id WHERE u.name = 'mallory' AND d.is_primary = 1",
      {std::string(pk.begin(), pk.end()), std::string(fp.begin(), fp.end())});
  v1::Notification forged;
  forged.mutable_recovery_accepted()->set_invitation_nonce(std::string(16, 'x'));
  forged.mutable_recovery_accepted()->set_recovery_key_device(
      cloud_int("SELECT id FROM devices WHERE name = 'planted'"));
  const std::string alice1 = std::to_string(state_of("alice1")["device_id"].get<std::int64_t>());
  const std::string mallory1 =
      std::to_string(state_of("mallory1")["device_id"].get<std::int64_t>());
  for (const char* answer : {" < /dev/null", " --yes"}) {
    cloud_sql("INSERT INTO notifications(to_device, from_device, kind, body) VALUES (" + alice1 +
                  ", " + mallory1 + ", 'recovery_accepted', ?1)",
              {forged.SerializeAsString()});
    // Whatever alice answers, no recovery key is made: she never invited mallory.
    const json watched = ok("alice1", std::string("watch --seconds 1") + answer);
    ASSERT_EQ(watched.size(), 1u);
    EXPECT_EQ(watched[0]["ignored"], true);
    for (const auto& r : ok("alice1", "shares")) EXPECT_NE(r["kind"], "REKEY_KIND_RECOVERY");
  }
  EXPECT_EQ(ok("alice1", "recovery status")["protected_by"].size(), 0u);
}

// Example 1, continued: the invitation is bound to the account it names and to its nonce.
TEST_F(Takeover, AnInvitationAnswersOnlyTheUserItWasSentTo) {
  make_user("alice");
  make_user("bob");
  enroll("mallory");
  ok("alice1", "recovery add bob");
  // mallory cannot reuse alice's invitation to bob (it arrived in bob's inbox, but even with
  // its bytes, it names bob).
  auto stub = server_->stub();
  hopboxd::test::TestDevice bob = session_of("bob1");
  const auto pending = hopboxd::test::inbox_of(*stub, bob);
  ASSERT_EQ(pending.size(), 1u);
  ASSERT_TRUE(pending[0].has_recovery_invitation());
  hopboxd::test::TestDevice mallory = session_of("mallory1"), mallory_key;
  EXPECT_EQ(hopboxd::test::register_recovery_key(*stub, mallory, "alice",
                                                 pending[0].recovery_invitation(), mallory_key)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // bob accepts; alice's client installs the key to bob's recovery key and only that.
  ok("bob1", "watch --seconds 1 --yes");
  const json answered = ok("alice1", "watch --seconds 1 < /dev/null");
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0]["approved"], true);
  EXPECT_EQ(ok("alice1", "recovery status")["protected_by"], json::array({"bob"}));
  // The same answer replayed (the cloud re-inserts it) does nothing more: the invitation is used.
  const json again = ok("alice1", "watch --seconds 1 --yes");
  EXPECT_EQ(again.size(), 0u);
}

// Example 2: a recipient swaps the CA's re-certification challenge into a shared item.
TEST_F(Takeover, ARecipientCannotRewriteASharedItemNorOpenTheCasChallenge) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("doc.txt", "alice's").string());
  ok("alice1", "share bob --yes");
  ok("bob1", "get doc.txt --owner alice -o " + (dir_ / "d0").string());
  // bob asks the CA for alice's challenge, for keys of his own making.
  hopboxd::test::TestDevice bob_new;
  auto ca = ca_->stub();
  v1::BeginRecertificationRequest begin;
  begin.set_identifier("alice");
  begin.set_signing_key(bob_new.keys().signing_key());
  begin.set_encryption_key(bob_new.keys().encryption_key());
  const std::string pk = bob_new.keys().encryption_key();
  const auto proof =
      certs::recertification_proof_message("alice", certs::Bytes(pk.begin(), pk.end()));
  begin.set_proof(bob_new.sign_message(std::string(proof.begin(), proof.end())));
  v1::BeginRecertificationResponse challenge;
  grpc::ClientContext cctx;
  ASSERT_TRUE(ca->BeginRecertification(&cctx, begin, &challenge).ok());
  // He tries to store it as alice's item, then to have it re-encrypted for himself.
  auto stub = server_->stub();
  hopboxd::test::TestDevice bob = session_of("bob1");
  // The item's opaque id at the cloud (issue 13), as bob's listing of what alice shares shows.
  const std::string doc_id = ok("bob1", "ls --shared")[0]["id"].get<std::string>();
  {
    grpc::ClientContext ctx;
    bob.authorize(ctx);
    v1::RefreshItemRequest req;
    req.set_owner("alice");
    req.set_item_id(doc_id);
    req.set_expected_version(1);
    req.set_capsule(challenge.capsule());
    req.set_wrapped_key(std::string(74, '\0'));
    v1::RefreshItemResponse resp;
    const grpc::Status s = stub->RefreshItem(&ctx, req, &resp);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.error_code(), grpc::StatusCode::INTERNAL);
  }
  {
    grpc::ClientContext ctx;
    bob.authorize(ctx);
    v1::ReencryptChallengeRequest req;
    req.set_capsule(challenge.capsule());
    v1::ReencryptChallengeResponse resp;
    EXPECT_FALSE(stub->ReencryptChallenge(&ctx, req, &resp).ok());
  }
  // alice's item is untouched: her devices and bob still read it, at version 1.
  ok("alice2", "get doc.txt -o " + (dir_ / "d1").string());
  EXPECT_EQ(read(dir_ / "d1"), "alice's");
  ok("bob1", "get doc.txt --owner alice -o " + (dir_ / "d2").string());
  EXPECT_EQ(read(dir_ / "d2"), "alice's");
  for (const auto& i : ok("alice1", "ls")) EXPECT_EQ(i["version"], 1);
}

// Strangers fill every place for alice's pending recoveries; alice, with no device left to
// cancel them, reads her new device's code to bob, who vouches for it: it enters, bob
// approves it, and it recovers with the keys it made the first time.
TEST_F(Takeover, ARecoveryUserVouchesForTheCodeAndTheNewDeviceGetsInDespiteStrangers) {
  make_user("alice");
  make_user("bob");
  bob_protects_alice();
  auto stub = server_->stub();
  std::vector<hopboxd::test::TestDevice> junk(8);
  for (auto& d : junk)
    ASSERT_TRUE(hopboxd::test::request_recovery(*stub, "alice", {"bob"}, d).ok());
  hopbox::testing::init_softhsm_token("alice3", "1234");
  const CliRun refused = hopbox(
      "alice3", "recover --via bob --user alice --token alice3 --device-name phone" + server_opts_);
  EXPECT_EQ(refused.exit_code, 1);
  const std::string error = last_error();
  EXPECT_NE(error.find("recovery expect alice"), std::string::npos) << error;
  const std::size_t at = error.find("this device's code: ");
  ASSERT_NE(at, std::string::npos) << error;
  const std::string code = error.substr(at + 20, 29);
  // alice's own secondary is no recovery user of hers: it cannot vouch.
  EXPECT_NE(hopbox("alice2", "recovery expect alice '" + code + "'").exit_code, 0);
  ok("bob1", "recovery expect alice '" + code + "'");
  // Asked again, with the same keys: it enters; bob is asked and compares the same code.
  const CliRun asked = hopbox("alice3", "recover --via bob");
  EXPECT_EQ(asked.exit_code, 1) << last_error();
  EXPECT_EQ(json::parse(asked.out.substr(0, asked.out.find('\n')))["short_code"], code);
  const json approved = ok("bob1", "watch --seconds 1 --yes");
  bool compared = false;
  for (const auto& n : approved)
    compared |= n["kind"] == "recovery-request" && n["short_code"] == code;
  EXPECT_TRUE(compared) << approved.dump();
  EXPECT_EQ(ok("alice3", "recover --via bob")["recovered"], true);
}

// Example 4: the codes people compare are safety-number length and commit to the exact keys.
TEST_F(Takeover, ComparedCodesAreLongAndNameTheKeysThatAreThenCertifiedOrReKeyed) {
  make_user("alice");
  make_user("bob");
  bob_protects_alice();
  hopbox::testing::init_softhsm_token("alice3", "1234");
  const CliRun asked = hopbox(
      "alice3", "recover --via bob --user alice --token alice3 --device-name phone" + server_opts_);
  EXPECT_EQ(asked.exit_code, 1);
  const json request = json::parse(asked.out.substr(0, asked.out.find('\n')));
  const std::string code = request["short_code"];
  EXPECT_EQ(code.size(), 29u);  // 25 digits in groups of five
  // bob is shown the code of the keys his approval re-keys to: the same.
  const json approved = ok("bob1", "watch --seconds 1 --yes");
  ASSERT_EQ(approved.size(), 1u);
  EXPECT_EQ(approved[0]["short_code"], code);
  // The pending device is not listed to anyone outside alice's account.
  auto stub = server_->stub();
  hopboxd::test::TestDevice bob = session_of("bob1");
  grpc::ClientContext ctx;
  bob.authorize(ctx);
  v1::ListDevicesRequest req;
  req.set_user("alice");
  v1::ListDevicesResponse listed;
  ASSERT_TRUE(stub->ListDevices(&ctx, req, &listed).ok());
  for (const auto& d : listed.devices()) EXPECT_FALSE(d.pending_recovery());
  EXPECT_EQ(listed.devices_size(), 2);
}

// The issue's consequence: a sharer's client moved shares to a changed key without asking.
TEST_F(Takeover, ASharerSeesTheChangedSafetyNumberAndIsAskedBeforeSharesMove) {
  make_user("alice");
  make_user("bob");
  ok("bob1", "put " + file("b.txt", "bob's").string());
  const std::string before = ok("alice1", "whoami")["safety_number"];
  ok("bob1", "share alice --yes");
  ok("alice2", "recover --yes");
  const std::string after = ok("alice2", "whoami")["safety_number"];
  // Without an answer (no --yes, nothing typed), nothing moves and the question stays.
  const json declined = ok("bob1", "watch --seconds 1 < /dev/null");
  ASSERT_EQ(declined.size(), 1u);
  EXPECT_EQ(declined[0]["followed"], false);
  EXPECT_EQ(declined[0]["previous_fingerprint"], before);
  EXPECT_EQ(declined[0]["fingerprint"], after);
  EXPECT_NE(before, after);
  EXPECT_EQ(ok("alice2", "get b.txt --owner bob -o " + (dir_ / "b1").string())["reencryptions"], 2);
  // Asked again, and answered yes: the share moves to the new key.
  const json followed = ok("bob1", "watch --seconds 1 --yes");
  ASSERT_EQ(followed.size(), 1u);
  EXPECT_EQ(followed[0]["shares_moved"], 1);
  EXPECT_EQ(ok("alice2", "get b.txt --owner bob -o " + (dir_ / "b2").string())["reencryptions"], 1);
}

// R1 completes only with the CA's new primary certificate (issued after the CA's own waiting
// period), never with the secondary's chain through the primary it replaces.
TEST_F(Takeover, ASecondaryCannotTakeOverAtTheServiceWithItsOldChain) {
  make_user("alice");
  auto stub = server_->stub();
  hopboxd::test::TestDevice thief = session_of("alice2");
  {
    grpc::ClientContext ctx;
    thief.authorize(ctx);
    v1::AnnouncePromotionResponse resp;
    ASSERT_TRUE(stub->AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp).ok());
  }
  grpc::ClientContext ctx;
  thief.authorize(ctx);
  v1::PromoteDeviceRequest req;
  req.set_lost_device_id(state_of("alice1")["device_id"].get<std::int64_t>());
  const auto chain = mupre::from_hex(state_of("alice2")["certificate_chain"].get<std::string>());
  ASSERT_TRUE(chain.has_value());
  req.set_certificate_chain(std::string(chain->begin(), chain->end()));
  v1::PromoteDeviceResponse resp;
  EXPECT_EQ(stub->PromoteDevice(&ctx, req, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ok("alice1", "ls");  // still the primary
}

// R1 across the CA's revocation (seen once in CI): the CA revokes the old primary when it
// certifies the secondary, and the service may fetch that revocation before the secondary's
// PromoteDevice arrives. The secondary's chain then ends at a revoked certificate; it must
// still finish its own recovery (and nothing else), and a retry must get the same certificate
// from the CA.
TEST_F(Takeover, ARecoveryCompletesAfterTheServiceLearnsOfTheCasRevocationFirst) {
  make_user("alice");
  const std::int64_t alice2_id = state_of("alice2")["device_id"].get<std::int64_t>();
  hopboxd::test::TestDevice secondary = session_of("alice2");
  auto stub = server_->stub();
  {
    grpc::ClientContext ctx;
    secondary.authorize(ctx);
    v1::AnnouncePromotionResponse resp;
    ASSERT_TRUE(stub->AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp).ok());
  }
  // What the secondary's client does at the CA just before PromoteDevice.
  const json s = state_of("alice2");
  const auto chain = mupre::from_hex(s["certificate_chain"].get<std::string>());
  ASSERT_TRUE(chain.has_value());
  const auto decoded = certs::decode_chain(*chain);
  ASSERT_EQ(decoded.size(), 2u);
  auto recover_at_ca = [&](v1::RecoverPrimaryResponse* resp) {
    const auto token = hopbox::Token::open(SOFTHSM_MODULE, s["token_label"], "1234");
    const certs::Bytes signature =
        token->sign(s["key_label"], certs::recover_primary_message(decoded.back()));
    grpc::ClientContext ctx;
    v1::RecoverPrimaryRequest req;
    req.set_requester_chain(std::string(chain->begin(), chain->end()));
    req.set_signature(std::string(signature.begin(), signature.end()));
    return ca_->stub()->RecoverPrimary(&ctx, req, resp);
  };
  v1::RecoverPrimaryResponse first;
  ASSERT_TRUE(recover_at_ca(&first).ok());
  ASSERT_FALSE(first.certificate().empty());
  // The service polls the CA every second: wait until it refuses the revoked primary.
  for (int i = 0; i < 100 && hopbox("alice1", "ls").exit_code == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_NE(hopbox("alice1", "ls").exit_code, 0) << "the service never learnt of the revocation";
  // Asked again, the CA hands the secondary the certificate it issued, and nothing new.
  v1::RecoverPrimaryResponse again;
  ASSERT_TRUE(recover_at_ca(&again).ok());
  EXPECT_EQ(again.certificate(), first.certificate());
  // Until then the secondary may do only what completes its recovery.
  {
    grpc::ClientContext ctx;
    secondary.authorize(ctx);
    v1::ListItemsResponse items;
    EXPECT_EQ(stub->ListItems(&ctx, v1::ListItemsRequest(), &items).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  ok("alice2", "recover --yes");
  EXPECT_EQ(ok("alice2", "whoami")["device_id"], alice2_id);
  ok("alice2", "ls");
}

class TakeoverWithWaitingPeriod : public Takeover {
 protected:
  std::string recovery_wait() const override { return "86400"; }
};

TEST_F(TakeoverWithWaitingPeriod, ASecondarysTakeOverWaitsIsAnnouncedAndIsCancelled) {
  make_user("alice");
  // The secondary announces at the service and at the CA; nothing irreversible happens.
  const CliRun announced = hopbox("alice2", "recover --yes");
  EXPECT_EQ(announced.exit_code, 1);
  EXPECT_NE(last_error().find("announced"), std::string::npos) << last_error();
  // The primary hears of it (from the CA and the service), lists it and cancels it.
  const json told = ok("alice1", "watch --seconds 1");
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told[0]["kind"], "ca-recovery-started");
  EXPECT_EQ(told[1]["kind"], "recovery-started");
  EXPECT_EQ(told[1]["new_device"], false);
  EXPECT_EQ(ok("alice1", "recovery list").size(), 1u);
  const json cancelled = ok("alice1", "recovery cancel");
  EXPECT_EQ(cancelled["cancelled"], 1);
  EXPECT_EQ(cancelled["cancelled_at_ca"], 1);
  EXPECT_EQ(ok("alice1", "recovery list").size(), 0u);
  // alice's primary is still the primary, certified and working.
  ok("alice1", "put " + file("x.txt", "still here").string());
  ok("alice2", "get x.txt -o " + (dir_ / "x").string());
  EXPECT_EQ(ok("alice1", "whoami")["device_id"], state_of("alice1")["device_id"]);
}

// Issue 12: a thief holding an unlocked secondary skips the service and asks the CA directly.
// The CA waits too, so the genuine primary is not revoked, hears of it and cancels it.
TEST_F(TakeoverWithWaitingPeriod,
       ASecondaryThatCallsTheCaDirectlyGetsNoCertificateAndThePrimaryCancels) {
  make_user("alice");
  // The thief's client announces at both.
  EXPECT_EQ(hopbox("alice2", "recover --yes").exit_code, 1);
  EXPECT_NE(last_error().find("announced at the CA"), std::string::npos) << last_error();
  // The thief's own request over the real API: the secondary's chain, signed by its token.
  std::string chain;
  {
    auto stub = server_->stub();
    hopboxd::test::TestDevice thief = session_of("alice2");
    grpc::ClientContext ctx;
    thief.authorize(ctx);
    v1::ListDevicesRequest req;
    req.set_user("alice");
    v1::ListDevicesResponse listed;
    ASSERT_TRUE(stub->ListDevices(&ctx, req, &listed).ok());
    for (const auto& d : listed.devices()) {
      if (d.device_id() == thief.id) chain = d.keys().certificate_chain();
    }
  }
  const auto decoded = certs::decode_chain(certs::Bytes(chain.begin(), chain.end()));
  ASSERT_EQ(decoded.size(), 2u);
  auto recover_at_ca = [&](v1::RecoverPrimaryResponse* resp) {
    const json s = state_of("alice2");
    const auto token = hopbox::Token::open(SOFTHSM_MODULE, s["token_label"], "1234");
    const certs::Bytes signature =
        token->sign(s["key_label"], certs::recover_primary_message(decoded.back()));
    grpc::ClientContext ctx;
    v1::RecoverPrimaryRequest req;
    req.set_requester_chain(chain);
    req.set_signature(std::string(signature.begin(), signature.end()));
    return ca_->stub()->RecoverPrimary(&ctx, req, resp);
  };
  auto waiting_at_ca = [&]() {
    grpc::ClientContext ctx;
    v1::ListPrimaryRecoveriesRequest req;
    req.set_identifier("alice");
    v1::ListPrimaryRecoveriesResponse resp;
    EXPECT_TRUE(ca_->stub()->ListPrimaryRecoveries(&ctx, req, &resp).ok());
    return resp.announcements_size();
  };
  const std::int64_t now = std::time(nullptr);
  v1::RecoverPrimaryResponse direct;
  ASSERT_TRUE(recover_at_ca(&direct).ok());
  EXPECT_TRUE(direct.certificate().empty());
  EXPECT_GT(direct.not_before(), now + 86000);
  EXPECT_EQ(waiting_at_ca(), 1);
  // The genuine primary is not revoked: it still signs in and is trusted.
  ok("alice1", "ls");
  EXPECT_EQ(ok("alice1", "whoami")["device_id"], state_of("alice1")["device_id"]);
  // Its watch warns of the take-over waiting at the CA.
  bool warned = false;
  for (const auto& n : ok("alice1", "watch --seconds 1")) {
    if (n["kind"] == "ca-recovery-started") {
      warned = true;
      EXPECT_EQ(n["not_before"], direct.not_before());
    }
  }
  EXPECT_TRUE(warned);
  // The primary cancels at the CA (and at the service).
  const json cancelled = ok("alice1", "recovery cancel");
  EXPECT_EQ(cancelled["cancelled_at_ca"], 1);
  EXPECT_EQ(waiting_at_ca(), 0);
  // The thief asks the CA again: a fresh waiting period, no certificate.
  v1::RecoverPrimaryResponse again;
  ASSERT_TRUE(recover_at_ca(&again).ok());
  EXPECT_TRUE(again.certificate().empty());
  EXPECT_GE(again.not_before(), direct.not_before());
  EXPECT_EQ(waiting_at_ca(), 1);
  // A requester cancels nothing at the CA (it could otherwise clear a rival's request); the
  // primary, still not revoked, cancels again.
  EXPECT_EQ(ok("alice2", "recovery cancel")["cancelled_at_ca"], 0);
  EXPECT_EQ(waiting_at_ca(), 1);
  ok("alice1", "ls");
  EXPECT_EQ(ok("alice1", "recovery cancel")["cancelled_at_ca"], 1);
  EXPECT_EQ(waiting_at_ca(), 0);
}

// A new device's keys asking the CA for alice's re-certification challenge.
v1::BeginRecertificationResponse ca_challenge_for(hopbox_ca::test::TestCa& ca,
                                                  const hopboxd::test::TestDevice& d) {
  v1::BeginRecertificationRequest begin;
  begin.set_identifier("alice");
  begin.set_signing_key(d.keys().signing_key());
  begin.set_encryption_key(d.keys().encryption_key());
  const std::string pk = d.keys().encryption_key();
  const auto proof =
      certs::recertification_proof_message("alice", certs::Bytes(pk.begin(), pk.end()));
  begin.set_proof(d.sign_message(std::string(proof.begin(), proof.end())));
  v1::BeginRecertificationResponse challenge;
  grpc::ClientContext ctx;
  EXPECT_TRUE(ca.stub()->BeginRecertification(&ctx, begin, &challenge).ok());
  return challenge;
}

// Strangers asking the CA for alice's challenge fill nothing and announce nothing; the new
// device that recovery users approved proves itself to the CA during the service's waiting
// period (the cloud re-encrypts the CA's challenge for it, and only that), so both periods run
// side by side, announced; one of alice's devices cancels at both.
TEST_F(TakeoverWithWaitingPeriod, ANewDevicesRecoveryWaitsAndTheAccountCancelsIt) {
  make_user("alice");
  make_user("bob");
  bob_protects_alice();
  for (int i = 0; i < 6; ++i) {
    hopboxd::test::TestDevice stranger;
    const auto challenge = ca_challenge_for(*ca_, stranger);
    grpc::ClientContext ctx;
    v1::CompleteRecertificationRequest req;
    req.set_identifier("alice");
    req.set_signing_key(stranger.keys().signing_key());
    req.set_encryption_key(stranger.keys().encryption_key());
    req.set_ticket(challenge.ticket());
    req.set_answer(std::string(32, 'x'));
    v1::CompleteRecertificationResponse resp;
    EXPECT_EQ(ca_->stub()->CompleteRecertification(&ctx, req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(ok("alice1", "watch --seconds 1").size(), 0u);
  hopbox::testing::init_softhsm_token("alice3", "1234");
  EXPECT_EQ(hopbox("alice3", "recover --via bob --user alice --token alice3 --device-name phone" +
                                 server_opts_)
                .exit_code,
            1);
  // Even approved by bob, the new device is not certified before the period ends.
  ok("bob1", "watch --seconds 1 --yes");
  const CliRun early = hopbox("alice3", "recover --via bob");
  EXPECT_NE(early.exit_code, 0);
  EXPECT_NE(last_error().find("waiting period"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("at the CA until"), std::string::npos) << last_error();
  // The service re-encrypts for the waiting device only the CA's challenge for its own key:
  // neither a capsule of alice's (here a fresh one for her primary's key) nor a challenge the
  // CA made for someone else.
  {
    auto stub = server_->stub();
    hopboxd::test::TestDevice pending;
    pending.token = state_of("alice3")["session_token"].get<std::string>();
    hopboxd::test::TestDevice alice = session_of("alice1");
    v1::ReencryptChallengeResponse resp;
    auto reencrypt = [&](const v1::ReencryptChallengeRequest& req) {
      grpc::ClientContext ctx;
      pending.authorize(ctx);
      return stub->ReencryptChallenge(&ctx, req, &resp);
    };
    grpc::ClientContext ctx;
    alice.authorize(ctx);
    v1::ListDevicesRequest list;
    list.set_user("alice");
    v1::ListDevicesResponse listed;
    ASSERT_TRUE(stub->ListDevices(&ctx, list, &listed).ok());
    std::string primary_key;
    for (const auto& d : listed.devices()) {
      if (d.primary()) primary_key = d.keys().encryption_key();
    }
    auto pk = mupre::PublicKey::decode(certs::Bytes(primary_key.begin(), primary_key.end()));
    ASSERT_TRUE(pk);
    const auto item_like = mupre::encapsulate(*pk).capsule.encode();
    v1::ReencryptChallengeRequest req;
    req.set_capsule(std::string(item_like.begin(), item_like.end()));
    EXPECT_EQ(reencrypt(req).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    hopboxd::test::TestDevice other;
    const auto others = ca_challenge_for(*ca_, other);
    req.set_capsule(others.capsule());
    req.set_expires_at(others.expires_at());
    req.set_ca_signature(others.signature());
    EXPECT_EQ(reencrypt(req).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    req.set_capsule(std::string(item_like.begin(), item_like.end()));  // its signature, another
    EXPECT_EQ(reencrypt(req).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  }
  // alice's devices were told, by the service and by the CA; one of them cancels at both; the
  // new device is gone.
  const json told = ok("alice2", "watch --seconds 1");
  ASSERT_EQ(told.size(), 2u);
  EXPECT_EQ(told[0]["kind"], "ca-recovery-started");
  EXPECT_EQ(told[1]["kind"], "recovery-started");
  EXPECT_EQ(told[1]["new_device"], true);
  const json cancelled = ok("alice2", "recovery cancel");
  EXPECT_EQ(cancelled["cancelled"], 1);
  EXPECT_EQ(cancelled["cancelled_at_ca"], 1);
  EXPECT_NE(hopbox("alice3", "recover --via bob").exit_code, 0);
  ok("alice1", "ls");
}

// alice cancels a recovery while nothing waits at the CA yet; the new device had opened a
// CA challenge (approved by bob, tricked, or by a thief's secondary) and answers it only
// afterwards, within the ticket's ten minutes. Were it recorded, the cancelled recovery would
// stand again at the CA (and, its period passed, certify the same keys at once on a later
// request). `recovery cancel` cancels at the CA too, which voids every earlier challenge.
TEST_F(TakeoverWithWaitingPeriod, ARecoveryCancelledAtTheServiceCannotBeAnnouncedAtTheCaAfter) {
  make_user("alice");
  make_user("bob");
  bob_protects_alice();
  auto stub = server_->stub();
  hopboxd::test::TestDevice thief;
  ASSERT_TRUE(hopboxd::test::request_recovery(*stub, "alice", {"bob"}, thief).ok());
  ASSERT_TRUE(thief.login(*stub).ok());
  ok("bob1", "watch --seconds 1 --yes");
  const auto challenge = ca_challenge_for(*ca_, thief);
  v1::ReencryptChallengeResponse opened;
  {
    grpc::ClientContext ctx;
    thief.authorize(ctx);
    v1::ReencryptChallengeRequest req;
    req.set_capsule(challenge.capsule());
    req.set_expires_at(challenge.expires_at());
    req.set_ca_signature(challenge.signature());
    const grpc::Status s = stub->ReencryptChallenge(&ctx, req, &opened);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const certs::Bytes capsule(opened.capsule().begin(), opened.capsule().end());
  auto c = mupre::Ciphertext::decode(capsule);
  ASSERT_TRUE(c);
  auto k = mupre::decapsulate(*thief.key, *c);
  ASSERT_TRUE(k);
  const std::string ek = thief.keys().encryption_key();
  const certs::Bytes answer =
      certs::recertification_answer(k->bytes(), certs::Bytes(ek.begin(), ek.end()));
  // alice hears of it and cancels; nothing waits at the CA yet.
  const json cancelled = ok("alice1", "recovery cancel");
  EXPECT_EQ(cancelled["cancelled"], 1);
  // The thief answers now.
  grpc::ClientContext ctx;
  v1::CompleteRecertificationRequest req;
  req.set_identifier("alice");
  req.set_signing_key(thief.keys().signing_key());
  req.set_encryption_key(ek);
  req.set_ticket(challenge.ticket());
  req.set_answer(std::string(answer.begin(), answer.end()));
  req.set_announce_only(true);
  v1::CompleteRecertificationResponse resp;
  const grpc::Status s = ca_->stub()->CompleteRecertification(&ctx, req, &resp);
  EXPECT_FALSE(s.ok()) << "the CA announced a recovery that alice had cancelled, until "
                       << resp.not_before();
  grpc::ClientContext lctx;
  v1::ListPrimaryRecoveriesRequest list;
  list.set_identifier("alice");
  v1::ListPrimaryRecoveriesResponse listed;
  ASSERT_TRUE(ca_->stub()->ListPrimaryRecoveries(&lctx, list, &listed).ok());
  EXPECT_EQ(listed.announcements_size(), 0);
}

// The cloud names another revoked certificate as the primary a recovery replaces: bob's stolen
// primary, revoked when bob recovered. If alice's new primary trusted it again, the cloud could
// then present the thief's key as bob's primary and have alice share her account with it.
TEST_F(Takeover, ARecoveryTrustsAgainOnlyThePrimaryItReplacedNeverACertificateTheCloudNames) {
  make_user("alice");
  make_user("bob");
  ok("bob2", "recover --yes");  // bob1 is stolen: bob2 replaces it, the CA revokes bob1
  cloud_sql(
      "UPDATE devices SET certificate_chain = (SELECT certificate_chain FROM devices "
      "WHERE id = " +
      first_device("bob") + ") WHERE id = " + first_device("alice"));
  ok("alice2", "recover --yes");
  cloud_sql(
      "UPDATE devices SET (signing_key, encryption_key, certificate_chain) = (SELECT "
      "signing_key, encryption_key, certificate_chain FROM devices WHERE id = " +
      first_device("bob") + ") WHERE id = " + device_row("bob", "d.is_primary = 1"));
  EXPECT_EQ(hopbox("alice2", "share bob --yes").exit_code, 4);
  EXPECT_NE(last_error().find("revoked"), std::string::npos) << last_error();
  for (const auto& r : ok("alice2", "shares")) EXPECT_NE(r["kind"], "REKEY_KIND_SHARE");
}

// The cloud lists the lost primary's own keys once more, as another device of the account. A
// recovering device that certified them would make the thief holding the lost primary a device
// of the account again: they stay revoked, the device is not kept, and the recovery completes.
TEST_F(Takeover, ARecoveryNeverCertifiesTheLostPrimarysKeysListedAgainAsAnotherDevice) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  list_alice_primary_again(std::string(32, '\x5a'));
  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["devices_refused"], 1);
  EXPECT_EQ(r["devices_kept"], 0);
  EXPECT_EQ(r["items_refreshed"], 1);
  ok("alice2", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "alice's");
}

// R2: the CA certified the new device and revoked the lost primary, then the service failed to
// make the device the primary. Asked again, the device must replace the same lost primary (the
// one the CA named), not the certificate it was just given: otherwise it would refuse every
// device and item the lost primary certified and signed, half-way through its rebuild.
TEST_F(Takeover, AnR2RecoveryWhoseTakeOverFailedCompletesWhenAskedAgain) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  bob_protects_alice();
  hopbox::testing::init_softhsm_token("alice3", "1234");
  EXPECT_EQ(hopbox("alice3", "recover --via bob --user alice --token alice3 --device-name phone" +
                                 server_opts_)
                .exit_code,
            1);
  ok("bob1", "watch --seconds 1 --yes");
  fail_on("refuse_promotion", "UPDATE OF is_primary ON devices");
  EXPECT_NE(hopbox("alice3", "recover --via bob").exit_code, 0);
  stop_failing("refuse_promotion");
  const json r = ok("alice3", "recover --via bob");
  EXPECT_EQ(r["recovered"], true);
  EXPECT_EQ(r["devices_kept"], 1);  // alice2, which the lost primary certified
  EXPECT_EQ(r["devices_refused"], 0);
  EXPECT_EQ(r["items_refreshed"], 1);
  ok("alice2", "get a.txt -o " + (dir_ / "a2").string());
  EXPECT_EQ(read(dir_ / "a2"), "alice's");
}

// Once a recovery has refreshed everything, the lost primary's signature counts for nothing on
// the new primary either: the cloud serving an item as the lost primary signed it (a version it
// kept back, or one a thief made with the stolen device) is refused.
TEST_F(Takeover, AfterARecoveryRefreshedEverythingTheLostPrimarysSignatureCountsForNothing) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "as the lost primary signed it").string());
  cloud_sql("CREATE TABLE kept_back AS SELECT * FROM items");
  EXPECT_EQ(ok("alice2", "recover --yes")["items_refreshed"], 1);
  cloud_sql(
      "UPDATE items SET (capsule, wrapped_key, metadata, payload_header, payload_digest, "
      "payload_size, signature) = (SELECT k.capsule, k.wrapped_key, k.metadata, "
      "k.payload_header, k.payload_digest, k.payload_size, k.signature FROM kept_back k "
      "WHERE k.item_id = items.item_id AND k.owner_id = items.owner_id) WHERE item_id IN "
      "(SELECT item_id FROM kept_back)");
  EXPECT_EQ(hopbox("alice2", "get a.txt -o " + (dir_ / "a").string()).exit_code, 4);
  EXPECT_NE(last_error().find("revoked"), std::string::npos) << last_error();
}

// The cloud lists a device-certified key as an account's primary: a secondary (a stolen one),
// or a key that a lost primary in a thief's hands certified. Uploads would be encrypted for it
// and shares made to it; a primary's certificate is the CA's own, issued by the root.
TEST_F(Takeover, AKeyThatADeviceCertifiedIsNeverTakenForAPrimary) {
  make_user("alice");
  make_user("bob");
  cloud_sql(
      "UPDATE devices SET is_primary = (name <> 'primary') WHERE user_id IN "
      "(SELECT id FROM users WHERE name IN ('alice', 'bob'))");
  EXPECT_EQ(hopbox("alice1", "put " + file("s.txt", "secret").string()).exit_code, 4);
  EXPECT_NE(last_error().find("a device certified"), std::string::npos) << last_error();
  EXPECT_EQ(hopbox("alice1", "share bob --yes").exit_code, 4);
  EXPECT_NE(last_error().find("a device certified"), std::string::npos) << last_error();
  for (const auto& r : ok("alice1", "shares")) EXPECT_NE(r["kind"], "REKEY_KIND_SHARE");
}

// The cloud lists shares and recovery keys as the lost primary's that it never made: a share
// of every item with mallory, alice's folder share with bob widened to every item, and a
// recovery key to a device of mallory's that it lists as made for alice. Made again from the
// new primary's key, they would give mallory alice's items and the means to recover her
// account. Only what the lost primary signed is made again; the rest is named and refused.
TEST_F(Takeover, ARecoveryRemakesOnlyTheSharesAndRecoveryKeysTheLostPrimarySigned) {
  make_user("alice");
  make_user("bob");
  for (const char* t : {"mallory1", "mallory2"}) hopbox::testing::init_softhsm_token(t, "1234");
  make_user("mallory");
  ok("alice1", "put " + file("p.txt", "alice's private").string());
  ok("alice1", "put " + file("w.txt", "alice's work").string() + " --folder work");
  ok("alice1", "share bob --yes --folder work");
  cloud_sql("UPDATE rekeys SET scope = 0, folder = '' WHERE kind = 1 AND to_device = " +
            first_device("bob"));
  cloud_sql(forged_edge(1, first_device("alice"), first_device("mallory")));
  const std::string mallory2 = device_row("mallory", "d.name <> 'primary'");
  cloud_sql(
      "UPDATE devices SET recovery_for = (SELECT id FROM users WHERE name = 'alice') "
      "WHERE id = " +
      mallory2);
  cloud_sql(forged_edge(2, first_device("alice"), mallory2));

  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["shares_remade"], 0);
  EXPECT_EQ(r["recovery_keys_remade"], 0);
  EXPECT_EQ(r["edges_refused"], 3);
  const std::string warnings = last_error();
  std::size_t named = 0;
  for (auto at = warnings.find("the lost primary did not sign it"); at != std::string::npos;
       at = warnings.find("the lost primary did not sign it", at + 1)) {
    ++named;
  }
  EXPECT_EQ(named, 3u) << warnings;
  EXPECT_EQ(ok("alice2", "recovery status")["protected_by"].size(), 0u);
  EXPECT_NE(hopbox("mallory1", "get p.txt --owner alice -o " + (dir_ / "m").string()).exit_code, 0);
  EXPECT_NE(hopbox("bob1", "get p.txt --owner alice -o " + (dir_ / "b").string()).exit_code, 0);
}

// After alice's recovery, bob's device moves the shares it lists to alice's new primary. The
// cloud adds one bob never made: moved, it would give alice (with the cloud) bob's items.
TEST_F(Takeover, ASharerMovesToARecoveredUserOnlyTheSharesItsDevicesSigned) {
  make_user("alice");
  make_user("bob");
  ok("bob1", "put " + file("b.txt", "bob's own").string());
  cloud_sql(forged_edge(1, first_device("bob"), first_device("alice")));
  ok("alice2", "recover --yes");
  const json followed = ok("bob1", "watch --seconds 1 --yes");
  ASSERT_EQ(followed.size(), 1u);
  EXPECT_EQ(followed[0]["followed"], true);
  EXPECT_EQ(followed[0]["shares_moved"], 0);
  EXPECT_NE(last_error().find("did not sign it"), std::string::npos) << last_error();
  EXPECT_NE(hopbox("alice2", "get b.txt --owner bob -o " + (dir_ / "b").string()).exit_code, 0);
}

// The thief holding the lost primary certifies that primary's own keys once more, as a new
// device (its certificate is still tolerated while the recovery re-certifies what it
// certified), and the cloud lists it. Kept, the stolen device would be one of the account's
// again, under the new primary's certificate.
TEST_F(Takeover, ARecoveryNeverKeepsTheLostPrimarysKeysThatItCertifiedAnew) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  const json stolen = state_of("alice1");
  const auto chain = mupre::from_hex(stolen["certificate_chain"].get<std::string>());
  ASSERT_TRUE(chain.has_value());
  const certs::Bytes primary = certs::decode_chain(*chain).front();
  const certs::CertificateInfo keys = certs::inspect_certificate(primary);
  const auto token = hopbox::Token::open(SOFTHSM_MODULE, stolen["token_label"], "1234");
  const std::int64_t now = std::time(nullptr);
  certs::Bytes anew = certs::issue_certificate(
      {"alice", keys.signing_key, keys.encryption_key, 77, now - 60, now + 3600}, primary,
      [&](std::span<const std::uint8_t> m) { return token->sign(stolen["key_label"], m); });
  anew.insert(anew.end(), chain->begin(), chain->end());
  list_alice_primary_again(std::string(32, '\x5b'), std::string(anew.begin(), anew.end()));
  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["devices_refused"], 1);
  EXPECT_EQ(r["devices_kept"], 0);
  EXPECT_NE(last_error().find("its keys are the lost primary's"), std::string::npos)
      << last_error();
  ok("alice2", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "alice's");
}

// The cloud fails the rebuild after the take-over (here every item refresh). Were the rebuild
// not resumed, the recovering device would keep trusting the lost primary's certificate for
// good (it ends only once every item is refreshed), and whatever a thief signs with it. Asked
// again, the recovery goes on where it stopped, without making its share twice.
TEST_F(Takeover, ARebuildTheCloudFailedHalfWayIsResumedAndThenTrustsTheLostPrimaryNoMore) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  ok("alice1", "share bob --yes");
  fail_on("refuse_refresh", "UPDATE ON items");
  EXPECT_NE(hopbox("alice2", "recover --yes").exit_code, 0);
  EXPECT_NE(state_of("alice2")["replaced_primaries"].size(), 0u);
  EXPECT_NE(state_of("alice2")["rebuild_lost_device"], 0);
  const std::string shares_from_alice2 =
      "SELECT COUNT(*) FROM rekeys WHERE kind = 1 AND from_device = " +
      device_row("alice", "d.name <> 'primary'");
  EXPECT_EQ(cloud_int(shares_from_alice2), 1);  // made before the refresh failed
  stop_failing("refuse_refresh");
  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["shares_remade"], 1);
  EXPECT_EQ(r["items_refreshed"], 1);
  EXPECT_EQ(cloud_int(shares_from_alice2), 1);
  const json state = state_of("alice2");
  EXPECT_EQ(state["replaced_primaries"].size(), 0u);
  EXPECT_EQ(state["rebuild_lost_device"], 0);
  ok("bob1", "get a.txt --owner alice -o " + (dir_ / "b").string());
  EXPECT_EQ(read(dir_ / "b"), "alice's");
  EXPECT_EQ(hopbox("alice2", "recover --yes").exit_code, 2);  // the primary already
}

// The service fails (an internal error, not a refusal) while the rebuild makes a share again.
// Counted as refused, the share would be dropped for good once the rebuild completed: a cloud
// could narrow whom the account shares with by failing one call. The rebuild stops instead,
// says to try again, and makes the share when resumed.
TEST_F(Takeover, AServiceFailureWhileMakingAShareAgainStopsTheRebuildWhichMakesItWhenResumed) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  ok("alice1", "share bob --yes");
  fail_on("refuse_share", "INSERT ON rekeys WHEN NEW.kind = 1");
  EXPECT_EQ(hopbox("alice2", "recover --yes").exit_code, 5);
  EXPECT_NE(last_error().find("try again"), std::string::npos) << last_error();
  EXPECT_NE(state_of("alice2")["rebuild_lost_device"], 0);
  stop_failing("refuse_share");
  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["shares_remade"], 1);
  EXPECT_EQ(r["edges_refused"], 0);
  ok("bob1", "get a.txt --owner alice -o " + (dir_ / "b").string());
  EXPECT_EQ(read(dir_ / "b"), "alice's");
}

// A rebuild that stopped half-way keeps the lost primary's certificate tolerated on this device
// until it ends (what it signed before the loss is re-signed then). Any other command in
// between would trust whatever a thief signs with it: only `recover` does; the others work
// without it and say that the recovery is pending.
TEST_F(Takeover, AHalfDoneRecoveryTrustsTheLostPrimaryOnlyInsideRecover) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  alices_recovery_stops_at_the_items();
  EXPECT_EQ(hopbox("alice2", "get a.txt -o " + (dir_ / "a").string()).exit_code, 4);
  EXPECT_NE(last_error().find("run `hopbox recover` again"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "a"));
  ok("alice2", "device list");  // what does not need the lost primary works
  ok("alice2", "recover --yes");
  ok("alice2", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "alice's");
}

// `recover --no-refresh` leaves the items signed by the lost primary. The thief holding it goes
// on signing (the cloud lets it in again): only the signatures the recovery found stay trusted
// on the recovered device, nothing the lost primary signs later.
TEST_F(Takeover, AfterARecoveryWithoutRefreshNothingTheLostPrimarySignsLaterIsTrusted) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  ok("alice2", "put " + file("b.txt", "through the lost primary").string());
  const json r = ok("alice2", "recover --yes --no-refresh");
  EXPECT_EQ(r["items_refreshed"], 0);
  EXPECT_EQ(state_of("alice2")["pinned_item_signatures"].size(), 2u);
  ok("alice2", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "alice's");
  ok("alice2", "get b.txt -o " + (dir_ / "b").string());  // its chain holds the lost primary
  EXPECT_EQ(read(dir_ / "b"), "through the lost primary");
  // The cloud lets the lost primary in again, heeding neither the lock-out nor the CA.
  server_->restart_replacing({"--recovery-wait-seconds", recovery_wait()});
  cloud_sql("UPDATE devices SET lost = 0 WHERE id = " + first_device("alice"));
  ok("alice1", "put " + file("later.txt", "the thief's").string());
  EXPECT_EQ(hopbox("alice2", "get later.txt -o " + (dir_ / "l").string()).exit_code, 4)
      << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "l"));
  // Refreshed, the item is this device's own signature: the pin is needed no more.
  ok("alice2", "refresh a.txt");
  EXPECT_EQ(state_of("alice2")["pinned_item_signatures"].size(), 1u);
  ok("alice2", "get a.txt -o " + (dir_ / "a2").string());
  EXPECT_EQ(read(dir_ / "a2"), "alice's");
}

// alice removed bob as a recovery user; the cloud kept his recovery key and the edge to it, with
// the statement the lost primary signed, and lists them again when alice recovers. Made again
// from the new primary, bob (with the cloud) could take the account over. A recovery keeps only
// the recovery users its user names: bob is dropped, and named in the report.
TEST_F(Takeover, ARecoveryKeepsOnlyTheRecoveryUsersItsUserNamesNotOnesTheCloudReplays) {
  make_user("alice");
  make_user("bob");
  bob_protects_alice();
  const std::string bobs_key =
      "SELECT id FROM devices WHERE recovery_for = (SELECT id FROM users WHERE name = 'alice')";
  cloud_sql("CREATE TABLE kept_devices AS SELECT * FROM devices WHERE id IN (" + bobs_key + ")");
  cloud_sql("CREATE TABLE kept_rekeys AS SELECT * FROM rekeys WHERE kind = 2");
  EXPECT_EQ(ok("alice1", "recovery remove bob")["keys_revoked"], 2);
  cloud_sql("INSERT INTO devices SELECT * FROM kept_devices");
  cloud_sql("INSERT INTO rekeys SELECT * FROM kept_rekeys");
  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["recovery_keys_remade"], 0);
  EXPECT_EQ(r["recovery_users_dropped"], json::array({"bob"}));
  EXPECT_EQ(r["remade"], json::array());
  EXPECT_EQ(ok("alice2", "recovery status")["protected_by"], json::array());
  EXPECT_EQ(cloud_int("SELECT COUNT(*) FROM rekeys WHERE kind = 2 AND from_device = " +
                      state_of("alice2")["device_id"].dump()),
            0);
  // The same count finds the replayed edge from the lost primary.
  EXPECT_EQ(cloud_int("SELECT COUNT(*) FROM rekeys WHERE kind = 2 AND from_device = " +
                      state_of("alice1")["device_id"].dump()),
            1);
}

// An item that is not authentic even with the lost primary trusted (here uploaded by a device
// alice removed before, whose certificate is revoked) cannot be refreshed. Stopping there would
// stop every resume there too: the rebuild names it, leaves it unreadable, and completes.
TEST_F(Takeover, ARecoveryGoesOnPastAnItemThatIsNotAuthenticAndNamesIt) {
  make_user("alice");
  hopbox::testing::init_softhsm_token("alice3", "1234");
  const json add =
      ok("alice3", "device add --user alice --token alice3 --device-name tablet" + server_opts_);
  ok("alice1", "device approve --yes " + add["pairing_code"].get<std::string>());
  ok("alice3", "put " + file("t.txt", "from the tablet").string());
  ok("alice1", "device remove " + state_of("alice3")["device_id"].dump());
  ok("alice1", "put " + file("a.txt", "alice's").string());
  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["items_unreadable"], 1);
  EXPECT_EQ(r["items_refreshed"], 1);
  EXPECT_NE(last_error().find("it is not authentic"), std::string::npos) << last_error();
  EXPECT_EQ(state_of("alice2")["rebuild_lost_device"], 0);
  ok("alice2", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "alice's");
}

// A rebuild resumed with weaker options than it began with (`--no-refresh` after a run that
// was to refresh) would skip the refresh that ends the lost primary's tolerance: it resumes
// as it began.
TEST_F(Takeover, AResumedRebuildIsNeverWeakerThanTheRunThatBeganIt) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  alices_recovery_stops_at_the_items();
  EXPECT_EQ(ok("alice2", "recover --yes --no-refresh")["items_refreshed"], 1);
  EXPECT_EQ(state_of("alice2")["replaced_primaries"].size(), 0u);
}

// The service refuses the take-over (here the cloud forgets the announcement): nothing
// happened there, and the lost primary must not stay tolerated on this device, where a thief
// holding it could still sign items and certify keys that this device would accept.
TEST_F(Takeover, ARefusedTakeOverLeavesTheLostPrimaryUntrusted) {
  make_user("alice");
  service_slow_to_learn_revocations();
  cloud_sql(
      "CREATE TRIGGER forget_announcement AFTER INSERT ON recovery_requests "
      "BEGIN DELETE FROM recovery_requests WHERE device_id = NEW.device_id; END");
  EXPECT_EQ(hopbox("alice2", "recover --yes").exit_code, 3);
  const json state = state_of("alice2");
  EXPECT_EQ(state["replaced_primaries"].size(), 0u);
  EXPECT_EQ(state["rebuild_lost_device"], 0);
  cloud_sql("DROP TRIGGER forget_announcement");
  EXPECT_EQ(ok("alice2", "recover --yes")["lost_device"],
            cloud_int("SELECT " + first_device("alice")));
}

// The service takes the recovering device over as the primary, then dies before it answers
// (as a cloud that drops the answer). Asked again, the device must finish what happened at
// the service, not refuse as "the primary already" while the rebuild never runs and the lost
// primary stays tolerated.
TEST_F(Takeover, ATakeOverWhoseAnswerWasLostIsFinishedWhenAskedAgain) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  server_->restart({"--crash-at", "promote.committed"});
  EXPECT_NE(hopbox("alice2", "recover --yes").exit_code, 0);
  server_->restart();
  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["items_refreshed"], 1);
  EXPECT_EQ(state_of("alice2")["replaced_primaries"].size(), 0u);
  EXPECT_EQ(hopbox("alice1", "ls").exit_code, 3);
  ok("alice2", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "alice's");
}

// The take-over's answer is lost (a fault at the service), and then the service refuses the
// retry (the cloud forgets the announcement). The tolerance added by the first attempt must go
// too, or the lost primary stays trusted on this device for good.
TEST_F(Takeover, ARefusedRetryOfATakeOverAlsoLeavesTheLostPrimaryUntrusted) {
  make_user("alice");
  service_slow_to_learn_revocations();
  fail_on("refuse_promotion", "UPDATE OF is_primary ON devices");
  EXPECT_NE(hopbox("alice2", "recover --yes").exit_code, 0);
  EXPECT_NE(state_of("alice2")["rebuild_lost_device"], 0);
  stop_failing("refuse_promotion");
  cloud_sql("DELETE FROM recovery_requests");
  EXPECT_EQ(hopbox("alice2", "recover --yes").exit_code, 3);
  const json state = state_of("alice2");
  EXPECT_EQ(state["replaced_primaries"].size(), 0u);
  EXPECT_EQ(state["rebuild_lost_device"], 0);
}

// Without a CA there is no certificate to keep, yet a take-over that failed at the service
// must be asked again, not rebuilt as if this device were the primary already.
TEST_F(TakeoverWithoutCa, ATakeOverThatFailedIsAskedAgain) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  fail_on("refuse_promotion", "UPDATE OF is_primary ON devices");
  EXPECT_NE(hopbox("alice2", "recover --yes").exit_code, 0);
  stop_failing("refuse_promotion");
  EXPECT_EQ(ok("alice2", "recover --yes")["items_refreshed"], 1);
  EXPECT_EQ(state_of("alice2")["rebuild_lost_device"], 0);
  EXPECT_EQ(hopbox("alice1", "ls").exit_code, 3);
}

}  // namespace
}  // namespace hopbox
