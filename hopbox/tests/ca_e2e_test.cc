// Key authenticity end to end (paper 4.3): hopbox-ca, hopboxd, the hopbox command line and
// SoftHSM2 tokens, all real. The attacks are played by the test acting as the cloud: it edits
// hopboxd's database (the cloud's own storage) and uses a session it holds.
#include <chrono>
#include <map>
#include <thread>

#include "certs/certificate.h"
#include "e2e_fixture.h"
#include "mupre/hex.h"
#include "mupre/keys.h"
#include "mupre/shamir.h"
#include "test_client.h"

namespace hopbox {
namespace {

class WithCa : public EndToEnd {
 protected:
  bool with_ca() const override { return true; }
};

TEST_F(WithCa, EnrolledUsersShareWithVerifiedKeysAndSignedItems) {
  make_user("alice");
  make_user("bob");
  // Both of bob's devices show the same safety number, and alice sees it when she shares.
  const json bob = ok("bob1", "whoami");
  ASSERT_EQ(bob["safety_number"].get<std::string>().size(), 29u);
  const json share = ok("alice2", "share bob --yes");
  EXPECT_EQ(share["safety_number"], bob["safety_number"]);
  // Uploaded and signed on alice's secondary (certified by her primary), verified on bob's.
  ok("alice2", "put " + file("r.txt", "signed by alice2").string());
  const json got = ok("bob2", "get r.txt --owner alice -o " + (dir_ / "r").string());
  EXPECT_EQ(got["reencryptions"], 3);
  EXPECT_EQ(read(dir_ / "r"), "signed by alice2");
  // A level refresh is signed too: bob's devices still accept the item afterwards.
  const json refreshed = ok("alice2", "refresh r.txt");
  EXPECT_EQ(refreshed["reencryptions_before"], 1);
  EXPECT_EQ(refreshed["version"], 2);
  ok("bob2", "get r.txt --owner alice -o " + (dir_ / "r2").string());
  EXPECT_EQ(read(dir_ / "r2"), "signed by alice2");
  // Chains: root -> alice1 -> alice2. The secondary's chain names alice all the way.
  const auto chain = certs::decode_chain(
      *mupre::from_hex(state_of("alice2")["certificate_chain"].get<std::string>()));
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(certs::inspect_certificate(chain[0]).identifier, "alice");
  EXPECT_EQ(certs::inspect_certificate(chain[1]).fingerprint,
            certs::inspect_certificate(
                *mupre::from_hex(state_of("alice1")["certificate_chain"].get<std::string>()))
                .fingerprint);
  // An access request shows the requester's safety number, checked against the CA.
  ok("bob2", "request-access alice --item r.txt");
  const json answered = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0]["fingerprint"], bob["safety_number"]);
  // The operator sees the two primary certificates.
  const auto [code, listing] = ca_->operator_cli("list --json --data-dir " + ca_->data());
  EXPECT_EQ(code, 0);
  EXPECT_EQ(json::parse(listing).size(), 2u);
}

TEST_F(WithCa, OneIdentifierOneCertificateAndConfusablesRefused) {
  const std::string code = ca_->invite("Alice");
  ASSERT_FALSE(code.empty());
  const json init =
      ok("alice1", "init --user Alice --token alice1 --enroll-code " + code + server_opts_);
  EXPECT_EQ(init["user"], "alice");  // the CA's normalized identifier
  // The code is used up; a second enrollment for alice is refused, and no new code is issued.
  const CliRun again =
      hopbox("alice2", "init --user alice --token alice2 --enroll-code " + code + server_opts_);
  EXPECT_EQ(again.exit_code, 3);
  EXPECT_NE(last_error().find("certificate already"), std::string::npos) << last_error();
  EXPECT_EQ(ca_->invite("ALICE"), "");
  // A wrong code is refused without saying more.
  ASSERT_FALSE(ca_->invite("bob").empty());
  const CliRun wrong =
      hopbox("bob1", "init --user bob --token bob1 --enroll-code WRON-GCOD-E000" + server_opts_);
  EXPECT_EQ(wrong.exit_code, 3);
  EXPECT_NE(last_error().find("not valid for this identifier"), std::string::npos);
  // Confusable identifiers are refused at the operator, who is told which one they resemble.
  EXPECT_EQ(ca_->invite("\xD0\xB0lice"), "");  // Cyrillic a
  EXPECT_NE(ca_->last_operator_error().find("writing systems"), std::string::npos);
  ASSERT_FALSE(ca_->invite("mallory").empty());
  EXPECT_EQ(ca_->invite("rnallory"), "");
  EXPECT_NE(ca_->last_operator_error().find("\"mallory\""), std::string::npos)
      << ca_->last_operator_error();
  // An identifier that was never invited cannot enroll.
  const CliRun uninvited =
      hopbox("bob2", "init --user carol --token bob2 --enroll-code AAAA-BBBB-CCCC" + server_opts_);
  EXPECT_EQ(uninvited.exit_code, 3);
}

