// Issue 13, "a day with Hopbox", end to end with the real hopbox, hopboxd and SoftHSM2: what
// `shares` and `ls` tell a person (with whom, what, until when; sizes, dates, folders), the
// same facts with --json; a progress line on a terminal that names bytes and rate without
// flooding it; -q and -v; the answer to an access request reaching the requester; a
// mistyped user named; one safety number per account; setup in one step; shell completion
// and the manual page made from the command line.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_fixture.h"

namespace hopbox {
namespace {

class Day : public EndToEnd {
 protected:
  // The client without --json: what a person reads. Standard error goes to last_error().
  CliRun text(const std::string& device, const std::string& args) {
    const auto [code, out] = hopbox::testing::run_capture(std::string(HOPBOX_BINARY) + " --state " +
                                                          (dir_ / device).string() + " " + args +
                                                          " 2>" + (dir_ / "stderr.txt").string());
    return {code, out};
  }
  std::string text_ok(const std::string& device, const std::string& args) {
    const CliRun r = text(device, args);
    EXPECT_EQ(r.exit_code, 0) << args << "\n" << last_error();
    return r.out;
  }
  // The line of `out` that holds `needle`, or "".
  static std::string line_with(const std::string& out, const std::string& needle) {
    std::size_t at = out.find(needle);
    if (at == std::string::npos) return "";
    const std::size_t begin = out.rfind('\n', at);
    const std::size_t end = out.find('\n', at);
    return out.substr(begin == std::string::npos ? 0 : begin + 1,
                      end == std::string::npos
                          ? std::string::npos
                          : end - (begin == std::string::npos ? 0 : begin + 1));
  }
  static std::string local_day(std::int64_t unix_seconds) {
    const auto t = static_cast<std::time_t>(unix_seconds);
    std::tm local{};
    localtime_r(&t, &local);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &local);
    return buf;
  }
  static std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }
};

TEST_F(Day, SharesSayWithWhomWhatAndUntilWhenAndTheWidestGrantIsNamed) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  ok("bob1", "init --user bob --token bob1 --device-name primary" + server_opts_);
  ok("alice1", "put --folder photos " + file("beach.jpg", "sand").string());
  ok("alice1", "put " + file("plan.txt", "the plan").string());

  // Without --folder or --item: said to be everything, also what comes later.
  const std::string all = text_ok("alice1", "share bob --yes");
  EXPECT_NE(all.find("shared all items with bob"), std::string::npos) << all;
  EXPECT_NE(all.find("widest grant"), std::string::npos) << all;
  EXPECT_NE(all.find("never expires"), std::string::npos) << all;
  const std::string some = text_ok("alice1", "share bob --yes --folder photos --expires-in 7200");
  EXPECT_NE(some.find("shared folder photos with bob"), std::string::npos) << some;
  EXPECT_EQ(some.find("widest grant"), std::string::npos) << some;
  const json listed = ok("alice1", "share bob --yes --item plan.txt --expires-in 3600");
  EXPECT_EQ(listed["scope"], "listed-items");
  EXPECT_EQ(listed["what"], "item plan.txt");

  // --json: the same facts as fields.
  const json shares = ok("alice1", "shares");
  json by_scope;
  for (const auto& s : shares) {
    if (s["kind"] == "REKEY_KIND_SHARE") by_scope[s["scope"].get<std::string>()] = s;
  }
  ASSERT_EQ(by_scope.size(), 3u) << shares.dump();
  EXPECT_EQ(by_scope["all-items"]["user"], "bob");
  EXPECT_EQ(by_scope["all-items"]["expires_at"], 0);
  EXPECT_EQ(by_scope["all-items"]["expires"], "never");
  EXPECT_EQ(by_scope["folder"]["folder"], "photos");
  EXPECT_EQ(by_scope["folder"]["what"], "folder photos");
  const std::int64_t folder_expiry = by_scope["folder"]["expires_at"].get<std::int64_t>();
  EXPECT_NEAR(static_cast<double>(folder_expiry), static_cast<double>(now() + 7200), 120);
  EXPECT_EQ(by_scope["listed-items"]["items"], json::array({"plan.txt"}));
  EXPECT_EQ(by_scope["listed-items"]["user"], "bob");

  // As text: one line per share naming the user, what it reaches and the expiry as a date.
  const std::string out = text_ok("alice1", "shares");
  const std::string folder_line = line_with(out, "folder photos");
  EXPECT_NE(folder_line.find("bob"), std::string::npos) << out;
  EXPECT_NE(folder_line.find("expires " + by_scope["folder"]["expires"].get<std::string>()),
            std::string::npos)
      << out;
  EXPECT_NE(folder_line.find(local_day(folder_expiry)), std::string::npos) << out;
  const std::string all_line = line_with(out, "all items");
  EXPECT_NE(all_line.find("bob"), std::string::npos) << out;
  EXPECT_NE(all_line.find("never expires"), std::string::npos) << out;
  EXPECT_NE(line_with(out, "item plan.txt").find("bob"), std::string::npos) << out;
}

