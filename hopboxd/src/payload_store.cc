#include "payload_store.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <set>
#include <system_error>

namespace hopboxd {

namespace fs = std::filesystem;

namespace {

bool is_digest(const std::string& d) {
  if (d.size() != 64) return false;
  for (const char c : d) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void fsync_dir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

bool is_out_of_room(int error) {
  return error == ENOSPC || error == EDQUOT || error == EFBIG;
}

}  // namespace

struct PayloadStore::Writer::Hash {
  crypto_hash_sha256_state st;
};

PayloadStore::PayloadStore(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_ / "objects");
  fs::create_directories(dir_ / "tmp");
  for (const auto& e : fs::directory_iterator(dir_ / "tmp")) fs::remove_all(e.path());
}

PayloadStore::Writer::Writer(const PayloadStore* store, fs::path tmp, int fd)
    : store_(store), tmp_(std::move(tmp)), fd_(fd), hash_(std::make_unique<Hash>()) {
  crypto_hash_sha256_init(&hash_->st);
}

PayloadStore::Writer::Writer(Writer&& o) noexcept
    : store_(o.store_),
      tmp_(std::move(o.tmp_)),
      fd_(o.fd_),
      size_(o.size_),
      hash_(std::move(o.hash_)),
      done_(o.done_) {
  o.fd_ = -1;
  o.done_ = true;
}

PayloadStore::Writer::~Writer() {
  if (fd_ >= 0) ::close(fd_);
  if (!done_) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

bool PayloadStore::Writer::append(std::span<const std::uint8_t> bytes) {
  if (fd_ < 0) return false;
  crypto_hash_sha256_update(&hash_->st, bytes.data(), bytes.size());
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out_of_room_ = n < 0 && is_out_of_room(errno);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  size_ += bytes.size();
  return true;
}

std::optional<std::string> PayloadStore::Writer::finish() {
  if (fd_ < 0) return std::nullopt;
  if (::fsync(fd_) != 0) {
    out_of_room_ = is_out_of_room(errno);
    return std::nullopt;
  }
  ::close(fd_);
  fd_ = -1;
  std::uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&hash_->st, digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (const std::uint8_t b : digest) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  digest_ = hex;
  return hex;
}

bool PayloadStore::Writer::publish() {
  if (digest_.empty() || done_) return false;
  const fs::path target = store_->object_path(digest_);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  fs::rename(tmp_, target, ec);
  if (ec) return false;
  fsync_dir(target.parent_path());
  done_ = true;
  return true;
}

std::optional<PayloadStore::Writer> PayloadStore::begin() const {
  std::uint8_t rnd[16];
  randombytes_buf(rnd, sizeof rnd);
  std::string name = "upload-";
  static constexpr char kHex[] = "0123456789abcdef";
  for (const std::uint8_t b : rnd) {
    name += kHex[b >> 4];
    name += kHex[b & 15];
  }
  const fs::path tmp = dir_ / "tmp" / name;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::nullopt;
  return Writer(this, tmp, fd);
}

fs::path PayloadStore::object_path(const std::string& digest) const {
  return dir_ / "objects" / digest.substr(0, 2) / digest;
}

std::optional<fs::path> PayloadStore::path_of(const std::string& digest) const {
  if (!is_digest(digest)) return std::nullopt;
  const fs::path p = object_path(digest);
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::nullopt;
  return p;
}

void PayloadStore::remove(const std::string& digest) const {
  if (!is_digest(digest)) return;
  std::error_code ec;
  fs::remove(object_path(digest), ec);
}

void PayloadStore::collect_garbage(const std::vector<std::string>& live) const {
  const std::set<std::string> keep(live.begin(), live.end());
  std::error_code ec;
  for (const auto& sub : fs::directory_iterator(dir_ / "objects", ec)) {
    for (const auto& f : fs::directory_iterator(sub.path(), ec)) {
      if (keep.count(f.path().filename().string()) == 0) fs::remove(f.path(), ec);
    }
  }
}

}  // namespace hopboxd
