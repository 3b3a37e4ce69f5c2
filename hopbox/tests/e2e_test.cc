// Protocol 1 end to end with real processes: a hopboxd on loopback, the hopbox command line,
// and one SoftHSM2 token per device. Two users, each with a primary and a secondary device.
#include "e2e_fixture.h"

namespace hopbox {
namespace {

TEST_F(EndToEnd, SharedFromASecondaryReadOnTheOtherUsersSecondaryThroughThreeReencryptions) {
  make_user("alice");
  make_user("bob");
  std::string content(300000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 7 + 3);
  const fs::path report = file("report.bin", content);
  // Uploaded from alice's secondary (encrypted for alice's primary key, as Protocol 1 says).
  ok("alice2", "put " + report.string() + " --as report.bin");
  // Shared from alice's secondary to bob's primary.
  const json share = ok("alice2", "share bob");
  // Downloaded on bob's secondary: alice1 -> alice2 -> bob1 -> bob2.
  const json got = ok("bob2", "get report.bin --owner alice -o " + (dir_ / "got.bin").string());
  EXPECT_EQ(got["reencryptions"], 3);
  EXPECT_EQ(read(dir_ / "got.bin"), content);
  // Every device of both users reads it, each through its own chain.
  EXPECT_EQ(ok("alice1", "get report.bin -o " + (dir_ / "a1.bin").string())["reencryptions"], 0);
  EXPECT_EQ(ok("alice2", "get report.bin -o " + (dir_ / "a2.bin").string())["reencryptions"], 1);
  EXPECT_EQ(
      ok("bob1", "get report.bin --owner alice -o " + (dir_ / "b1.bin").string())["reencryptions"],
      2);
  // bob lists it as shared with him.
  const json listing = ok("bob2", "ls --shared");
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0]["owner"], "alice");

  // Unsharing takes effect at once, and a failed download leaves no file behind.
  ok("alice2", "unshare " + std::to_string(share["share_id"].get<std::int64_t>()));
  const CliRun refused =
      hopbox("bob2", "get report.bin --owner alice -o " + (dir_ / "after.bin").string());
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_FALSE(fs::exists(dir_ / "after.bin"));
  EXPECT_FALSE(fs::exists(dir_ / "after.bin.hopbox-partial"));

  // A removed device can no longer read, not even its own account's items.
  const json devices = ok("alice1", "device list");
  std::int64_t secondary = 0;
  for (const auto& d : devices) {
    if (!d["primary"].get<bool>()) secondary = d["device_id"];
  }
  ASSERT_NE(secondary, 0);
  ok("alice1", "device remove " + std::to_string(secondary));
  EXPECT_NE(hopbox("alice2", "get report.bin -o " + (dir_ / "x.bin").string()).exit_code, 0);
  EXPECT_EQ(ok("alice1", "device list").size(), 1u);
  ok("alice1", "get report.bin -o " + (dir_ / "still.bin").string());
}

TEST_F(EndToEnd, PoliciesAndClearErrors) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("a.txt", "A").string() + " --folder photos");
  ok("alice1", "put " + file("b.txt", "B").string() + " --folder work");
  ok("alice1", "share bob --folder photos");
  EXPECT_EQ(ok("bob1", "get a.txt --owner alice -o " + (dir_ / "a").string())["reencryptions"], 1);
  EXPECT_EQ(hopbox("bob1", "get b.txt --owner alice -o " + (dir_ / "b").string()).exit_code, 3);
  // Uploading the same name to the same folder again needs --replace.
  EXPECT_EQ(hopbox("alice1", "put " + (dir_ / "a.txt").string() + " --folder photos").exit_code, 3);
  ok("alice1", "put " + file("a.txt", "A2").string() + " --folder photos --replace");
  ok("bob2", "get a.txt --owner alice -o " + (dir_ / "a2").string());
  EXPECT_EQ(read(dir_ / "a2"), "A2");
  // Usage errors exit 2; a device without state says what to do.
  EXPECT_EQ(hopbox("alice1", "put").exit_code, 2);  // a required argument is missing
  EXPECT_EQ(hopbox("alice1", "frobnicate").exit_code, 2);
  EXPECT_EQ(hopbox("alice1", "--help").exit_code, 0);
  EXPECT_EQ(hopbox("nobody", "ls").exit_code, 1);
  EXPECT_EQ(hopbox("alice1", "put " + (dir_ / "a.txt").string() + " --as ../x").exit_code, 2);
  // A wrong PIN is refused by the token.
  setenv("HOPBOX_PIN", "0000", 1);
  EXPECT_EQ(hopbox("alice1", "ls").exit_code, 1);
  setenv("HOPBOX_PIN", "1234", 1);
  // Options may come from a config file (CLI11's TOML): here, which device's state to use.
  std::ofstream(dir_ / "hopbox.toml") << "state = \"" << (dir_ / "bob1").string() << "\"\n";
  const std::string cmd = std::string(HOPBOX_BINARY) + " --config " +
                          (dir_ / "hopbox.toml").string() + " --json ls --shared";
  FILE* p = popen(cmd.c_str(), "r");
  std::string listing;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) listing.append(buf, n);
  EXPECT_EQ(pclose(p), 0);
  EXPECT_NE(listing.find("\"owner\":\"alice\""), std::string::npos) << listing;
  ok("alice1", "rm photos/a.txt");  // the folder is part of the item's path
  EXPECT_EQ(hopbox("alice1", "get photos/a.txt -o " + (dir_ / "gone").string()).exit_code, 3);
}

