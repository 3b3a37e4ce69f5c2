// Attacks on R3 (threshold recovery) end to end: hopbox-ca, hopboxd, the hopbox command line and
// SoftHSM2 tokens, all real. Approvals must count for one recovery request only, the keys the
// service opens must serve that request only, and after a recovery the threshold must hold
// again (security review, issue 12, item 3). What an honest client never sends is sent by the
// test over the real API with a recovery user's session.
#include <sqlite3.h>

#include "e2e_fixture.h"
#include "mupre/hex.h"
#include "mupre/keys.h"
#include "mupre/shamir.h"
#include "test_client.h"

namespace hopbox {
namespace {

class R3Attack : public EndToEnd {
 protected:
  bool with_ca() const override { return true; }

  std::int64_t device_id(const std::string& device) {
    return state_of(device)["device_id"].get<std::int64_t>();
  }
  std::string fingerprint(const std::string& device) {
    const auto pk = mupre::PublicKey::decode(
        *mupre::from_hex(state_of(device)["public_key"].get<std::string>()));
    EXPECT_TRUE(static_cast<bool>(pk));
    return std::string(pk->fingerprint().begin(), pk->fingerprint().end());
  }
  // Runs SQL on hopboxd's database: time passing for a request, or reading what it stores.
  std::vector<std::string> cloud_sql(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((server_->dir() / "hopbox.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
    std::vector<std::string> rows;
    int rc = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      rows.emplace_back(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                        static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    }
    EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rows;
  }

  // alice (one device, one item) protected by any `t` of bob, carol and dave.
  void protect_alice(int t) {
    for (const std::string u : {"alice", "bob", "carol", "dave"}) {
      if (u != "alice" && u != "bob") hopbox::testing::init_softhsm_token(u + "1", "1234");
      ok(u + "1",
         "init --user " + u + " --token " + u + "1 --enroll-code " + ca_->invite(u) + server_opts_);
    }
    ok("alice1", "put " + file("a.txt", "alice's").string());
    for (const std::string u : {"bob", "carol", "dave"}) {
      ok("alice1", "recovery add " + u);
      ok(u + "1", "watch --seconds 1 --yes");
    }
    EXPECT_EQ(ok("alice1", "watch --seconds 1 --yes").size(), 3u);
    ok("alice1", "recovery threshold " + std::to_string(t) + " bob carol dave");
    EXPECT_EQ(ok("alice1", "recovery status")["protected_by"].size(), 0u);
  }
  // A new device (token `device`) asks to recover alice via `via`; not recovered yet.
  void request(const std::string& device, const std::string& via) {
    hopbox::testing::init_softhsm_token(device, "1234");
    EXPECT_EQ(hopbox(device, "recover " + via + " --user alice --token " + device + server_opts_)
                  .exit_code,
              1);
  }
  // `user` answers every recovery request in their inbox with yes: the valid shares so far.
  std::vector<int> approve(const std::string& user) {
    std::vector<int> valid;
    for (const auto& e : ok(user + "1", "watch --seconds 1 --yes")) {
      // Announcements of requests that did not ask this user are news, not questions.
      if (e.value("kind", "") == "recovery-request") valid.push_back(e.value("valid_shares", -1));
    }
    return valid;
  }
  bool recovers(const std::string& device) {
    const CliRun r = hopbox(device, "recover --via bob");
    const json j = json::parse(r.out, nullptr, false);
    return r.exit_code == 0 && j.is_object() && j.value("recovered", false);
  }
  bool reads_alices_item(const std::string& device) {
    return hopbox(device, "get a.txt -o " + (dir_ / (device + ".out")).string()).exit_code == 0 &&
           read(dir_ / (device + ".out")) == "alice's";
  }
};

// Two pending requests. bob approves both, carol only alice3's: t = 2 is reached for alice3
// alone. The keys the service opens from bob's and carol's shares must not let bob's edge to
// alice4 (one approval) carry alice's data.
TEST_F(R3Attack, KeysOpenedForOneRequestDoNotServeAnother) {
  protect_alice(2);
  request("alice3", "--via bob --via carol");
  request("alice4", "--via bob");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1, 1}));  // one of two, for each request
  EXPECT_EQ(approve("carol"), (std::vector<int>{2}));
  EXPECT_FALSE(recovers("alice4"));
  const CliRun four = hopbox("alice4", "recover --via bob");
  EXPECT_EQ(json::parse(four.out, nullptr, false).value("valid_shares", -1), 1);
  EXPECT_TRUE(recovers("alice3"));
  EXPECT_TRUE(reads_alices_item("alice3"));
  EXPECT_FALSE(recovers("alice4"));
}

// A misbehaving recovery user (bob's session, the real API) returns valid shares for a request
// they do not name correctly: a device that is not pending, another user's device, a pending
// device with another device's key, or no device at all. Each is refused and counts nowhere.
TEST_F(R3Attack, SharesMustNameOnePendingRequestAndItsKey) {
  protect_alice(2);
  request("alice3", "--via bob --via carol");
  request("alice4", "--via carol");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1}));
  const auto stored = cloud_sql("SELECT shares FROM r3_approvals WHERE request_id = " +
                                std::to_string(device_id("alice3")));
  ASSERT_EQ(stored.size(), 1u);
  ASSERT_EQ(stored[0].size(), 3 * mupre::kShareSize);

  auto stub = server_->stub();
  hopboxd::test::TestDevice bob;
  bob.token = state_of("bob1")["session_token"].get<std::string>();
  const auto submit = [&](std::int64_t device, const std::string& fp) {
    grpc::ClientContext ctx;
    bob.authorize(ctx);
    v1::SubmitRecoverySharesRequest req;
    req.set_user("alice");
    for (std::size_t i = 0; i < 3; ++i) {
      req.add_shares(stored[0].substr(i * mupre::kShareSize, mupre::kShareSize));
    }
    req.set_device_id(device);
    req.set_encryption_key_fingerprint(fp);
    v1::RecoveryProgress progress;
    const grpc::Status s = stub->SubmitRecoveryShares(&ctx, req, &progress);
    return std::make_pair(s.error_code(), progress.valid());
  };
  const auto refused = std::make_pair(grpc::StatusCode::FAILED_PRECONDITION, 0);
  EXPECT_EQ(submit(device_id("alice1"), fingerprint("alice1")), refused);  // not pending
  EXPECT_EQ(submit(device_id("carol1"), fingerprint("carol1")), refused);  // not alice's
  EXPECT_EQ(submit(device_id("alice4"), fingerprint("alice3")), refused);  // another key
  EXPECT_EQ(submit(device_id("alice3"), fingerprint("alice4")), refused);  // another key
  EXPECT_EQ(submit(0, ""), refused);                                       // no request
  // Nothing of that counted: alice4 has no approval, alice3 still bob's only.
  EXPECT_EQ(cloud_sql("SELECT shares FROM r3_approvals WHERE request_id = " +
                      std::to_string(device_id("alice4")))
                .size(),
            0u);
  EXPECT_EQ(submit(device_id("alice3"), fingerprint("alice3")),
            std::make_pair(grpc::StatusCode::OK, 1));
  // carol approves both: alice3 has two approvals, alice4 (carol's only) one.
  EXPECT_EQ(approve("carol"), (std::vector<int>{2, 1}));
  EXPECT_FALSE(recovers("alice4"));
  EXPECT_TRUE(recovers("alice3"));
}