TEST_F(Day, LsShowsSizesInHumanUnitsDatesAndFolders) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  // 1.2 MiB over several chunks, and five bytes: the plaintext sizes, exactly.
  const std::size_t big = 1258291;
  ok("alice1", "put --folder photos " + file("big.bin", std::string(big, 'x')).string());
  ok("alice1", "put " + file("small.txt", "hello").string());
  const json items = ok("alice1", "ls");
  ASSERT_EQ(items.size(), 2u) << items.dump();
  json by_name;
  for (const auto& i : items) by_name[i["item"].get<std::string>()] = i;
  EXPECT_EQ(by_name["big.bin"]["size"], big);
  EXPECT_EQ(by_name["small.txt"]["size"], 5);
  EXPECT_EQ(by_name["big.bin"]["folder"], "photos");
  const std::int64_t created = by_name["big.bin"]["created_at"].get<std::int64_t>();
  EXPECT_NEAR(static_cast<double>(created), static_cast<double>(now()), 120);

  const std::string out = text_ok("alice1", "ls");
  const std::string big_line = line_with(out, "alice/photos/big.bin");
  EXPECT_NE(big_line.find("1.2 MiB"), std::string::npos) << out;
  EXPECT_NE(big_line.find("photos"), std::string::npos) << out;
  EXPECT_NE(big_line.find(local_day(created)), std::string::npos) << out;
  EXPECT_NE(line_with(out, "alice/small.txt").find("5 B"), std::string::npos) << out;
}

TEST_F(Day, ProgressOnATerminalNamesBytesAndRateAndIsRedrawnAFewTimesASecond) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  // 24 MiB: 384 chunks of 64 KiB, each of which used to redraw the line.
  std::string big(24 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i >> 12);
  const fs::path f = file("big.bin", big);
  const std::string base =
      std::string(HOPBOX_BINARY) + " --state " + (dir_ / "alice1").string() + " ";
  for (const std::string& args :
       {"put " + f.string(), "get big.bin -o " + (dir_ / "got.bin").string()}) {
    const auto start = std::chrono::steady_clock::now();
    const CliRun shown = run_on_terminal(base + args, "\x01never", "");
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(shown.exit_code, 0) << args << "\n" << shown.out;
    const auto redraws = std::count(shown.out.begin(), shown.out.end(), '\r') -
                         std::count(shown.out.begin(), shown.out.end(), '\n');  // the tty's CRLF
    // At most four a second, plus the first and the last.
    EXPECT_GE(redraws, 1) << shown.out;
    EXPECT_LE(static_cast<double>(redraws), 4 * seconds + 2)
        << args << ": " << redraws << " redraws in " << seconds << " s";
    EXPECT_NE(shown.out.find("of 24.0 MiB"), std::string::npos) << shown.out;
    EXPECT_NE(shown.out.find("/s"), std::string::npos) << shown.out;
  }
  EXPECT_EQ(fs::file_size(dir_ / "got.bin"), big.size());
  // Not on a terminal, and not with --json: no progress line.
  ok("alice1", "get big.bin -o " + (dir_ / "again.bin").string());
  EXPECT_EQ(last_error().find("MiB"), std::string::npos) << last_error();
  const CliRun json_on_tty =
      run_on_terminal(base + "--json get big.bin -o " + (dir_ / "j.bin").string(), "\x01", "");
  EXPECT_EQ(json_on_tty.out.find("/s"), std::string::npos) << json_on_tty.out;
}