TEST_F(WithCa, ACloudThatSubstitutesAKeyIsCaught) {
  make_user("alice");
  make_user("bob");
  // The cloud swaps bob's primary encryption key for one it holds the secret of.
  const mupre::SecretKey cloud_key = mupre::SecretKey::generate();
  const auto pk = cloud_key.public_key().encode();
  const auto fp = cloud_key.public_key().fingerprint();
  const std::string bob_primary =
      "(SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id "
      "WHERE u.name = 'bob' AND d.is_primary = 1)";
  cloud_sql("UPDATE devices SET encryption_key = ?1, fingerprint = ?2 WHERE id = " + bob_primary,
            {std::string(pk.begin(), pk.end()), std::string(fp.begin(), fp.end())});
  const CliRun refused = hopbox("alice1", "share bob --yes");
  EXPECT_EQ(refused.exit_code, 4);
  EXPECT_NE(last_error().find("does not vouch for"), std::string::npos) << last_error();
  for (const auto& r : ok("alice1", "shares")) {  // no share key was made
    EXPECT_NE(r["kind"], "REKEY_KIND_SHARE");
  }

  // A whole chain of the cloud's own making does not lead to alice's root either.
  cloud_sql(
      "UPDATE devices SET certificate_chain = (SELECT certificate_chain FROM devices "
      "WHERE id = (SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE "
      "u.name = 'alice' AND d.is_primary = 1)) WHERE id = " +
      bob_primary);
  EXPECT_EQ(hopbox("alice1", "share bob --yes").exit_code, 4);
  EXPECT_NE(last_error().find("certified for \"alice\""), std::string::npos) << last_error();

  // Substituting alice's own primary key stops her uploads before anything is encrypted.
  const std::string alice_primary =
      "(SELECT d.id FROM devices d JOIN users u ON u.id = "
      "d.user_id WHERE u.name = 'alice' AND d.is_primary = 1)";
  const mupre::SecretKey other = mupre::SecretKey::generate();
  const auto pk2 = other.public_key().encode();
  const auto fp2 = other.public_key().fingerprint();
  cloud_sql("UPDATE devices SET encryption_key = ?1, fingerprint = ?2 WHERE id = " + alice_primary,
            {std::string(pk2.begin(), pk2.end()), std::string(fp2.begin(), fp2.end())});
  EXPECT_EQ(hopbox("alice2", "put " + file("s.txt", "secret").string()).exit_code, 4);
}

