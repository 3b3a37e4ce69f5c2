// Issue 13, end to end with real processes: what a user does by mistake leaves no decrypted
// bytes behind (an interrupted or failed `get`) and makes no share they did not mean (one that
// never expires, to themselves, of a missing item).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "e2e_fixture.h"

namespace hopbox {
namespace {

// Every *.hopbox-partial file under `dir`.
std::vector<fs::path> partial_files(const fs::path& dir) {
  std::vector<fs::path> found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.path().string().ends_with(".hopbox-partial")) found.push_back(e.path());
  }
  return found;
}

TEST_F(EndToEnd, GetWritesIntoAFolderOrToStandardOutputAndLeavesNoPartialFile) {
  make_user("alice");
  std::string content(200000, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>(i * 13 + 1);
  ok("alice1", "put " + file("r.bin", content).string());
  // -o naming a folder: the file goes inside it, under the item's name.
  fs::create_directory(dir_ / "downloads");
  const json got = ok("alice2", "get r.bin -o " + (dir_ / "downloads").string());
  EXPECT_EQ(got["file"], (dir_ / "downloads" / "r.bin").string());
  EXPECT_EQ(read(dir_ / "downloads" / "r.bin"), content);
  // A folder that does not exist, named as one, is a usage error.
  EXPECT_EQ(hopbox("alice2", "get r.bin -o " + (dir_ / "nowhere").string() + "/").exit_code, 2);
  EXPECT_FALSE(fs::exists(dir_ / "nowhere"));
  // -o -: the item's bytes, alone, on standard output; the report on standard error.
  const CliRun out = hopbox("alice2", "get r.bin -o -");
  EXPECT_EQ(out.exit_code, 0) << last_error();
  EXPECT_EQ(out.out, content);
  EXPECT_NE(last_error().find("\"reencryptions\":1"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(fs::current_path() / "-"));
  EXPECT_TRUE(partial_files(dir_).empty());
}

// Runs `hopbox get` for alice's primary in a child process; interrupts it with `sig` while the
// partial file exists. Returns the exit status, or -1 if the download finished first.
class InterruptedGet : public EndToEnd {
 protected:
  int interrupt_get(const fs::path& target, int sig) {
    const fs::path partial = target.string() + ".hopbox-partial";
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      std::vector<std::string> args = {HOPBOX_BINARY,  "--state", (dir_ / "alice1").string(),
                                       "get",          "big.bin", "-o",
                                       target.string()};
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(HOPBOX_BINARY, argv.data());
      _exit(127);
    }
    // The download is under way once the partial file exists; stopped there, it stays so.
    bool stopped = false;
    for (int i = 0; i < 20000 && !stopped; ++i) {
      if (fs::exists(partial)) {
        kill(pid, SIGSTOP);
        int status = 0;
        waitpid(pid, &status, WUNTRACED);
        stopped = fs::exists(partial);
        if (!stopped) kill(pid, SIGCONT);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (stopped) kill(pid, sig);  // delivered as soon as it runs again
    kill(pid, SIGCONT);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!stopped) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status) + 1000;
  }
};

TEST_F(InterruptedGet, CtrlCOrSigtermRemovesThePartialFileAndExits130Or143) {
  ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
  std::string big(48 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i >> 12);
  ok("alice1", "put " + file("big.bin", big).string());
  for (const auto& [sig, code] : {std::pair{SIGINT, 130}, std::pair{SIGTERM, 143}}) {
    const fs::path target = dir_ / ("got-" + std::to_string(sig) + ".bin");
    int status = -1;
    // Should the download win the race to the stop, it is simply run again.
    for (int attempt = 0; attempt < 5 && status == -1; ++attempt) {
      fs::remove(target);
      status = interrupt_get(target, sig);
    }
    ASSERT_NE(status, -1) << "never caught the download under way";
    EXPECT_EQ(status, code) << "signal " << sig << " (above 1000: killed by the signal)";
    EXPECT_FALSE(fs::exists(target));
    EXPECT_TRUE(partial_files(dir_).empty()) << "decrypted bytes left behind";
  }
  // Nothing else changed: the item still downloads.
  ok("alice1", "get big.bin -o " + (dir_ / "whole.bin").string());
  EXPECT_EQ(fs::file_size(dir_ / "whole.bin"), big.size());
}

TEST_F(EndToEnd, SharesThatNeverExpireWithYourselfOrOfMissingItemsAreRefusedWithAReason) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("plan.txt", "the plan").string());
  const auto shares_made = [&] {
    int n = 0;
    for (const auto& s : ok("alice1", "shares")) n += s["kind"] == "REKEY_KIND_SHARE" ? 1 : 0;
    return n;
  };
  // 0 or a negative lifetime would be a share that never expires.
  for (const std::string bad : {"0", "-5", "-1"}) {
    EXPECT_EQ(hopbox("alice1", "share bob --expires-in=" + bad).exit_code, 2) << bad;
    EXPECT_NE(last_error().find("--expires-in " + bad), std::string::npos) << last_error();
  }
  // Oneself: not from the primary, not from the secondary, not asking for access.
  EXPECT_EQ(hopbox("alice1", "share alice").exit_code, 2);
  EXPECT_NE(last_error().find("yourself"), std::string::npos) << last_error();
  EXPECT_EQ(hopbox("alice2", "share alice --item plan.txt").exit_code, 2);
  EXPECT_EQ(hopbox("alice2", "request-access alice").exit_code, 2);
  EXPECT_NE(last_error().find("yourself"), std::string::npos) << last_error();
  // An item that does not exist (a typo).
  EXPECT_EQ(hopbox("alice1", "share bob --item plna.txt").exit_code, 3);
  EXPECT_NE(last_error().find("no item plna.txt"), std::string::npos) << last_error();
  EXPECT_EQ(shares_made(), 0);
  EXPECT_EQ(hopbox("bob1", "get plan.txt --owner alice -o " + (dir_ / "p").string()).exit_code, 3);
  // What was meant works.
  ok("alice1", "share bob --item plan.txt --expires-in 3600");
  EXPECT_EQ(shares_made(), 1);
  ok("bob1", "get plan.txt --owner alice -o " + (dir_ / "p").string());
  EXPECT_EQ(read(dir_ / "p"), "the plan");
}

}  // namespace
}  // namespace hopbox