TEST_F(Day, TheRequesterLearnsWhetherAccessWasGrantedOrRefused) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  ok("bob1", "init --user bob --token bob1 --device-name primary" + server_opts_);
  ok("alice1", "put " + file("plan.txt", "the plan").string());
  ok("bob1", "request-access alice --item plan.txt");
  const json answered = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(answered.size(), 1u);
  EXPECT_EQ(answered[0]["told"], true);
  // bob's inbox says so, and his watch shows it once and then clears it.
  const json inbox = ok("bob1", "inbox");
  ASSERT_EQ(inbox.size(), 1u) << inbox.dump();
  EXPECT_EQ(inbox[0]["kind"], "access-answer");
  EXPECT_EQ(inbox[0]["granted"], true);
  EXPECT_EQ(inbox[0]["from_user"], "alice");
  EXPECT_NE(text_ok("bob1", "inbox").find("granted (plan.txt)"), std::string::npos);
  const std::string shown = text_ok("bob1", "watch --seconds 1");
  EXPECT_NE(shown.find("alice granted your request for plan.txt"), std::string::npos) << shown;
  EXPECT_EQ(ok("bob1", "inbox").size(), 0u);
  ok("bob1", "get plan.txt --owner alice -o " + (dir_ / "p").string());

  // Refused: said as such, with --json too.
  ok("bob1", "request-access alice");
  ok("alice1", "watch --seconds 1 --no");
  const json refused = ok("bob1", "watch --seconds 1");
  ASSERT_EQ(refused.size(), 1u) << refused.dump();
  EXPECT_EQ(refused[0]["kind"], "access-answer");
  EXPECT_EQ(refused[0]["granted"], false);
  EXPECT_EQ(refused[0]["item"], "");
}

// Nobody but the asked device answers an access request: the requester cannot tell himself he
// was granted, and the owner cannot answer a request that is not in her inbox.
TEST_F(Day, AttackAnAccessAnswerFromAnyoneButTheAskedDeviceIsRefused) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  ok("bob1", "init --user bob --token bob1 --device-name primary" + server_opts_);
  ok("alice1", "put " + file("plan.txt", "the plan").string());
  ok("bob1", "request-access alice --item plan.txt");
  const std::int64_t request =
      cloud_int("SELECT id FROM notifications WHERE kind = 'access_request'");
  ASSERT_GT(request, 0);
  hopboxd::test::TestDevice bob = session_of("bob1");
  hopboxd::test::TestDevice alice = session_of("alice1");
  for (const auto& [sender, to] : {std::pair{bob, bob.id}, std::pair{alice, alice.id}}) {
    v1::SendNotificationRequest req;
    req.set_to_device_id(to);
    req.mutable_access_answer()->set_request_id(request);
    req.mutable_access_answer()->set_granted(true);
    v1::SendNotificationResponse resp;
    grpc::ClientContext ctx;
    sender.authorize(ctx);
    const grpc::Status s = server_->stub()->SendNotification(&ctx, req, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_NE(s.error_message().find("no access request of that device in this inbox"),
              std::string::npos)
        << s.error_message();
  }
  EXPECT_EQ(ok("bob1", "inbox").size(), 0u);
}

TEST_F(Day, AMistypedUserIsNamedAndAMissingShareSuggestsRequestAccess) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  ok("bob1", "init --user bob --token bob1 --device-name primary" + server_opts_);
  ok("alice1", "put " + file("a.txt", "A").string());
  for (const std::string args : {"share bbo --yes", "request-access bbo", "recovery add bbo"}) {
    EXPECT_EQ(hopbox("alice1", args).exit_code, 3) << args;
    EXPECT_NE(last_error().find("no user bbo"), std::string::npos) << args << ": " << last_error();
  }
  // The right name, nothing shared: how to ask for it, with the owner and the item.
  EXPECT_EQ(hopbox("bob1", "get a.txt --owner alice -o " + (dir_ / "a").string()).exit_code, 3);
  EXPECT_NE(last_error().find("hopbox request-access alice --item a.txt"), std::string::npos)
      << last_error();
}