TEST_F(WithCa, ItemsTheCloudMadeOrMovedAreRefused) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "the real a").string());
  ok("alice1", "put " + file("b.txt", "the real b").string());
  // The cloud sees opaque ids only; alice's listing tells the test which is which.
  std::map<std::string, std::string> id;
  for (const auto& e : ok("alice1", "ls")) id[e["item"].get<std::string>()] = e["id"];
  // Moved: b's row now holds a's capsule, keys, payload and signature.
  cloud_sql(
      "UPDATE items SET (capsule, wrapped_key, metadata, payload_header, payload_digest, "
      "payload_size, signature) = (SELECT capsule, wrapped_key, metadata, payload_header, "
      "payload_digest, payload_size, signature FROM items WHERE item_id = '" +
      id["a.txt"] + "') WHERE item_id = '" + id["b.txt"] + "'");
  const CliRun moved = hopbox("alice2", "get b.txt -o " + (dir_ / "b").string());
  EXPECT_EQ(moved.exit_code, 4);
  EXPECT_NE(last_error().find("not authentic"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "b"));
  EXPECT_FALSE(fs::exists(dir_ / "b.hopbox-partial"));

  // Made by the cloud: encrypted to alice's real primary key, through a session it holds,
  // but signed by no device of alice, in the place of her item f.txt.
  ok("alice1", "put " + file("f.txt", "the real f").string());
  for (const auto& e : ok("alice1", "ls")) id[e["item"].get<std::string>()] = e["id"];
  cloud_sql("DELETE FROM items WHERE item_id = '" + id["f.txt"] + "'");
  const auto alice_pk = mupre::PublicKey::decode(
      *mupre::from_hex(state_of("alice1")["public_key"].get<std::string>()));
  ASSERT_TRUE(alice_pk);
  hopboxd::test::TestDevice cloud;
  cloud.token = state_of("alice1")["session_token"].get<std::string>();
  auto stub = server_->stub();
  ASSERT_TRUE(hopboxd::test::upload_item(*stub, cloud, "alice", id["f.txt"], "from the cloud", "",
                                         {}, &*alice_pk)
                  .ok());
  const CliRun forged = hopbox("alice2", "get f.txt -o " + (dir_ / "f").string());
  EXPECT_EQ(forged.exit_code, 4);
  EXPECT_NE(last_error().find("not signed"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "f"));
  // The genuine item still reads.
  ok("alice2", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "the real a");
}

TEST_F(WithCa, ARemovedDeviceIsRevokedAtTheCaAndItsItemsNoLongerTrusted) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "share bob --yes");
  ok("alice2", "put " + file("old.txt", "from the secondary").string());
  ok("bob1", "get old.txt --owner alice -o " + (dir_ / "o1").string());
  std::int64_t secondary = 0;
  for (const auto& d : ok("alice1", "device list")) {
    if (!d["primary"].get<bool>()) secondary = d["device_id"];
  }
  ok("alice1", "device remove " + std::to_string(secondary));
  // The CA lists the revocation; items signed by the revoked device are no longer trusted.
  const CliRun after = hopbox("bob1", "get old.txt --owner alice -o " + (dir_ / "o2").string());
  EXPECT_EQ(after.exit_code, 4);
  EXPECT_NE(last_error().find("revoked"), std::string::npos) << last_error();
  // The primary's own items are unaffected.
  ok("alice1", "put " + file("new.txt", "from the primary").string());
  ok("bob1", "get new.txt --owner alice -o " + (dir_ / "n").string());
}

