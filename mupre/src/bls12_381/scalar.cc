// Scalars mod r: the public Scalar is a canonical integer; arithmetic runs in Montgomery form.
#include <sodium.h>

#include "fr.h"
#include "groups.h"

namespace mupre::bls12_381 {

using namespace detail;

namespace {

Fr fr_add(const Fr& a, const Fr& b) {
  Fr r;
  mod_add<4, kFrParams>(r.limb, a.limb, b.limb);
  return r;
}
Fr fr_mul(const Fr& a, const Fr& b) {
  Fr r;
  mont_mul<4, kFrParams>(r.limb, a.limb, b.limb);
  return r;
}

}  // namespace

const char* status_message(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kBadLength:
      return "wrong length";
    case Status::kBadFlags:
      return "inconsistent flag bits";
    case Status::kNotCanonical:
      return "value not reduced modulo the field or group order";
    case Status::kNotOnCurve:
      return "not a point on the curve";
    case Status::kNotInSubgroup:
      return "not in the prime-order subgroup";
  }
  return "unknown status";
}

Scalar scalar_zero() {
  return Scalar{};
}
Scalar scalar_from_u64(std::uint64_t v) {
  return Scalar{{v, 0, 0, 0}};
}

Status scalar_from_bytes(std::span<const std::uint8_t> in, Scalar& out) {
  if (in.size() != kScalarSize) return Status::kBadLength;
  Scalar s;
  limbs_from_be(s.limb, in.data());
  if (!less_than(s.limb, kFrModulus)) return Status::kNotCanonical;
  out = s;
  return Status::kOk;
}

Scalar scalar_from_bytes_reduce(std::span<const std::uint8_t> in) {
  // Horner over 8-byte words: acc = acc * 2^64 + word, all mod r in Montgomery form.
  constexpr u64 k2to64[4] = {0, 1, 0, 0};
  Fr shift;
  mont_mul<4, kFrParams>(shift.limb, k2to64, kFrParams.r2);
  Fr acc{};
  std::size_t pos = 0;
  const std::size_t first = in.size() % 8 == 0 ? 8 : in.size() % 8;
  while (pos < in.size()) {
    const std::size_t take = pos == 0 ? first : 8;
    u64 w = 0;
    for (std::size_t j = 0; j < take; ++j) w = (w << 8) | in[pos + j];
    pos += take;
    Scalar ws{{w, 0, 0, 0}};
    // w < 2^64 < r, so it is canonical.
    acc = fr_add(fr_mul(acc, shift), fr_from_scalar(ws));
  }
  return fr_to_scalar(acc);
}

void scalar_to_bytes(const Scalar& s, std::uint8_t out[kScalarSize]) {
  limbs_to_be(out, s.limb);
}

Scalar scalar_random_nonzero() {
  if (sodium_init() < 0) __builtin_trap();  // no usable randomness: never continue
  for (;;) {
    std::uint8_t buf[64];
    randombytes_buf(buf, sizeof(buf));
    const Scalar s = scalar_from_bytes_reduce(buf);
    sodium_memzero(buf, sizeof(buf));
    if (!scalar_is_zero(s)) return s;
  }
}

Scalar scalar_add(const Scalar& a, const Scalar& b) {
  Scalar r;
  mod_add<4, kFrParams>(r.limb, a.limb, b.limb);
  return r;
}
Scalar scalar_sub(const Scalar& a, const Scalar& b) {
  Scalar r;
  mod_sub<4, kFrParams>(r.limb, a.limb, b.limb);
  return r;
}
Scalar scalar_neg(const Scalar& a) {
  Scalar r;
  mod_neg<4, kFrParams>(r.limb, a.limb);
  return r;
}
Scalar scalar_mul(const Scalar& a, const Scalar& b) {
  return fr_to_scalar(fr_mul(fr_from_scalar(a), fr_from_scalar(b)));
}

Scalar scalar_inverse(const Scalar& a) {
  // Fermat: a^(r-2), square-and-multiply over the public exponent.
  u64 e[4] = {kFrModulus[0] - 2, kFrModulus[1], kFrModulus[2], kFrModulus[3]};
  Fr base = fr_from_scalar(a);
  Fr r;
  mont_pow_public<4, 4, kFrParams>(r.limb, base.limb, e);
  return fr_to_scalar(r);
}

bool scalar_equal(const Scalar& a, const Scalar& b) {
  return equal(a.limb, b.limb) != 0;
}
bool scalar_is_zero(const Scalar& a) {
  return is_zero(a.limb) != 0;
}

}  // namespace mupre::bls12_381