class DayWithCa : public Day {
 protected:
  bool with_ca() const override { return true; }
};

TEST_F(DayWithCa, QuietSaysOnlyErrorsAndVerboseNamesTheServiceAndTheChains) {
  make_user("alice");
  const fs::path f = file("a.txt", "A");
  // -q: nothing on success, the error on failure.
  EXPECT_EQ(text_ok("alice1", "-q put " + f.string()), "");
  EXPECT_EQ(last_error(), "");
  EXPECT_EQ(text_ok("alice1", "-q ls"), "");
  EXPECT_EQ(text("alice1", "-q get no-such.txt -o " + (dir_ / "n").string()).exit_code, 3);
  EXPECT_NE(last_error().find("hopbox: "), std::string::npos) << last_error();
  // --json still answers a script that asked for it.
  EXPECT_EQ(ok("alice1", "-q ls").size(), 1u);
  // -v: the service and CA addresses and the certificate chain, on standard error.
  const std::string out = text_ok("alice2", "-v get a.txt -o " + (dir_ / "a").string());
  EXPECT_NE(out.find("downloaded a.txt"), std::string::npos) << out;
  const std::string detail = last_error();
  EXPECT_NE(detail.find("service 127.0.0.1:" + std::to_string(server_->port())), std::string::npos)
      << detail;
  EXPECT_NE(detail.find("CA " + ca_->address()), std::string::npos) << detail;
  EXPECT_NE(detail.find("chain of 2 certificate(s)"), std::string::npos) << detail;
  EXPECT_NE(detail.find("chain of 1 re-encryption key(s)"), std::string::npos) << detail;
  EXPECT_EQ(detail.find("1234"), std::string::npos) << "the PIN was shown: " << detail;
  EXPECT_EQ(detail.find(state_of("alice2")["session_token"].get<std::string>()), std::string::npos)
      << "the session token was shown";
  text_ok("alice1", "-v whoami");
  EXPECT_NE(last_error().find("chain of 1 certificate(s)"), std::string::npos) << last_error();
  // Both: a usage error.
  EXPECT_EQ(text("alice1", "-q -v ls").exit_code, 2);
}

TEST_F(DayWithCa, WithTheCaDownDevicesTrustByItsLastListUntilThatExpiresThenRefuse) {
  make_user("alice");
  ok("bob1", "init --user bob --token bob1 --device-name primary --enroll-code " +
                 ca_->invite("bob") + server_opts_);
  const fs::path f = file("notes.txt", "read while the CA is down");
  ok("alice1", "put " + f.string());
  ok("alice1", "get notes.txt -o " + (dir_ / "first").string());  // alice keeps the CA's list
  ASSERT_TRUE(fs::exists(dir_ / "alice1" / "revocations.bin"));

  ca_->stop();
  // Its own items, and a share with a key it verifies by the list it kept.
  ok("alice1", "get notes.txt -o " + (dir_ / "offline").string());
  EXPECT_EQ(read(dir_ / "offline"), "read while the CA is down");
  EXPECT_NE(last_error().find("trusting keys by the CA's revocation list of"), std::string::npos)
      << last_error();
  EXPECT_NE(last_error().find("cannot reach the CA at " + ca_->address()), std::string::npos)
      << last_error();
  ok("alice1", "share bob --item notes.txt --yes");
  ok("alice1", "put " + file("later.txt", "written while the CA is down").string());
  ok("alice2", "get later.txt -o " + (dir_ / "later").string());
  EXPECT_EQ(read(dir_ / "later"), "written while the CA is down");
  // A device that kept no list trusts nothing: it says why and what to do.
  fs::remove(dir_ / "bob1" / "revocations.bin");
  const CliRun none = hopbox("bob1", "get alice/notes.txt -o " + (dir_ / "bob").string());
  EXPECT_EQ(none.exit_code, 5);
  EXPECT_NE(last_error().find("no copy of an earlier list"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "bob"));

  // The CA back, briefly, with lists valid for three seconds: alice's copy is such a one.
  ca_->restart({"--revocation-list-seconds", "3"});
  ok("alice1", "get notes.txt -o " + (dir_ / "short").string());
  ok("bob1", "get alice/notes.txt -o " + (dir_ / "bob").string());
  // Back to day-long lists. Once the short ones expired, a device served again means hopboxd
  // (polling every second) holds a day-long one, which it keeps while the CA is down.
  ca_->restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(3500));
  for (int i = 0; i < 100 && hopbox("bob1", "shares").exit_code != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ca_->stop();
  // alice still holds a short list, now past its validity: it may miss a revocation made
  // since, so she fails closed, and says so.
  const CliRun late = hopbox("alice1", "get notes.txt -o " + (dir_ / "late").string());
  EXPECT_EQ(late.exit_code, 5) << last_error();
  EXPECT_NE(last_error().find("revocation list expired at"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("Nothing is trusted until the CA can be reached again"),
            std::string::npos)
      << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "late"));
  // And with the CA back, it works again.
  ca_->restart();
  ok("alice1", "get notes.txt -o " + (dir_ / "again").string());
}