// After an R3 recovery with t = 2 the new primary sets the threshold up again (asked with
// --keep-threshold): no recovery user can recover alone (no direct recovery key from the new
// primary), and a second R3 recovery needs two fresh approvals for its own request, and works.
TEST_F(R3Attack, AfterARecoveryNoApproverRecoversAloneAndASecondRecoveryWorks) {
  protect_alice(2);
  request("alice3", "--via bob --via carol");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1}));
  EXPECT_EQ(approve("carol"), (std::vector<int>{2}));
  {
    const json r = ok("alice3", "recover --via bob --keep-threshold");
    EXPECT_EQ(r["recovered"], true);
    EXPECT_EQ(r["threshold_kept"],
              json::parse(R"({"threshold": 2, "users": ["bob", "carol", "dave"]})"));
  }
  EXPECT_TRUE(reads_alices_item("alice3"));
  EXPECT_EQ(ok("alice3", "recovery status")["protected_by"].size(), 0u);  // as before the loss
  {
    // No recovery key from the new primary's key leads to a single recovery key.
    auto stub = server_->stub();
    hopboxd::test::TestDevice alice3;
    alice3.token = state_of("alice3")["session_token"].get<std::string>();
    grpc::ClientContext ctx;
    alice3.authorize(ctx);
    v1::ListReKeysResponse keys;
    ASSERT_TRUE(stub->ListReKeys(&ctx, v1::ListReKeysRequest(), &keys).ok());
    for (const auto& r : keys.rekeys()) {
      EXPECT_FALSE(r.kind() == v1::REKEY_KIND_RECOVERY &&
                   r.from_fingerprint() == fingerprint("alice3"))
          << "a direct recovery key to " << r.to_user();
    }
  }
  {
    // The threshold was set up again, from the new primary's key.
    auto stub = server_->stub();
    hopboxd::test::TestDevice alice3;
    alice3.token = state_of("alice3")["session_token"].get<std::string>();
    grpc::ClientContext ctx;
    alice3.authorize(ctx);
    v1::ThresholdRecovery setup;
    ASSERT_TRUE(stub->GetThresholdRecovery(&ctx, v1::GetThresholdRecoveryRequest(), &setup).ok());
    EXPECT_EQ(setup.threshold(), 2);
    EXPECT_EQ(setup.protectors_size(), 3);
  }

  // alice3 is lost too. bob alone is not enough, however he approved before. With two, the
  // keys opened are from alice3's key (the set-up made anew), which the CA's challenge needs.
  request("alice5", "--via bob --via dave");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1}));
  EXPECT_FALSE(recovers("alice5"));
  EXPECT_EQ(approve("dave"), (std::vector<int>{2}));
  EXPECT_TRUE(recovers("alice5"));
  EXPECT_TRUE(reads_alices_item("alice5"));
  EXPECT_EQ(ok("alice5", "recovery status")["protected_by"].size(), 0u);
}

