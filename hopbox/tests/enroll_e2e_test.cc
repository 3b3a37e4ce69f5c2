// Ordinary mistakes during set-up (issue 13, items 1-3), end to end with a real hopbox-ca,
// hopboxd, the hopbox command line and SoftHSM2 tokens: nothing a user mistypes may burn an
// identifier, leave keys behind or cost the account its certificate.
#include "e2e_fixture.h"
#include "token.h"

namespace hopbox {
namespace {

class Enrollment : public EndToEnd {
 protected:
  bool with_ca() const override { return true; }

  // server_opts_ with the cloud's address replaced by one where nothing listens.
  std::string wrong_server_opts() const {
    std::string opts = server_opts_;
    const std::string right = "127.0.0.1:" + std::to_string(server_->port()) + " ";
    opts.replace(opts.find(right), right.size(), "127.0.0.1:1 ");
    return opts;
  }
  std::string init_args(const std::string& user, const std::string& token,
                        const std::string& code) const {
    return "init --user " + user + " --token " + token + " --device-name primary --enroll-code " +
           code;
  }
  json ca_list() const {
    const auto [code, out] = ca_->operator_cli("list --json --data-dir " + ca_->data());
    EXPECT_EQ(code, 0);
    return json::parse(out);
  }
  int ca_operator(const std::string& args) const {
    return ca_->operator_cli(args + " --data-dir " + ca_->data()).first;
  }
  bool token_has_keys(const std::string& token, const std::string& key_label) {
    return Token::open(SOFTHSM_MODULE, token, "1234")->has_device_keys(key_label);
  }
};

TEST_F(Enrollment, RemovingThePrimaryIsRefusedBeforeTheCaRevokesAnything) {
  make_user("alice");
  const std::int64_t primary = state_of("alice1")["device_id"];
  const std::int64_t secondary = state_of("alice2")["device_id"];
  for (const char* device : {"alice1", "alice2"}) {
    const CliRun r = hopbox(device, "device remove " + std::to_string(primary));
    EXPECT_EQ(r.exit_code, 3) << device;
    EXPECT_NE(last_error().find("the primary device cannot be removed"), std::string::npos)
        << last_error();
  }
  EXPECT_EQ(hopbox("alice1", "device remove 999").exit_code, 3);
  EXPECT_NE(last_error().find("no device 999"), std::string::npos) << last_error();
  // Nothing was revoked: the account works and its certificate is valid at the CA.
  for (const auto& c : ca_list()) EXPECT_EQ(c["revoked_at"], 0) << c.dump();
  ok("alice2", "put " + file("a.txt", "still alice's").string());
  ok("alice1", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "still alice's");
  // A secondary is still removed (revoked at the CA, then removed at the cloud).
  ok("alice1", "device remove " + std::to_string(secondary));
  EXPECT_NE(hopbox("alice2", "get a.txt -o " + (dir_ / "x").string()).exit_code, 0);
  EXPECT_EQ(ok("alice1", "device list").size(), 1u);
}

TEST_F(Enrollment, AnInitThatFailsAfterTheCaStepResumesWithTheSameCode) {
  const std::string code = ca_->invite("alice");
  ASSERT_FALSE(code.empty());
  // A mistyped --server: the CA certifies the keys, the cloud is never reached.
  const CliRun failed = hopbox("alice1", init_args("Alice", "alice1", code) + wrong_server_opts());
  EXPECT_NE(failed.exit_code, 0);
  EXPECT_NE(last_error().find("the same `hopbox init` again"), std::string::npos) << last_error();
  EXPECT_EQ(state_of("alice1")["init_pending"], true);
  const std::string chain = state_of("alice1")["certificate_chain"];
  ASSERT_FALSE(chain.empty());
  // Retrying changes nothing at the CA (no second certificate) while the cloud is unreachable.
  EXPECT_NE(hopbox("alice1", init_args("Alice", "alice1", code) + wrong_server_opts()).exit_code,
            0);
  EXPECT_EQ(ca_list().size(), 1u);
  // With the right address, the same command finishes: the same keys and certificate.
  const json done = ok("alice1", init_args("Alice", "alice1", code) + server_opts_);
  EXPECT_EQ(done["user"], "alice");
  EXPECT_GT(done["device_id"].get<std::int64_t>(), 0);
  EXPECT_EQ(done["safety_number"].get<std::string>().size(), 29u);
  EXPECT_EQ(state_of("alice1")["certificate_chain"], chain);
  EXPECT_EQ(state_of("alice1")["init_pending"], false);
  EXPECT_EQ(ca_list().size(), 1u);
  // Done once: running it again is refused, and the completed identity cannot be reset.
  EXPECT_EQ(hopbox("alice1", init_args("alice", "alice1", code) + server_opts_).exit_code, 2);
  EXPECT_NE(last_error().find("already holds a device"), std::string::npos) << last_error();
  EXPECT_EQ(ca_operator("reset alice"), 3);
  // The account works: a secondary pairs and reads what the primary stored.
  const json add =
      ok("alice2", "device add --user alice --token alice2 --device-name secondary" + server_opts_);
  ok("alice1", "device approve --yes " + add["pairing_code"].get<std::string>());
  ok("alice1", "put " + file("r.txt", "resumed").string());
  ok("alice2", "get r.txt -o " + (dir_ / "r").string());
  EXPECT_EQ(read(dir_ / "r"), "resumed");
}

TEST_F(Enrollment, AnotherDeviceCannotFinishSomeoneElsesEnrollment) {
  const std::string code = ca_->invite("alice");
  EXPECT_NE(hopbox("alice1", init_args("alice", "alice1", code) + wrong_server_opts()).exit_code,
            0);
  // Someone holding the code but not alice1's keys gets no certificate, and is left nothing.
  EXPECT_EQ(hopbox("bob1", init_args("alice", "bob1", code) + server_opts_).exit_code, 3);
  EXPECT_NE(last_error().find("certificate already"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "bob1" / "device.json"));
  EXPECT_FALSE(token_has_keys("bob1", "hopbox/alice/primary"));
  // alice1 still finishes, as alice.
  EXPECT_EQ(ok("alice1", init_args("alice", "alice1", code) + server_opts_)["user"], "alice");
}

TEST_F(Enrollment, TheOperatorResetsAnIdentityWhoseInitNeverCompleted) {
  const std::string code = ca_->invite("alice");
  EXPECT_NE(hopbox("alice1", init_args("alice", "alice1", code) + wrong_server_opts()).exit_code,
            0);
  // The user gave up on that device: revoking alone does not free the identifier; reset does.
  EXPECT_EQ(ca_->invite("alice"), "");
  EXPECT_EQ(ca_operator("reset nobody"), 3);
  EXPECT_EQ(ca_operator("reset alice"), 0);
  ASSERT_EQ(ca_list().size(), 1u);
  EXPECT_NE(ca_list()[0]["revoked_at"], 0);
  const std::string fresh = ca_->invite("alice");
  ASSERT_FALSE(fresh.empty());
  // The old code no longer resumes anything; the new one enrolls a new device.
  EXPECT_EQ(hopbox("alice2", init_args("alice", "alice2", code) + server_opts_).exit_code, 3);
  const json done = ok("alice2", init_args("alice", "alice2", fresh) + server_opts_);
  EXPECT_EQ(done["user"], "alice");
  // The abandoned device, its certificate revoked, cannot take the account afterwards.
  EXPECT_NE(hopbox("alice1", init_args("alice", "alice1", code) + server_opts_).exit_code, 0);
  EXPECT_EQ(ca_operator("reset alice"), 3);
  ok("alice2", "put " + file("n.txt", "new").string());
}

TEST_F(Enrollment, AFailedInitLeavesNoKeysOrStateBehind) {
  const std::string code = ca_->invite("bob");
  // A wrong code: refused by the CA; nothing kept.
  EXPECT_EQ(hopbox("bob1", init_args("bob", "bob1", "WRON-GCOD-E000") + server_opts_).exit_code, 3);
  EXPECT_NE(last_error().find("nothing was kept"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "bob1"));
  EXPECT_FALSE(token_has_keys("bob1", "hopbox/bob/primary"));
  // The CA unreachable: the same.
  std::string no_ca = server_opts_;
  const std::string ca_opt = " --ca " + ca_->address() + " ";
  no_ca.replace(no_ca.find(ca_opt), ca_opt.size(), " --ca 127.0.0.1:1 ");
  EXPECT_EQ(hopbox("bob1", init_args("bob", "bob1", code) + no_ca).exit_code, 5);  // unavailable
  EXPECT_FALSE(fs::exists(dir_ / "bob1"));
  EXPECT_FALSE(token_has_keys("bob1", "hopbox/bob/primary"));
  // The retry works.
  EXPECT_EQ(ok("bob1", init_args("bob", "bob1", code) + server_opts_)["user"], "bob");
}

TEST_F(Enrollment, AFailedDeviceAddLeavesNoKeysOrStateBehind) {
  make_user("alice");
  // An unknown user, then the cloud unreachable: refused, nothing kept.
  const std::string add = " --token bob2 --device-name secondary";
  EXPECT_EQ(hopbox("bob2", "device add --user nobody" + add + server_opts_).exit_code, 3);
  EXPECT_NE(last_error().find("nothing was kept"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "bob2"));
  EXPECT_FALSE(token_has_keys("bob2", "hopbox/nobody/secondary"));
  EXPECT_EQ(hopbox("bob2", "device add --user alice" + add + wrong_server_opts()).exit_code, 5);
  EXPECT_FALSE(fs::exists(dir_ / "bob2"));
  EXPECT_FALSE(token_has_keys("bob2", "hopbox/alice/secondary"));
  // The retry works, with the same token and device name.
  const json added = ok("bob2", "device add --user alice" + add + server_opts_);
  ok("alice1", "device approve --yes " + added["pairing_code"].get<std::string>());
  EXPECT_EQ(ok("bob2", "device status")["approved"], true);
}

}  // namespace
}  // namespace hopbox
