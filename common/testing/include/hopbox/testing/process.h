// A real server process for tests: started with fork/exec, its log in a file, ready once it
// wrote its port file; stopped with a signal (SIGTERM: graceful, SIGKILL: a crash).
#pragma once

#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hopbox::testing {

inline std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs a shell command; its exit code and standard output.
inline std::pair<int, std::string> run_capture(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::string out;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { stop(SIGKILL); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs `binary` with `args` (argv[1..]), output appended to `log`, and waits up to ten
  // seconds for `port_file` to appear; returns the port it holds. Throws, with the log, when the
  // process exits first.
  int start(const std::string& binary, const std::vector<std::string>& args,
            const std::filesystem::path& log, const std::filesystem::path& port_file) {
    const int code = start_or_exit(binary, args, log, port_file);
    if (code != kServing) {
      throw std::runtime_error(binary + " did not start (exit " + std::to_string(code) +
                               "): " + read_all(log));
    }
    if (!std::filesystem::exists(port_file)) {
      throw std::runtime_error(binary + " did not start; see " + log.string());
    }
    return std::stoi(read_all(port_file));
  }

  static constexpr int kServing = -1000;
  // For a server that should refuse to start: its exit status (or -signal), or kServing once
  // it wrote `port_file` (it runs; stop() ends it). With no port file, kServing after ten
  // seconds without an exit.
  int start_or_exit(const std::string& binary, const std::vector<std::string>& args,
                    const std::filesystem::path& log, const std::filesystem::path& port_file) {
    if (!port_file.empty()) std::filesystem::remove(port_file);
    // Unflushed output would be copied into the child and written twice.
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ == 0) {
      // First: a change of user clears the parent-death signal.
      if (run_as_uid_ >= 0 && getuid() == 0 &&
          (setgroups(0, nullptr) != 0 || setgid(static_cast<gid_t>(run_as_gid_)) != 0 ||
           setuid(static_cast<uid_t>(run_as_uid_)) != 0)) {
        _exit(123);
      }
      // A test killed (Ctrl-C, ctest's timeout) takes its servers with it.
      if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) _exit(125);
      if (file_size_limit_ > 0) {
        const rlimit limit{file_size_limit_, file_size_limit_};
        if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(124);
      }
      if (std::freopen(log.c_str(), "a", stdout) == nullptr ||
          std::freopen(log.c_str(), "a", stderr) == nullptr) {
        _exit(126);
      }
      std::vector<std::string> all = {binary};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      if (!port_file.empty() && std::filesystem::exists(port_file)) return kServing;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return kServing;
  }
  // Returns the exit status (or -signal).
  int stop(int sig) {
    if (pid_ <= 0) return 0;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }
  bool running() const { return pid_ > 0 && kill(pid_, 0) == 0; }
  // Processes started from now on may write files of at most `bytes` (0: no limit), as a
  // nearly full disk would allow.
  void limit_file_size(rlim_t bytes) { file_size_limit_ = bytes; }
  // Processes started from now on run as this user and group (no supplementary groups) when the
  // test runs as root, to which file permissions do not apply: a file the user cannot write is
  // then one the process cannot write. -1: as the test.
  void run_as(int uid, int gid) {
    run_as_uid_ = uid;
    run_as_gid_ = gid;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  rlim_t file_size_limit_ = 0;
  int run_as_uid_ = -1;
  int run_as_gid_ = -1;
};

}  // namespace hopbox::testing