// The cloud lowers t to 1 in the stored set-up before the new primary makes it again: the new
// primary refuses to (the lost primary signed t = 2), so no single recovery user is handed the
// account, and it says so; the rest of the recovery completes (items and the name key refreshed).
TEST_F(R3Attack, ACloudThatLowersTheThresholdBeforeTheSetUpIsMadeAgainIsCaught) {
  protect_alice(2);
  request("alice3", "--via bob --via carol");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1}));
  EXPECT_EQ(approve("carol"), (std::vector<int>{2}));
  const auto stored = cloud_sql("SELECT config FROM r3_setups");
  ASSERT_EQ(stored.size(), 1u);
  v1::ThresholdRecovery setup;
  ASSERT_TRUE(setup.ParseFromString(stored[0]));
  EXPECT_FALSE(setup.signature().empty());
  setup.set_threshold(1);
  const std::string tampered = setup.SerializeAsString();
  cloud_sql("UPDATE r3_setups SET config = X'" +
            mupre::to_hex(std::span(reinterpret_cast<const std::uint8_t*>(tampered.data()),
                                    tampered.size())) +
            "'");
  const json r = ok("alice3", "recover --via bob --keep-threshold");
  EXPECT_EQ(r["recovered"], true);
  EXPECT_EQ(r["threshold_refused"], true);
  EXPECT_NE(last_error().find("not the one the lost primary signed"), std::string::npos)
      << last_error();
  // Not made again with t = 1 (nor with anything else): the cloud's version is all there is,
  // and no recovery user has a key of their own from the new primary.
  const auto after = cloud_sql("SELECT config FROM r3_setups");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_TRUE(after[0] == tampered) << "the set-up was made again from what the cloud returned";
  EXPECT_EQ(ok("alice3", "recovery status")["protected_by"].size(), 0u);
}