TEST_F(WithCa, TheServiceAdmitsCertifiedDevicesOnlyAndHonoursRevocations) {
  make_user("alice");
  make_user("bob");
  // A device without a certificate cannot register at a service that knows the CA.
  const std::string uncertified = server_opts_.substr(0, server_opts_.find(" --ca "));
  EXPECT_EQ(hopbox("carol1", "init --user carol --token bob2" + uncertified).exit_code, 3);
  EXPECT_NE(last_error().find("certificate"), std::string::npos) << last_error();
  // The operator revokes bob: the service refuses both of his devices within its refresh
  // period, and alice's clients refuse to share with him.
  const auto [code, out] = ca_->operator_cli("revoke --data-dir " + ca_->data() + " bob");
  ASSERT_EQ(code, 0) << out;
  // Sessions opened before the revocation end with it too.
  auto refused = [&](const std::string& device) { return hopbox(device, "ls").exit_code == 3; };
  bool bob1_refused = false;
  for (int i = 0; i < 50 && !bob1_refused; ++i) {
    bob1_refused = refused("bob1");
    if (!bob1_refused) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(bob1_refused);
  EXPECT_NE(last_error().find("revoked"), std::string::npos) << last_error();
  EXPECT_TRUE(refused("bob2"));  // its chain holds bob's revoked primary certificate
  EXPECT_EQ(hopbox("alice1", "share bob --yes").exit_code, 4);
  ok("alice1", "ls");
}

TEST_F(WithCa, R1ASecondaryReplacesALostPrimaryAndEverythingStaysReadable) {
  make_user("alice");
  make_user("bob");
  // Before the loss: alice's own item, shared with bob; bob's item, shared with alice.
  ok("alice1", "put " + file("mine.txt", "alice's").string());
  ok("alice1", "share bob --yes");
  ok("bob1", "put " + file("bobs.txt", "bob's").string());
  ok("bob1", "share alice --yes");
  EXPECT_EQ(ok("alice2", "get bobs.txt --owner bob -o " + (dir_ / "b0").string())["reencryptions"],
            2);

  // alice1 is lost; alice2 takes over.
  const json r = ok("alice2", "recover --yes");
  EXPECT_EQ(r["shares_remade"], 1);
  EXPECT_EQ(r["items_refreshed"], 1);
  EXPECT_EQ(r["users_notified"], 1);
  EXPECT_EQ(r["safety_number"], ok("alice2", "whoami")["safety_number"]);

  // The lost device is refused by the service and by the CA's list.
  EXPECT_EQ(hopbox("alice1", "ls").exit_code, 3);
  EXPECT_NE(last_error().find("replaced by a recovery"), std::string::npos) << last_error();
  EXPECT_EQ(hopbox("alice1", "recover --yes").exit_code, 3);

  // Everything stays readable: alice's own item (now encrypted for, and signed by, alice2),
  // bob's item through the old edges, and alice's item for bob through the new share.
  EXPECT_EQ(ok("alice2", "get mine.txt -o " + (dir_ / "m").string())["reencryptions"], 0);
  EXPECT_EQ(read(dir_ / "m"), "alice's");
  ok("alice2", "get bobs.txt --owner bob -o " + (dir_ / "b1").string());
  EXPECT_EQ(read(dir_ / "b1"), "bob's");
  ok("bob2", "get mine.txt --owner alice -o " + (dir_ / "m2").string());
  EXPECT_EQ(read(dir_ / "m2"), "alice's");

  // bob's client follows: his share now leads to alice's new primary.
  const json followed = ok("bob1", "watch --seconds 1 --yes");
  ASSERT_EQ(followed.size(), 1u);
  EXPECT_EQ(followed[0]["recovered"], "alice");
  EXPECT_EQ(followed[0]["shares_moved"], 1);
  EXPECT_EQ(ok("alice2", "get bobs.txt --owner bob -o " + (dir_ / "b2").string())["reencryptions"],
            1);
  // alice shares and uploads again as usual.
  ok("alice2", "put " + file("new.txt", "after").string());
  ok("alice2", "share bob --yes --folder later");
  ok("bob2", "get new.txt --owner alice -o " + (dir_ / "n").string());
  EXPECT_EQ(read(dir_ / "n"), "after");
  // The new primary certifies new devices: root -> alice2 -> alice3.
  hopbox::testing::init_softhsm_token("alice3", "1234");
  const json add =
      ok("alice3", "device add --user alice --token alice3 --device-name tablet" + server_opts_);
  ok("alice2", "device approve --yes " + add["pairing_code"].get<std::string>());
  EXPECT_EQ(ok("alice3", "device status")["approved"], true);
  ok("alice3", "get mine.txt -o " + (dir_ / "m3").string());
  EXPECT_EQ(read(dir_ / "m3"), "alice's");
}

// A secondary the new primary re-certified after R1 signs with its new chain from then on: what
// it uploads is authentic for everyone, not only for the device that recovered.
TEST_F(WithCa, ASecondaryKeptByARecoverySignsWithItsNewCertificate) {
  make_user("alice");
  make_user("bob");
  hopbox::testing::init_softhsm_token("alice3", "1234");
  const json add =
      ok("alice3", "device add --user alice --token alice3 --device-name tablet" + server_opts_);
  ok("alice1", "device approve --yes " + add["pairing_code"].get<std::string>());
  EXPECT_EQ(ok("alice3", "device status")["approved"], true);
  ok("alice3", "put " + file("before.txt", "before").string());  // signed through alice1
  EXPECT_EQ(ok("alice2", "recover --yes")["devices_kept"], 1);   // alice3, re-certified
  ok("alice2", "share bob --yes");
  ok("alice3", "put " + file("later.txt", "from the tablet").string());
  ok("bob1", "get later.txt --owner alice -o " + (dir_ / "l").string());
  EXPECT_EQ(read(dir_ / "l"), "from the tablet");
  ok("alice2", "get later.txt -o " + (dir_ / "l2").string());
  EXPECT_EQ(read(dir_ / "l2"), "from the tablet");
}

TEST_F(WithCa, R2ARecoveryUserLetsANewDeviceTakeOverAndTheCaReCertifiesIt) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("a.txt", "alice's").string());
  ok("bob1", "put " + file("b.txt", "for alice").string() + " --folder for-alice");
  ok("bob1", "put " + file("secret.txt", "bob's own").string() + " --folder private");
  ok("bob1", "share alice --yes --folder for-alice");

  // bob agrees to protect alice: a recovery key made for her on bob's device.
  EXPECT_EQ(ok("alice1", "recovery add bob")["safety_number"],
            ok("bob1", "whoami")["safety_number"]);
  const json setup = ok("bob1", "watch --seconds 1 --yes");
  ASSERT_EQ(setup.size(), 1u);
  EXPECT_EQ(setup[0]["kind"], "recovery-setup");
  EXPECT_EQ(ok("alice1", "watch --seconds 1 --yes")[0]["kind"], "recovery-accepted");
  EXPECT_EQ(ok("alice1", "recovery status")["protected_by"], json::array({"bob"}));

  // alice loses her devices; a new one asks bob. Until bob approves, it cannot answer the
  // CA's challenge, so it is not certified and cannot take over.
  hopbox::testing::init_softhsm_token("alice3", "1234");
  const CliRun asked = hopbox("alice3",
                              "recover --via bob --user alice --token alice3 "
                              "--device-name phone" +
                                  server_opts_);
  EXPECT_EQ(asked.exit_code, 1);
  const json request = json::parse(asked.out.substr(0, asked.out.find('\n')));
  EXPECT_EQ(hopbox("alice3", "ls").exit_code, 3);  // pending: waits for its recovery
  const json approved = ok("bob1", "watch --seconds 1 --yes");
  ASSERT_EQ(approved.size(), 1u);
  EXPECT_EQ(approved[0]["kind"], "recovery-request");
  EXPECT_EQ(approved[0]["short_code"], request["short_code"]);  // compared by phone

  const json r = ok("alice3", "recover --via bob --keep-recovery-user bob");
  EXPECT_EQ(r["recovered"], true);
  EXPECT_EQ(r["items_refreshed"], 1);
  EXPECT_EQ(r["recovery_keys_remade"], 1);  // as the lost primary signed it
  EXPECT_EQ(r["recovery_users_dropped"], json::array());
  EXPECT_EQ(r["edges_refused"], 0);
  EXPECT_EQ(r["remade"], json::parse(R"([{"kind": "recovery", "to_user": "bob"}])"));
  // The new device reads alice's data and what bob shared with her, never bob's own data.
  ok("alice3", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "alice's");
  ok("alice3", "get b.txt --owner bob -o " + (dir_ / "b").string());
  EXPECT_EQ(read(dir_ / "b"), "for alice");
  EXPECT_EQ(hopbox("alice3", "get secret.txt --owner bob -o " + (dir_ / "s").string()).exit_code,
            3);
  // The lost primary is refused; alice2, re-certified by the new primary, still works.
  EXPECT_EQ(hopbox("alice1", "ls").exit_code, 3);
  ok("alice2", "get a.txt -o " + (dir_ / "a2").string());
  // bob checks the new certificate and moves his share.
  const json followed = ok("bob1", "watch --seconds 1 --yes");
  ASSERT_EQ(followed.size(), 1u);
  EXPECT_EQ(followed[0]["shares_moved"], 1);
  EXPECT_EQ(followed[0]["fingerprint"], r["safety_number"]);
  // The new primary is protected by bob again (its recovery key made anew), until removed.
  EXPECT_EQ(ok("alice3", "recovery status")["protected_by"], json::array({"bob"}));
  // Both re-encryption keys to bob's recovery key go (the lost primary's and the new
  // primary's), and the recovery key itself.
  EXPECT_EQ(ok("alice3", "recovery remove bob")["keys_revoked"], 3);
  EXPECT_EQ(ok("alice3", "recovery status")["protected_by"].size(), 0u);
}