TEST_F(EndToEnd, AccessRequestsArriveInTheOwnersInboxAndGrantingShares) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("plan.txt", "the plan").string());
  EXPECT_EQ(hopbox("bob2", "get plan.txt --owner alice -o " + (dir_ / "p").string()).exit_code, 3);
  ok("bob2", "request-access alice --item plan.txt --message please");
  // alice's primary sees the request, from bob, for that item.
  const json pending = ok("alice1", "inbox");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]["kind"], "access-request");
  EXPECT_EQ(pending[0]["from_user"], "bob");
  // She grants it (non-interactively here); the request is acknowledged.
  const json answered = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0]["granted"], true);
  EXPECT_EQ(answered[0]["item"], "plan.txt");
  EXPECT_EQ(ok("alice1", "inbox").size(), 0u);
  ok("bob2", "get plan.txt --owner alice -o " + (dir_ / "p").string());
  EXPECT_EQ(read(dir_ / "p"), "the plan");
  // The grant covers that item only.
  ok("alice1", "put " + file("other.txt", "other").string());
  EXPECT_EQ(hopbox("bob2", "get other.txt --owner alice -o " + (dir_ / "o").string()).exit_code, 3);
}

TEST_F(EndToEnd, ADeviceWithoutATokenUsesTheSoftwareKeystoreAndSaysItIsWeaker) {
  const std::string opts = server_opts_.substr(0, server_opts_.find(" --module"));
  const CliRun init = hopbox("carol1", "init --user carol --software-keystore" + opts);
  ASSERT_EQ(init.exit_code, 0);
  EXPECT_NE(read(dir_ / "stderr.txt").find("WARNING"), std::string::npos);
  ok("carol1", "put " + file("c.txt", "carol's").string());
  ok("carol1", "get c.txt -o " + (dir_ / "c").string());
  EXPECT_EQ(read(dir_ / "c"), "carol's");
  // Both kinds of key home at once is a usage error.
  EXPECT_EQ(
      hopbox("carol2", "init --user carol2 --software-keystore --token x" + server_opts_).exit_code,
      2);
}

TEST_F(EndToEnd, ANewDeviceIsApprovedThroughThePrimarysInbox) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  const json add =
      ok("alice2", "device add --user alice --token alice2 --device-name phone" + server_opts_);
  const CliRun waiting = hopbox("alice2", "device status");
  EXPECT_EQ(waiting.exit_code, 1);  // not approved yet
  EXPECT_EQ(json::parse(waiting.out)["approved"], false);
  const json answered = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0]["short_code"], add["short_code"]);
  EXPECT_EQ(answered[0]["approved"], true);
  EXPECT_EQ(ok("alice2", "device status")["approved"], true);
  const json devices = ok("alice1", "device list");
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[1]["name"], "phone");  // the name the new device asked with
  ok("alice1", "put " + file("x.txt", "for the phone").string());
  ok("alice2", "get x.txt -o " + (dir_ / "x").string());
  EXPECT_EQ(read(dir_ / "x"), "for the phone");
}

}  // namespace
}  // namespace hopbox