// bob approved a request that then expired. His approval must not count for the next request,
// which only carol approved.
TEST_F(R3Attack, ApprovalsOfAnExpiredRequestDoNotCount) {
  protect_alice(2);
  request("alice3", "--via bob");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1}));
  // A week and a day pass for that request (the service's default limit is a week).
  cloud_sql("UPDATE devices SET created_at = created_at - 8 * 86400 WHERE id = " +
            std::to_string(device_id("alice3")));
  request("alice4", "--via carol");  // the service drops the expired request here
  EXPECT_EQ(approve("carol"), (std::vector<int>{1}));
  EXPECT_FALSE(recovers("alice4"));
}

// alice (who still has her primary) removes a pending request bob had approved. bob's approval
// must not count for the next request, which only carol approved.
TEST_F(R3Attack, ApprovalsOfARemovedRequestDoNotCount) {
  protect_alice(2);
  request("alice3", "--via bob");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1}));
  ok("alice1", "device remove " + std::to_string(device_id("alice3")));
  request("alice4", "--via carol");
  EXPECT_EQ(approve("carol"), (std::vector<int>{1}));
  EXPECT_FALSE(recovers("alice4"));
}

// A request reached t and had keys opened for it; then alice (who still had her primary) set a
// new threshold. The old keys, approvals and "installed" flag go; the new set-up works for a
// new request.
TEST_F(R3Attack, ANewThresholdReplacesTheOldWholeAndThenWorks) {
  protect_alice(2);
  request("alice3", "--via bob --via carol");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1}));
  EXPECT_EQ(approve("carol"), (std::vector<int>{2}));
  ok("alice1", "recovery threshold 2 bob carol dave");
  EXPECT_FALSE(recovers("alice3"));  // the keys opened for it went with the old set-up
  request("alice4", "--via bob --via dave");
  EXPECT_EQ(approve("bob"), (std::vector<int>{1}));
  EXPECT_EQ(approve("dave"), (std::vector<int>{2}));
  EXPECT_TRUE(recovers("alice4"));
  EXPECT_TRUE(reads_alices_item("alice4"));
}

// alice's recovery users were first each enough alone (R2), then she set up 2 of 3 (which drops
// those direct keys). The cloud kept them, lists them again, and hides the set-up when alice's
// secondary recovers: made again, each of them could recover the account alone. Asked to keep
// the threshold, the recovery finds none, says so, and keeps no recovery user, not even one
// named (taken for one of the threshold's, it would be enough alone).
TEST_F(R3Attack, ACloudThatHidesTheSetUpAndReplaysTheDirectKeysItReplacedHandsNobodyTheAccount) {
  for (const std::string u : {"alice", "bob", "carol", "dave"}) {
    if (u != "alice" && u != "bob") hopbox::testing::init_softhsm_token(u + "1", "1234");
    ok(u + "1",
       "init --user " + u + " --token " + u + "1 --enroll-code " + ca_->invite(u) + server_opts_);
  }
  const json add =
      ok("alice2", "device add --user alice --token alice2 --device-name secondary" + server_opts_);
  ok("alice1", "device approve --yes " + add["pairing_code"].get<std::string>());
  for (const std::string u : {"bob", "carol", "dave"}) {
    ok("alice1", "recovery add " + u);
    ok(u + "1", "watch --seconds 1 --yes");
  }
  EXPECT_EQ(ok("alice1", "watch --seconds 1 --yes").size(), 3u);
  cloud_sql("CREATE TABLE kept AS SELECT * FROM rekeys WHERE kind = 2");
  ok("alice1", "recovery threshold 2 bob carol dave");
  cloud_sql("INSERT OR IGNORE INTO rekeys SELECT * FROM kept");
  cloud_sql("DELETE FROM r3_setups");
  const json r = ok("alice2", "recover --yes --keep-threshold --keep-recovery-user bob");
  EXPECT_EQ(r["threshold_refused"], true);
  EXPECT_EQ(r["threshold_kept"], nullptr);
  EXPECT_EQ(r["recovery_keys_remade"], 0);
  EXPECT_EQ(r["recovery_users_dropped"], json::parse(R"(["bob", "carol", "dave"])"));
  EXPECT_NE(last_error().find("lists no threshold set-up"), std::string::npos) << last_error();
  EXPECT_EQ(ok("alice2", "recovery status")["protected_by"], json::array());
}

}  // namespace
}  // namespace hopbox
