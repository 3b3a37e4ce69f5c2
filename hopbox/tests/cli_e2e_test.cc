// Issue 13, what users take for granted from a command line, end to end with the real hopbox,
// hopboxd, hopbox-ca and SoftHSM2: the PIN asked on a terminal and "wrong PIN" said as such,
// --version and one table of exit codes, "did you mean", a watch that waits until stopped and
// leaves unanswered requests pending, errors that say what to do next.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "e2e_fixture.h"
#include "hopbox/version.h"

namespace hopbox {
namespace {

TEST_F(EndToEnd, ThePinIsAskedOnATerminalAndAWrongOrUnreadableOneIsNamed) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  const std::string whoami =
      std::string(HOPBOX_BINARY) + " --state " + (dir_ / "alice1").string() + " whoami";
  unsetenv("HOPBOX_PIN");
  // On a terminal: asked, typed without echo, accepted.
  const CliRun typed = run_on_terminal(whoami, "token PIN: ", "1234\n");
  EXPECT_EQ(typed.exit_code, 0) << typed.out;
  EXPECT_NE(typed.out.find("alice (device"), std::string::npos) << typed.out;
  EXPECT_EQ(typed.out.find("1234"), std::string::npos) << "the PIN was echoed: " << typed.out;
  // Mistyped on the terminal: "wrong PIN", naming the token.
  const CliRun mistyped = run_on_terminal(whoami, "token PIN: ", "9999\n");
  EXPECT_EQ(mistyped.exit_code, 1);
  EXPECT_NE(mistyped.out.find("wrong PIN for token \"alice1\""), std::string::npos) << mistyped.out;
  // No terminal and no PIN: a usage error that says how to give it, at once.
  EXPECT_EQ(hopbox("alice1", "whoami < /dev/null").exit_code, 2);
  EXPECT_NE(last_error().find("HOPBOX_PIN"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("--pin-file"), std::string::npos) << last_error();
  // A PIN file that cannot be read is named.
  const std::string missing = (dir_ / "no-such-pin").string();
  EXPECT_EQ(hopbox("alice1", "--pin-file " + missing + " whoami < /dev/null").exit_code, 2);
  EXPECT_NE(last_error().find(missing), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("No such file"), std::string::npos) << last_error();
  EXPECT_EQ(ok("alice1", "--pin-file " + file("pin", "1234\n").string() + " whoami")["user"],
            "alice");
  // A wrong PIN from the environment: said as such, not as a PKCS#11 return value.
  setenv("HOPBOX_PIN", "0000", 1);
  EXPECT_EQ(hopbox("alice1", "whoami").exit_code, 1);
  EXPECT_NE(last_error().find("wrong PIN for token \"alice1\""), std::string::npos) << last_error();
  EXPECT_EQ(last_error().find("CK_RV"), std::string::npos) << last_error();
  setenv("HOPBOX_PIN", "1234", 1);
}

// A running `hopbox watch`: its standard error is read line by line as it comes.
class Watcher {
 public:
  Watcher(const std::string& command) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDERR_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    err_ = fdopen(fds[0], "r");
  }
  ~Watcher() { stop(); }
  // Reads standard error until a line holds `text` (true) or it ends (false).
  bool wait_for(const std::string& text) {
    char line[4096];
    while (err_ != nullptr && std::fgets(line, sizeof line, err_) != nullptr) {
      seen_ += line;
      if (std::string(line).find(text) != std::string::npos) return true;
    }
    return false;
  }
  // SIGTERM; whether it was still running (ended by the signal, not exited by itself).
  bool stop() {
    if (pid_ <= 0) return false;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    if (err_ != nullptr) std::fclose(err_);
    err_ = nullptr;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
  }
  const std::string& seen() const { return seen_; }

