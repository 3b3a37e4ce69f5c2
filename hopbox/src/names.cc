#include "names.h"

#include <sodium.h>

#include "mupre/hex.h"

namespace hopbox::names {

namespace {

constexpr char kItemLabel[] = "hopbox v1 item id";
constexpr char kFolderLabel[] = "hopbox v1 folder id";
constexpr char kSealLabel[] = "hopbox v1 sealed name";
constexpr std::uint8_t kSealFormat = 0x01;
constexpr std::size_t kIdHex = 32;

// hex of HMAC-SHA256(k, label || NUL || text), truncated to 128 bits.
std::string mac_hex(const NameKey& k, const char* label, std::size_t label_size,
                    const std::string& text) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, k.bytes().data(), k.bytes().size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(label), label_size);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(text.data()),
                                text.size());
  Bytes mac(crypto_auth_hmacsha256_BYTES);
  crypto_auth_hmacsha256_final(&st, mac.data());
  sodium_memzero(&st, sizeof st);
  return mupre::to_hex(mac).substr(0, kIdHex);
}

bool valid_utf8(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated
    for (std::size_t j = 1; j <= n; ++j) {
      const auto d = static_cast<unsigned char>(s[i + j]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates and values past Unicode are not UTF-8.
    const std::uint32_t min[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace

NameKey::NameKey(std::span<const std::uint8_t> bytes) {
  if (bytes.size() == k_.size()) std::copy(bytes.begin(), bytes.end(), k_.begin());
}
NameKey::~NameKey() {
  sodium_memzero(k_.data(), k_.size());
}
NameKey NameKey::generate() {
  NameKey k;
  randombytes_buf(k.k_.data(), k.k_.size());
  return k;
}

// C0 controls, DEL and C1 controls (U+0080..U+009F, UTF-8 C2 80..C2 9F): a name from a
// sharer is printed on the victim's terminal, where they would move the cursor or fake lines.
static bool has_control(const std::string& s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
        static_cast<unsigned char>(s[i + 1]) <= 0x9f) {
      return true;
    }
  }
  return false;
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > kMaxComponent || s == "." || s == "..") return false;
  if (s.find('/') != std::string::npos || has_control(s)) return false;
  return valid_utf8(s);
}

std::optional<std::string> normalize_folder(const std::string& s) {
  std::string out;
  std::size_t at = 0;
  while (at <= s.size()) {
    const std::size_t end = std::min(s.find('/', at), s.size());
    const std::string part = s.substr(at, end - at);
    if (!part.empty()) {
      if (!valid_name(part)) return std::nullopt;
      out += (out.empty() ? "" : "/") + part;
    }
    at = end + 1;
  }
  if (out.size() > kMaxFolder) return std::nullopt;
  return out;
}

std::string join(const std::string& folder, const std::string& name) {
  return folder.empty() ? name : folder + "/" + name;
}

std::string item_id(const NameKey& k, const std::string& folder, const std::string& name) {
  return mac_hex(k, kItemLabel, sizeof kItemLabel, folder + "/" + name);
}

std::string folder_label(const NameKey& k, const std::string& folder) {
  if (folder.empty()) return "";
  return mac_hex(k, kFolderLabel, sizeof kFolderLabel, folder);
}

namespace {
std::string associated(const std::string& owner, const std::string& item_id) {
  std::string ad(kSealLabel, sizeof kSealLabel);  // with its NUL
  ad += owner;
  ad.push_back('\0');
  ad += item_id;
  return ad;
}
}  // namespace

std::string seal(const NameKey& k, const std::string& owner, const std::string& item_id,
                 const Path& path) {
  // The folder, a NUL, the name: neither may hold a NUL.
  std::string plain = path.folder;
  plain.push_back('\0');
  plain += path.name;
  const std::string ad = associated(owner, item_id);
  std::string out(1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() +
                      crypto_aead_xchacha20poly1305_ietf_ABYTES,
                  '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kSealFormat;
  randombytes_buf(o + 1, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      o + 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &len,
      reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, o + 1,
      k.bytes().data());
  sodium_memzero(plain.data(), plain.size());
  return out;
}

std::optional<Path> open(const NameKey& k, const std::string& owner, const std::string& item_id,
                         const std::string& sealed) {
  constexpr std::size_t head = 1 + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  if (sealed.size() < head + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
      static_cast<std::uint8_t>(sealed[0]) != kSealFormat) {
    return std::nullopt;
  }
  const std::string ad = associated(owner, item_id);
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string plain(sealed.size() - head - crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()),
                                                 &len, nullptr, s + head, sealed.size() - head,
                                                 reinterpret_cast<const unsigned char*>(ad.data()),
                                                 ad.size(), s + 1, k.bytes().data()) != 0) {
    return std::nullopt;
  }
  const std::size_t nul = plain.find('\0');
  if (nul == std::string::npos) return std::nullopt;
  Path p{plain.substr(0, nul), plain.substr(nul + 1)};
  const auto folder = normalize_folder(p.folder);
  if (!folder || *folder != p.folder || !valid_name(p.name)) return std::nullopt;
  // The path must be the one the id was made from.
  if (names::item_id(k, p.folder, p.name) != item_id) return std::nullopt;
  return p;
}

}  // namespace hopbox::names