// The kept list is read from disk, so it is checked as if the network sent it: an older list,
// validly signed and still in force, put back (a restored backup, a hostile local user) while
// the CA is down would hide the revocations made since.
TEST_F(DayWithCa, OfflineAnOlderKeptListPutBackIsRefused) {
  ok("alice1", "init --user alice --token alice1 --device-name primary --enroll-code " +
                   ca_->invite("alice") + server_opts_);
  ok("alice1", "put " + file("notes.txt", "n").string());
  ok("alice1", "get notes.txt -o " + (dir_ / "one").string());
  const std::string older = read(dir_ / "alice1" / "revocations.bin");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the next list is newer
  ok("alice1", "get notes.txt -o " + (dir_ / "two").string());
  ASSERT_NE(read(dir_ / "alice1" / "revocations.bin"), older);
  ca_->stop();
  std::ofstream(dir_ / "alice1" / "revocations.bin", std::ios::binary | std::ios::trunc) << older;
  const CliRun r = hopbox("alice1", "get notes.txt -o " + (dir_ / "three").string());
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(last_error().find("is older than one already seen"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "three"));
}

// The device that removes another keeps a list that holds the revocation: with the CA blocked
// afterwards, it must not go on trusting the removed device by a list kept from before.
TEST_F(DayWithCa, OfflineADeviceRemovedHereStaysRevoked) {
  make_user("alice");
  ok("alice2", "put " + file("old.txt", "from the secondary").string());
  ok("alice1", "get old.txt -o " + (dir_ / "o1").string());  // keeps a list without it
  std::int64_t secondary = 0;
  for (const auto& d : ok("alice1", "device list")) {
    if (!d["primary"].get<bool>()) secondary = d["device_id"];
  }
  ASSERT_GT(secondary, 0);
  ok("alice1", "device remove " + std::to_string(secondary));
  ca_->stop();
  const CliRun after = hopbox("alice1", "get old.txt -o " + (dir_ / "o2").string());
  EXPECT_EQ(after.exit_code, 4);
  EXPECT_NE(last_error().find("revoked"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "o2"));
}

TEST_F(DayWithCa, TheSafetyNumberIsTheAccountsOnEveryDeviceAndOthersSeeTheSame) {
  make_user("alice");
  ok("bob1", "init --user bob --token bob1 --device-name primary --enroll-code " +
                 ca_->invite("bob") + server_opts_);
  const json primary = ok("alice1", "whoami");
  const json secondary = ok("alice2", "whoami");
  ASSERT_EQ(primary["safety_number"].get<std::string>().size(), 29u);
  EXPECT_EQ(secondary["safety_number"], primary["safety_number"]);
  // The device's own key, apart: the primary's is the account's; the secondary's is not.
  EXPECT_EQ(primary["device_safety_number"], primary["safety_number"]);
  ASSERT_EQ(secondary["device_safety_number"].get<std::string>().size(), 29u);
  EXPECT_NE(secondary["device_safety_number"], secondary["safety_number"]);
  const std::string shown = text_ok("alice2", "whoami");
  EXPECT_NE(shown.find("safety number " + primary["safety_number"].get<std::string>()),
            std::string::npos)
      << shown;
  EXPECT_NE(shown.find("own key (certified by the primary): " +
                       secondary["device_safety_number"].get<std::string>()),
            std::string::npos)
      << shown;
  // What bob is asked to compare is the number alice reads on either device.
  EXPECT_EQ(ok("bob1", "share alice --yes")["safety_number"], primary["safety_number"]);
}