 private:
  pid_t pid_ = -1;
  FILE* err_ = nullptr;
  std::string seen_;
};

TEST_F(EndToEnd, TheThreeProgramsShowTheirVersionAndShareOneTableOfExitCodes) {
  using hopbox::testing::run_capture;
  const std::string silent = " 2>" + (dir_ / "stderr.txt").string();
  for (const std::string program : {HOPBOX_BINARY, HOPBOXD_BINARY, HOPBOX_CA_BINARY}) {
    const std::string name = fs::path(program).filename().string();
    const auto [code, out] = run_capture(program + " --version");
    EXPECT_EQ(code, 0) << name;
    EXPECT_EQ(out, name + " " + HOPBOX_VERSION + "\n");
    // 2: the command line is wrong, whichever program.
    EXPECT_EQ(run_capture(program + " --no-such-option" + silent).first, 2) << name;
  }
  // 3: refused or not found; 5: the service cannot be reached.
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  EXPECT_EQ(hopbox("alice1", "share nobody --yes").exit_code, 3) << last_error();
  std::string unreachable = server_opts_;
  const std::string port = "127.0.0.1:" + std::to_string(server_->port()) + " ";
  unreachable.replace(unreachable.find(port), port.size(), "127.0.0.1:1 ");
  EXPECT_EQ(hopbox("bob1", "init --user bob --token bob1" + unreachable).exit_code, 5);
}

TEST_F(EndToEnd, AMistypedCommandGetsADidYouMean) {
  EXPECT_EQ(hopbox("alice1", "shrae bob").exit_code, 2);
  EXPECT_NE(last_error().find("unknown command shrae; did you mean share?"), std::string::npos)
      << last_error();
  EXPECT_EQ(hopbox("alice1", "--json device aprove HBP1-x").exit_code, 2);
  EXPECT_NE(last_error().find("unknown command device aprove; did you mean device approve?"),
            std::string::npos)
      << last_error();
  // Nothing close: no guess, a pointer to --help.
  EXPECT_EQ(hopbox("alice1", "frobnicate").exit_code, 2);
  EXPECT_EQ(last_error().find("did you mean"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("--help"), std::string::npos) << last_error();
}

TEST_F(EndToEnd, WatchWaitsUntilStoppedAndLeavesUnansweredRequestsPending) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  ok("bob1", "init --user bob --token bob1 --device-name primary" + server_opts_);
  // --yes and --no together: a usage error.
  EXPECT_EQ(hopbox("alice1", "watch --yes --no --seconds 1").exit_code, 2);
  // Without --seconds: it says it waits, and goes on until stopped. Nobody can answer (no
  // terminal), so bob's request is left pending, not refused, and it says so.
  Watcher watch(std::string(HOPBOX_BINARY) + " --state " + (dir_ / "alice1").string() +
                " watch < /dev/null > " + (dir_ / "watch-out.txt").string());
  ASSERT_TRUE(watch.wait_for("waiting")) << watch.seen();
  EXPECT_NE(watch.seen().find("until stopped"), std::string::npos) << watch.seen();
  ok("bob1", "request-access alice");
  ASSERT_TRUE(watch.wait_for("left pending")) << watch.seen();
  EXPECT_NE(watch.seen().find("bob"), std::string::npos) << watch.seen();
  EXPECT_TRUE(watch.stop()) << "watch exited by itself";
  EXPECT_EQ(read(dir_ / "watch-out.txt").find("refused"), std::string::npos);
  // Still there, and answered once someone can.
  const json pending = ok("alice1", "inbox");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]["kind"], "access-request");
  const json again = ok("alice1", "watch --seconds 1 < /dev/null");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0]["pending"], true);
  EXPECT_FALSE(again[0].contains("granted"));
  const json granted = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(granted.size(), 1u);
  EXPECT_EQ(granted[0]["granted"], true);
  EXPECT_EQ(ok("alice1", "inbox").size(), 0u);
}

TEST_F(EndToEnd, ErrorsSayWhatToDoNextAndGrpcLogsStayOffTheTerminal) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  ok("bob1", "init --user bob --token bob1 --device-name primary" + server_opts_);
  ok("alice1", "put " + file("a.txt", "A").string());
  // Not shared with bob (to him, "no admissible chain" reads as no such item): the refusal
  // says how to ask for it.
  EXPECT_EQ(hopbox("bob1", "get a.txt --owner alice -o " + (dir_ / "a").string()).exit_code, 3);
  EXPECT_NE(last_error().find("hopbox request-access alice --item a.txt"), std::string::npos)
      << last_error();
  // Nothing listens there: the address is named, and hopboxd asked about.
  std::string unreachable = server_opts_;
  const std::string port = "127.0.0.1:" + std::to_string(server_->port()) + " ";
  unreachable.replace(unreachable.find(port), port.size(), "127.0.0.1:1 ");
  EXPECT_EQ(hopbox("bob2", "init --user carol --token bob2" + unreachable).exit_code, 5);
  EXPECT_NE(last_error().find("cannot reach the service at 127.0.0.1:1"), std::string::npos)
      << last_error();
  EXPECT_NE(last_error().find("is hopboxd running there"), std::string::npos) << last_error();
  // A service whose TLS certificate the --server-ca does not vouch for: gRPC logs the failed
  // handshake; none of its lines ("E1127 12:00:00.000000 ... ssl_transport_security.cc") show.
  std::string untrusted = server_opts_;
  const std::string ca = (server_->dir() / "tls" / "cert.pem").string();
  untrusted.replace(untrusted.find(ca), ca.size(), "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(hopbox("bob2", "init --user carol --token bob2" + untrusted).exit_code, 5);
  std::istringstream lines(last_error());
  // gRPC's prefix: a severity letter, MMDD, a space, hh:mm:ss.
  const auto is_grpc_log = [](const std::string& line) {
    const std::string shape = "L0000 00:00:00";
    if (line.size() < shape.size() || std::string("DIWE").find(line[0]) == std::string::npos) {
      return false;
    }
    for (std::size_t i = 1; i < shape.size(); ++i) {
      const bool digit = std::isdigit(static_cast<unsigned char>(line[i])) != 0;
      if (shape[i] == '0' ? !digit : line[i] != shape[i]) return false;
    }
    return true;
  };
  for (std::string line; std::getline(lines, line);) EXPECT_FALSE(is_grpc_log(line)) << line;
  EXPECT_NE(last_error().find("hopbox: "), std::string::npos) << last_error();
}

}  // namespace
}  // namespace hopbox
