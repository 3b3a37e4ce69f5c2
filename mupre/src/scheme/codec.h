// Bounds-checked reading and plain writing of the byte formats of docs/formats.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mupre/error.h"
#include "mupre/keys.h"

namespace mupre::detail {

// Format bytes: the first byte of every encoded object.
enum Format : std::uint8_t {
  kFormatPublicKey = 0x01,
  kFormatSecretKey = 0x02,
  kFormatReKey = 0x03,
  kFormatCiphertext = 0x04,
  kFormatWrappedKey = 0x05,
  kFormatShare = 0x06,
  kFormatCommitments = 0x07,
  kFormatMetadata = 0x08,
  kFormatPayload = 0x09,
};

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> in) : in_(in) {}

  std::size_t remaining() const { return in_.size() - pos_; }
  bool at_end() const { return pos_ == in_.size(); }

  // Each returns false, consuming nothing, when too few bytes remain.
  bool take(std::size_t n, std::span<const std::uint8_t>& out) {
    if (remaining() < n) return false;
    out = in_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  bool u8(std::uint8_t& out) {
    if (remaining() < 1) return false;
    out = in_[pos_++];
    return true;
  }
  bool u32(std::uint32_t& out) {
    std::span<const std::uint8_t> b;
    if (!take(4, b)) return false;
    out = (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
          std::uint32_t{b[3]};
    return true;
  }

 private:
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

// Reads the format byte and the scheme id: kMalformed if absent, kUnknownFormat if the
// format is not `expected`, kUnknownScheme for a scheme other than mupre v1.
inline Error read_header(ByteReader& r, Format expected) {
  std::uint8_t format = 0, scheme = 0;
  if (!r.u8(format) || !r.u8(scheme)) return Error::kMalformed;
  if (format != expected) return Error::kUnknownFormat;
  if (scheme != kSchemeMupreV1) return Error::kUnknownScheme;
  return Error::kOk;
}

inline void put_header(std::vector<std::uint8_t>& out, Format f) {
  out.push_back(f);
  out.push_back(kSchemeMupreV1);
}
inline void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline void put_bytes(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> b) {
  out.insert(out.end(), b.begin(), b.end());
}

}  // namespace mupre::detail
