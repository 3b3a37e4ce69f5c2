#include "hopbox/private_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

namespace hopbox::files {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what, const fs::path& p) {
  throw std::runtime_error("cannot " + what + " " + p.string() + ": " + std::strerror(errno));
}

std::string random_suffix() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string s;
  for (int i = 0; i < 16; ++i) s += kHex[rd() % 16];
  return s;
}

}  // namespace

void make_private_dir(const fs::path& dir) {
  if (dir.has_parent_path() && !dir.parent_path().empty()) {
    fs::create_directories(dir.parent_path());
  }
  // mkdir's mode is narrowed by the umask only, so 0700 can never come out wider.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("create", dir);
  if (!fs::is_directory(dir)) throw std::runtime_error(dir.string() + " is not a folder");
  if (::chmod(dir.c_str(), 0700) != 0) fail("restrict", dir);
}

void write_private_file(const fs::path& path, std::string_view bytes) {
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  fs::path tmp;
  int fd = -1;
  // A name nobody can predict, created exclusively: nothing planted is reused or followed.
  for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
    tmp = path.string() + ".tmp-" + random_suffix();
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) fail("create", tmp);
  }
  if (fd < 0) fail("create", tmp);
  const auto discard = [&](const char* what) {
    const int saved = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = saved;
    fail(what, tmp);
  };
  // The umask can only narrow 0600; fchmod makes the mode exact (e.g. not 0400).
  if (::fchmod(fd, 0600) != 0) discard("restrict");
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) discard("write");
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) discard("sync");
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail("close", tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int saved = errno;
    ::unlink(tmp.c_str());
    errno = saved;
    fail("replace", path);
  }
  // The rename itself must survive a crash too.
  const int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace hopbox::files
