#include "download_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "client.h"

namespace hopbox {

namespace fs = std::filesystem;

namespace {

// The partial file the signal handler removes: a fixed buffer, published by the flag, so that
// the handler only reads memory and calls unlink and _exit (both async-signal-safe).
char g_partial[4096];
volatile std::sig_atomic_t g_have_partial = 0;

void on_stop_signal(int sig) {
  if (g_have_partial != 0) unlink(g_partial);
  _exit(128 + sig);
}

void publish(const fs::path& p) {
  g_have_partial = 0;
  const std::string s = p.string();
  if (s.size() >= sizeof g_partial) return;  // not removable on a signal; never in practice
  std::memcpy(g_partial, s.c_str(), s.size() + 1);
  g_have_partial = 1;
}

std::string why(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

fs::path download_target(const fs::path& out, const std::string& name) {
  if (out.empty()) return name;
  if (out == "-") return out;
  std::error_code ec;
  if (fs::is_directory(out, ec)) return out / name;
  // "photos/" names a folder: one that is missing is an error, not a file called "photos".
  if (out.string().back() == '/') {
    throw ClientError("-o " + out.string() + ": no such folder", 2);
  }
  return out;
}

DownloadSink::DownloadSink(fs::path target) : target_(std::move(target)) {
  if (target_ == "-") {
    to_stdout_ = true;
    fd_ = STDOUT_FILENO;
    return;
  }
  partial_ = target_.string() + ".hopbox-partial";
  // A partial file left by a crash (SIGKILL, power loss) is replaced; a link is never followed.
  if (unlink(partial_.c_str()) != 0 && errno != ENOENT) {
    throw ClientError(why("cannot replace " + partial_.string()));
  }
  publish(partial_);
  fd_ = open(partial_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd_ < 0) {
    g_have_partial = 0;
    throw ClientError(why("cannot write " + partial_.string()));
  }
}

DownloadSink::~DownloadSink() {
  discard();
}

void DownloadSink::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd_, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw ClientError(why(to_stdout_ ? std::string("cannot write to standard output")
                                       : "cannot write " + partial_.string()));
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
}

void DownloadSink::commit() {
  if (to_stdout_) {
    fd_ = -1;
    return;
  }
  const int fd = fd_;
  fd_ = -1;
  if (close(fd) != 0) {
    const std::string msg = why("cannot write " + partial_.string());
    unlink(partial_.c_str());
    g_have_partial = 0;
    throw ClientError(msg);
  }
  std::error_code ec;
  fs::rename(partial_, target_, ec);
  if (ec) {
    unlink(partial_.c_str());
    g_have_partial = 0;
    throw ClientError("cannot write " + target_.string() + ": " + ec.message());
  }
  g_have_partial = 0;
  partial_.clear();
}

void DownloadSink::discard() {
  if (to_stdout_ || partial_.empty()) return;
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  unlink(partial_.c_str());
  g_have_partial = 0;
  partial_.clear();
}

void remove_partial_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace hopbox
