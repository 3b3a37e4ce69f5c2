#include "access.h"

#include <sodium.h>

#include <algorithm>
#include <span>
#include <stdexcept>
#include <vector>

namespace hopbox::access {

namespace {

using Bytes = std::vector<std::uint8_t>;

// "hopbox v1 access request" 0x00 requester 0x00 owner; user names hold no NUL (the service
// refuses control characters), so no two pairs give the same bytes.
Bytes associated_data(const std::string& requester, const std::string& owner) {
  const std::string s = std::string("hopbox v1 access request") + '\0' + requester + '\0' + owner;
  return Bytes(s.begin(), s.end());
}

}  // namespace

std::string seal(const mupre::PublicKey& owner_primary, const std::string& requester,
                 const std::string& owner, const names::Path& path) {
  const std::string joined = names::join(path.folder, path.name);
  if (joined.size() + 2 > kPaddedPath) throw std::invalid_argument("access request: path too long");
  Bytes plain(kPaddedPath, 0);
  plain[0] = static_cast<std::uint8_t>(joined.size() >> 8);
  plain[1] = static_cast<std::uint8_t>(joined.size());
  std::copy(joined.begin(), joined.end(), plain.begin() + 2);
  const mupre::Encapsulation e = mupre::encapsulate(owner_primary);
  const auto capsule = e.capsule.encode();
  const Bytes sealed = threshold::seal(e.key.bytes(), associated_data(requester, owner), plain);
  sodium_memzero(plain.data(), plain.size());
  std::string out(1, static_cast<char>(kFormat));
  out.append(capsule.begin(), capsule.end());
  out.append(sealed.begin(), sealed.end());
  return out;
}

mupre::Result<names::Path> open(const mupre::SecretKeySource& key, const std::string& requester,
                                const std::string& owner, const std::string& sealed) {
  if (sealed.size() != kSealedSize || static_cast<std::uint8_t>(sealed[0]) != kFormat) {
    return mupre::Error::kMalformed;
  }
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(sealed.data());
  constexpr std::size_t capsule_size = mupre::ciphertext_size(1);
  auto capsule = mupre::Ciphertext::decode(std::span(bytes + 1, capsule_size));
  if (!capsule) return capsule.error();
  auto k = mupre::decapsulate(key, *capsule);
  if (!k) return k.error();
  // A capsule altered in transit gives a wrong key: the AEAD below catches it.
  auto plain =
      threshold::open(k->bytes(), associated_data(requester, owner),
                      std::span(bytes + 1 + capsule_size, sealed.size() - 1 - capsule_size));
  if (!plain || plain->size() != kPaddedPath) return mupre::Error::kInvalidCiphertext;
  const std::size_t n = (std::size_t{(*plain)[0]} << 8) | (*plain)[1];
  if (n == 0 || n + 2 > plain->size() ||
      std::any_of(plain->begin() + 2 + static_cast<std::ptrdiff_t>(n), plain->end(),
                  [](std::uint8_t b) { return b != 0; })) {
    return mupre::Error::kMalformed;
  }
  const std::string path(plain->begin() + 2, plain->begin() + 2 + static_cast<std::ptrdiff_t>(n));
  // The same rules as a typed path, in the form the requester's client writes.
  const std::size_t slash = path.rfind('/');
  names::Path p{slash == std::string::npos ? "" : path.substr(0, slash),
                slash == std::string::npos ? path : path.substr(slash + 1)};
  if (!names::valid_name(p.name) || names::normalize_folder(p.folder) != p.folder) {
    return mupre::Error::kMalformed;
  }
  return p;
}

}  // namespace hopbox::access