TEST_F(WithCa, R3AnyTwoOfThreeRecoveryUsersRecoverTogetherNoneAloneAndABadShareIsNamed) {
  make_user("alice");
  make_user("bob");
  for (const std::string u : {"carol", "dave"}) {
    hopbox::testing::init_softhsm_token(u + "1", "1234");
    ok(u + "1",
       "init --user " + u + " --token " + u + "1 --enroll-code " + ca_->invite(u) + server_opts_);
  }
  ok("alice1", "put " + file("a.txt", "alice's").string());
  ok("bob1", "put " + file("b.txt", "bob's, for alice").string());
  ok("bob1", "share alice --yes --item b.txt");
  for (const std::string u : {"bob", "carol", "dave"}) {
    ok("alice1", "recovery add " + u);
    ok(u + "1", "watch --seconds 1 --yes");
  }
  EXPECT_EQ(ok("alice1", "watch --seconds 1 --yes").size(), 3u);
  ok("alice1", "recovery threshold 2 bob carol dave");
  EXPECT_EQ(ok("alice1", "recovery status")["protected_by"].size(), 0u);  // none alone

  hopbox::testing::init_softhsm_token("alice3", "1234");
  EXPECT_EQ(hopbox("alice3",
                   "recover --via bob --via carol --via dave --user alice --token "
                   "alice3" +
                       server_opts_)
                .exit_code,
            1);
  // bob approves: one of two is not enough.
  const json bob = ok("bob1", "watch --seconds 1 --yes");
  ASSERT_EQ(bob.size(), 1u);
  EXPECT_EQ(bob[0]["valid_shares"], 1);
  EXPECT_EQ(bob[0]["threshold"], 2);
  const CliRun one = hopbox("alice3", "recover --via bob");
  EXPECT_EQ(one.exit_code, 1);
  EXPECT_EQ(json::parse(one.out)["valid_shares"], 1);

  // carol returns shares that do not match the commitments: refused, and carol is named.
  {
    auto stub = server_->stub();
    hopboxd::test::TestDevice carol;
    carol.token = state_of("carol1")["session_token"].get<std::string>();
    grpc::ClientContext ctx;
    carol.authorize(ctx);
    v1::SubmitRecoverySharesRequest req;
    req.set_user("alice");
    // For alice3's request, named with its key: the shares themselves are what is wrong.
    req.set_device_id(state_of("alice3")["device_id"].get<std::int64_t>());
    const auto pk = mupre::PublicKey::decode(
        *mupre::from_hex(state_of("alice3")["public_key"].get<std::string>()));
    ASSERT_TRUE(static_cast<bool>(pk));
    req.set_encryption_key_fingerprint(
        std::string(pk->fingerprint().begin(), pk->fingerprint().end()));
    for (int i = 0; i < 3; ++i) {
      std::array<std::uint8_t, mupre::kShareSize> bad;
      mupre::Share(2, mupre::bls12_381::scalar_random_nonzero()).encode(bad);
      req.add_shares(std::string(bad.begin(), bad.end()));
    }
    v1::RecoveryProgress progress;
    const grpc::Status s = stub->SubmitRecoveryShares(&ctx, req, &progress);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("from carol"), std::string::npos) << s.error_message();
  }
  // carol refuses: the requester sees it.
  ok("carol1", "watch --seconds 1 --no");
  const CliRun refused = hopbox("alice3", "recover --via bob");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(json::parse(refused.out)["refused_by"], json::array({"carol"}));

  // dave approves: two valid shares, the sealed keys open, the recovery completes.
  const json dave = ok("dave1", "watch --seconds 1 --yes");
  ASSERT_EQ(dave.size(), 1u);
  EXPECT_EQ(dave[0]["valid_shares"], 2);
  EXPECT_EQ(ok("alice3", "recover --via bob")["recovered"], true);
  ok("alice3", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "alice's");
  ok("alice3", "get b.txt --owner bob -o " + (dir_ / "b").string());
  EXPECT_EQ(read(dir_ / "b"), "bob's, for alice");
  EXPECT_EQ(hopbox("alice1", "ls").exit_code, 3);
  // alice shares again from her new primary.
  ok("alice3", "share dave --yes");
  ok("dave1", "get a.txt --owner alice -o " + (dir_ / "d").string());
  EXPECT_EQ(read(dir_ / "d"), "alice's");
}

}  // namespace
}  // namespace hopbox
