#include "pairing_code.h"

#include "mupre/hex.h"

namespace hopbox::pairing {

namespace {
constexpr char kPrefix[] = "HBP1-";
constexpr std::size_t kPrefixSize = sizeof kPrefix - 1;
}  // namespace

std::string encode(const std::vector<std::uint8_t>& spki,
                   const std::array<std::uint8_t, mupre::kPublicKeySize>& public_key) {
  std::vector<std::uint8_t> b;
  b.push_back(static_cast<std::uint8_t>(spki.size()));
  b.insert(b.end(), spki.begin(), spki.end());
  b.insert(b.end(), public_key.begin(), public_key.end());
  return kPrefix + mupre::to_hex(b);
}

bool has_prefix(const std::string& code) {
  return code.rfind(kPrefix, 0) == 0;
}

std::optional<Keys> decode(const std::string& code) {
  if (!has_prefix(code)) return std::nullopt;
  auto b = mupre::from_hex(std::string_view(code).substr(kPrefixSize));
  if (!b || b->empty() || b->size() != 1 + (*b)[0] + mupre::kPublicKeySize) return std::nullopt;
  const auto n = static_cast<std::ptrdiff_t>((*b)[0]);
  return Keys{std::vector<std::uint8_t>(b->begin() + 1, b->begin() + 1 + n),
              std::vector<std::uint8_t>(b->begin() + 1 + n, b->end())};
}

}  // namespace hopbox::pairing
