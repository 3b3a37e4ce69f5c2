// Hexadecimal text for keys, fingerprints and test data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mupre {

inline std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(2 * bytes.size());
  for (const std::uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

// Accepts an optional "0x" prefix and either case; an odd length is read as if it had a
// leading zero. Returns nothing for any other character.
inline std::optional<std::vector<std::uint8_t>> from_hex(std::string_view s) {
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<std::uint8_t> out((s.size() + 1) / 2);
  std::size_t pos = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = 0;
    if (i == 0 && s.size() % 2 == 1) {
      hi = 0;
    } else {
      hi = digit(s[pos++]);
    }
    const int lo = digit(s[pos++]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return out;
}

}  // namespace mupre
