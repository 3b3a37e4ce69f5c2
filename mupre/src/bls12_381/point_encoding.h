// The ZCash point encodings, for G1 and G2 alike: the x coordinate big-endian with three
// flag bits on top (compressed, infinity, sign of y), optionally followed by y.
#pragma once

#include <cstring>
#include <span>

#include "curve.h"

namespace mupre::bls12_381::detail {

inline constexpr std::uint8_t kFlagCompressed = 0x80;
inline constexpr std::uint8_t kFlagInfinity = 0x40;
inline constexpr std::uint8_t kFlagSign = 0x20;

template <class C, class P>
void point_encode(const P& p, std::uint8_t* out, bool compressed) {
  using F = typename C::Field;
  constexpr std::size_t n = kFieldBytes<F>;
  const std::size_t len = compressed ? n : 2 * n;
  std::memset(out, 0, len);
  if (point_is_identity(p)) {
    out[0] = kFlagInfinity | (compressed ? kFlagCompressed : 0);
    return;
  }
  F x, y;
  point_to_affine(p, x, y);
  fe_to_bytes(out, x);
  if (compressed) {
    out[0] |= kFlagCompressed;
    if (fe_lexicographically_largest(y)) out[0] |= kFlagSign;
  } else {
    fe_to_bytes(out + n, y);
  }
}

// Decodes either encoding (told apart by length) and checks flags, canonical coordinates and
// the curve equation; the subgroup test is the caller's.
template <class C, class P>
Status point_decode(std::span<const std::uint8_t> in, P& out) {
  using F = typename C::Field;
  constexpr std::size_t n = kFieldBytes<F>;
  const bool compressed = in.size() == n;
  if (!compressed && in.size() != 2 * n) return Status::kBadLength;
  const std::uint8_t flags = in[0] & 0xe0;
  if (((flags & kFlagCompressed) != 0) != compressed) return Status::kBadFlags;
  if (!compressed && (flags & kFlagSign) != 0) return Status::kBadFlags;
  if ((flags & kFlagInfinity) != 0) {
    if ((flags & kFlagSign) != 0 || (in[0] & 0x1f) != 0) return Status::kBadFlags;
    for (std::size_t i = 1; i < in.size(); ++i) {
      if (in[i] != 0) return Status::kBadFlags;
    }
    out = point_identity<C, P>();
    return Status::kOk;
  }
  std::uint8_t xb[n];
  std::memcpy(xb, in.data(), n);
  xb[0] &= 0x1f;
  F x, y;
  if (!fe_from_bytes(x, xb)) return Status::kNotCanonical;
  if (compressed) {
    const F rhs = fe_sqr(x) * x + C::kB;
    if (!fe_sqrt(y, rhs)) return Status::kNotOnCurve;
    const bool want_largest = (flags & kFlagSign) != 0;
    if ((fe_lexicographically_largest(y) != 0) != want_largest) y = -y;
  } else {
    if (!fe_from_bytes(y, in.data() + n)) return Status::kNotCanonical;
  }
  const P p{x, y, fe_one<F>()};
  if (!point_on_curve<C>(p)) return Status::kNotOnCurve;
  out = p;
  return Status::kOk;
}

}  // namespace mupre::bls12_381::detail