TEST_F(DayWithCa, SetupMakesTheTokenWritesTheConfigurationAndLaterCommandsNeedNoOptions) {
  using hopbox::testing::run_capture;
  const fs::path config = dir_ / "home" / ".config" / "hopbox" / "config.json";
  setenv("HOPBOX_CONFIG", config.c_str(), 1);
  unsetenv("HOPBOX_STATE");
  const std::string bin = HOPBOX_BINARY, err = " 2>" + (dir_ / "stderr.txt").string();
  // --help names the defaults and where the configuration goes.
  const std::string help = run_capture(bin + " setup --help").second;
  for (const std::string shown :
       {"127.0.0.1:7443", "libsofthsm2.so", "~/.config/hopbox/config.json"}) {
    EXPECT_NE(help.find(shown), std::string::npos) << shown << "\n" << help;
  }
  EXPECT_NE(run_capture(bin + " --help").second.find(".local/share/hopbox"), std::string::npos);
  // hopboxd told its operator which certificate clients need.
  const std::string server_ca = (server_->dir() / "tls" / "cert.pem").string();
  EXPECT_NE(read(server_->dir() / "server.log").find("--server-ca " + server_ca), std::string::npos)
      << read(server_->dir() / "server.log");

  // One step: no token "laptop" yet, so it is made; the account is created.
  const std::string server = "127.0.0.1:" + std::to_string(server_->port());
  const auto [code, out] = run_capture(
      bin + " --json --state " + (dir_ / "carol").string() +
      " setup --user carol --token laptop --server " + server + " --server-ca " + server_ca +
      " --module " + SOFTHSM_MODULE + " --ca " + ca_->address() + " --ca-root " +
      ca_->root_pem().string() + " --enroll-code " + ca_->invite("carol") + err);
  ASSERT_EQ(code, 0) << last_error();
  const json made = json::parse(out);
  EXPECT_EQ(made["user"], "carol");
  EXPECT_EQ(made["token_created"], true);
  EXPECT_EQ(made["safety_number"].get<std::string>().size(), 29u);
  const json written = json::parse(read(config));
  EXPECT_EQ(written["server"], server);
  EXPECT_EQ(written["server_ca"], server_ca);
  EXPECT_EQ(written["token"], "laptop");
  EXPECT_EQ(written["ca"], ca_->address());
  EXPECT_EQ(written["state"], (dir_ / "carol").string());
  EXPECT_EQ(fs::status(config).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(read(config).find("1234"), std::string::npos) << "the PIN was written";

  // Later commands: no --state, no --server; the configuration says where.
  const fs::path f = file("notes.txt", "carol's notes");
  EXPECT_EQ(run_capture(bin + " put " + f.string() + err).first, 0) << last_error();
  const fs::path back = dir_ / "back.txt";
  EXPECT_EQ(run_capture(bin + " get notes.txt -o " + back.string() + err).first, 0) << last_error();
  EXPECT_EQ(read(back), "carol's notes");
  EXPECT_EQ(json::parse(run_capture(bin + " --json whoami" + err).second)["user"], "carol");
  // A flag wins over the configuration: another state folder has no device.
  EXPECT_NE(run_capture(bin + " --state " + (dir_ / "nobody").string() + " ls" + err).first, 0);
  // Run again: the device exists; nothing is overwritten.
  EXPECT_EQ(run_capture(bin + " setup --user carol --server-ca " + server_ca + err).first, 2);
  EXPECT_NE(last_error().find("set up already"), std::string::npos) << last_error();
  unsetenv("HOPBOX_CONFIG");
}

// The names of the commands `hopbox [PATH] --help` lists.
std::vector<std::string> listed_commands(const std::string& path) {
  const auto [code, help] =
      hopbox::testing::run_capture(std::string(HOPBOX_BINARY) + " " + path + " --help");
  EXPECT_EQ(code, 0) << help;
  std::vector<std::string> names;
  const std::size_t at = help.find("Subcommands:");
  if (at == std::string::npos) return names;
  std::istringstream lines(help.substr(at));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line) && line.starts_with("  ")) {
    std::istringstream words(line);
    std::string name;
    words >> name;
    names.push_back(name);
  }
  return names;
}

TEST(Completion, BashCompletesCommandsAndZshGetsTheSameWords) {
  const std::string hopbox = HOPBOX_BINARY;
  // What bash offers after `hopbox WORDS...`, with the script as a user would load it.
  const auto complete = [&](const std::string& typed) {
    const std::string script = "source <(" + hopbox +
                               " completion bash) && complete -p hopbox && COMP_WORDS=(" + typed +
                               ") && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _hopbox && echo "
                               "\"[${COMPREPLY[*]}]\"";
    return hopbox::testing::run_capture("bash -c '" + script + "'").second;
  };
  const std::string sh = complete("hopbox sh");
  EXPECT_NE(sh.find("complete -o default -F _hopbox hopbox"), std::string::npos) << sh;
  EXPECT_NE(sh.find("[share shares]"), std::string::npos) << sh;
  EXPECT_NE(complete("hopbox device ap").find("[approve]"), std::string::npos);
  EXPECT_NE(complete("hopbox --state /tmp recovery th").find("[threshold]"), std::string::npos);
  EXPECT_NE(complete("hopbox share bob --ex").find("[--expires-in]"), std::string::npos);
  EXPECT_NE(complete("hopbox watch --j").find("[--json]"), std::string::npos);  // global
  EXPECT_EQ(complete("hopbox help-m").find("help-man"), std::string::npos);     // hidden

  const auto [code, zsh] = hopbox::testing::run_capture(hopbox + " completion zsh");
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(zsh.starts_with("#compdef hopbox\n")) << zsh;
  for (const auto& name : listed_commands("")) {
    if (name == "help-man") continue;
    EXPECT_NE(zsh.find(name), std::string::npos) << name;
  }
  // Its syntax, by zsh when there is one; bash reads the constructs the script uses alike.
  const std::string script = (fs::temp_directory_path() / "hopbox-zsh-completion").string();
  std::ofstream(script) << zsh;
  const bool have_zsh = hopbox::testing::run_capture("command -v zsh").first == 0;
  EXPECT_EQ(
      hopbox::testing::run_capture(std::string(have_zsh ? "zsh" : "bash") + " -n " + script).first,
      0)
      << zsh;
  fs::remove(script);
  EXPECT_EQ(hopbox::testing::run_capture(hopbox + " completion fish 2>/dev/null").first, 2);
}

TEST(ManPage, NamesEveryCommandAndIsMadeAtBuildTime) {
  // Beside the binary in the build tree, made by the build (hopbox_man).
  const fs::path page = fs::path(HOPBOX_BINARY).parent_path() / "hopbox.1";
  ASSERT_TRUE(fs::exists(page));
  const std::string man = hopboxd::test::read_all(page);
  EXPECT_TRUE(man.starts_with(".TH HOPBOX 1")) << man.substr(0, 200);
  std::size_t checked = 0;
  for (const std::string group : {"", "device", "recovery"}) {
    for (const auto& name : listed_commands(group)) {
      std::string full;  // as roff writes it: minus signs escaped
      for (const char ch : group.empty() ? name : group + " " + name) {
        full += ch == '-' ? std::string("\\-") : std::string(1, ch);
      }
      EXPECT_NE(man.find(".SS \"hopbox " + full + "\""), std::string::npos) << full;
      ++checked;
    }
  }
  EXPECT_GT(checked, 25u);
  EXPECT_NE(man.find("\\-\\-expires\\-in"), std::string::npos);
  EXPECT_NE(man.find("HOPBOX_PIN"), std::string::npos);
  EXPECT_EQ(man.find("help\\-man"), std::string::npos);  // the generator stays hidden
  // The page the build made is what the binary makes now.
  EXPECT_EQ(hopbox::testing::run_capture(std::string(HOPBOX_BINARY) + " help-man").second, man);
}

}  // namespace
}  // namespace hopbox
