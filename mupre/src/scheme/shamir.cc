// Shamir t-of-n sharing over the scalar field with Feldman commitments.
#include "mupre/shamir.h"

#include <sodium.h>

#include <string_view>

#include "codec.h"
#include "hkdf.h"

namespace mupre {

using namespace bls12_381;
using detail::ByteReader;

struct ShamirAccess {
  static std::vector<G1>& points(Commitments& c) { return c.points_; }
  static const std::vector<G1>& points(const Commitments& c) { return c.points_; }
};

Share::~Share() {
  sodium_memzero(&value_, sizeof value_);
}

Result<Share> Share::decode(std::span<const std::uint8_t> in) {
  ByteReader r(in);
  if (const Error e = detail::read_header(r, detail::kFormatShare); e != Error::kOk) return e;
  std::uint8_t index = 0;
  std::span<const std::uint8_t> value;
  if (!r.u8(index) || index == 0 || !r.take(kScalarSize, value) || !r.at_end()) {
    return Error::kMalformed;
  }
  Scalar s;
  if (scalar_from_bytes(value, s) != Status::kOk) return Error::kMalformed;
  Share share(index, s);
  sodium_memzero(&s, sizeof s);
  return share;
}

void Share::encode(std::span<std::uint8_t, kShareSize> out) const {
  out[0] = detail::kFormatShare;
  out[1] = kSchemeMupreV1;
  out[2] = index_;
  scalar_to_bytes(value_, out.data() + 3);
}

Result<Commitments> Commitments::decode(std::span<const std::uint8_t> in) {
  ByteReader r(in);
  if (const Error e = detail::read_header(r, detail::kFormatCommitments); e != Error::kOk) {
    return e;
  }
  std::uint8_t t = 0;
  if (!r.u8(t) || t == 0 || r.remaining() != std::size_t{t} * kG1CompressedSize) {
    return Error::kMalformed;
  }
  Commitments c;
  c.points_.resize(t);
  for (G1& p : c.points_) {
    std::span<const std::uint8_t> bytes;
    (void)r.take(kG1CompressedSize, bytes);
    if (g1_decode(bytes, p) != Status::kOk) return Error::kBadElement;
  }
  return c;
}

std::vector<std::uint8_t> Commitments::encode() const {
  std::vector<std::uint8_t> out;
  detail::put_header(out, detail::kFormatCommitments);
  out.push_back(static_cast<std::uint8_t>(points_.size()));
  for (const G1& p : points_) {
    const std::size_t at = out.size();
    out.resize(at + kG1CompressedSize);
    g1_compress(p, out.data() + at);
  }
  return out;
}

Result<Sharing> split(const Scalar& secret, unsigned threshold, unsigned count) {
  if (threshold < 1 || threshold > count || count > kMaxShares) return Error::kInvalidArgument;
  detail::ensure_sodium();
  std::vector<Scalar> coeff(threshold);
  coeff[0] = secret;
  for (unsigned k = 1; k < threshold; ++k) coeff[k] = scalar_random_nonzero();

  Sharing out;
  auto& points = ShamirAccess::points(out.commitments);
  for (const Scalar& a : coeff) points.push_back(g1_mul_base(a));
  out.shares.reserve(count);
  for (unsigned i = 1; i <= count; ++i) {
    // Horner: f(i) = a_0 + i (a_1 + i (a_2 + ...)).
    const Scalar x = scalar_from_u64(i);
    Scalar y = coeff[threshold - 1];
    for (unsigned k = threshold - 1; k-- > 0;) y = scalar_add(scalar_mul(y, x), coeff[k]);
    out.shares.emplace_back(static_cast<std::uint8_t>(i), y);
    sodium_memzero(&y, sizeof y);
  }
  sodium_memzero(coeff.data(), coeff.size() * sizeof(Scalar));
  return out;
}

bool verify_share(const Share& share, const Commitments& commitments) {
  const auto& points = ShamirAccess::points(commitments);
  if (share.index() == 0 || points.empty()) return false;
  // sum_k C_k * i^k, with public powers of the index.
  std::vector<Scalar> powers(points.size());
  const Scalar x = scalar_from_u64(share.index());
  powers[0] = scalar_from_u64(1);
  for (std::size_t k = 1; k < powers.size(); ++k) powers[k] = scalar_mul(powers[k - 1], x);
  const G1 expected = g1_msm_vartime(points, powers);
  return g1_equal(g1_mul_base(share.value()), expected);
}

Result<Scalar> interpolate(std::span<const Share> shares) {
  if (shares.empty()) return Error::kNotEnoughShares;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (shares[i].index() == 0) return Error::kInvalidArgument;
    for (std::size_t j = 0; j < i; ++j) {
      if (shares[i].index() == shares[j].index()) return Error::kInvalidArgument;
    }
  }
  // f(0) = sum_i y_i * prod_{j != i} x_j / (x_j - x_i).
  Scalar secret = scalar_zero();
  for (std::size_t i = 0; i < shares.size(); ++i) {
    const Scalar xi = scalar_from_u64(shares[i].index());
    Scalar num = scalar_from_u64(1), den = scalar_from_u64(1);
    for (std::size_t j = 0; j < shares.size(); ++j) {
      if (j == i) continue;
      const Scalar xj = scalar_from_u64(shares[j].index());
      num = scalar_mul(num, xj);
      den = scalar_mul(den, scalar_sub(xj, xi));
    }
    Scalar term = scalar_mul(shares[i].value(), scalar_mul(num, scalar_inverse(den)));
    secret = scalar_add(secret, term);
    sodium_memzero(&term, sizeof term);
  }
  return secret;
}

Result<Scalar> combine(std::span<const Share> shares, const Commitments& commitments,
                       std::uint8_t* bad_index) {
  std::vector<Share> distinct;
  for (const Share& s : shares) {
    if (!verify_share(s, commitments)) {
      if (bad_index != nullptr) *bad_index = s.index();
      return Error::kBadShare;
    }
    bool seen = false;
    for (const Share& d : distinct) seen = seen || d.index() == s.index();
    if (!seen && distinct.size() < commitments.threshold()) distinct.push_back(s);
  }
  if (distinct.size() < commitments.threshold()) return Error::kNotEnoughShares;
  return interpolate(distinct);
}

std::array<std::uint8_t, 32> key_from_scalar(const Scalar& s, std::span<const std::uint8_t> info) {
  static constexpr std::string_view kSalt = "hopbox v1 shared scalar";
  std::array<std::uint8_t, kScalarSize> ikm;
  scalar_to_bytes(s, ikm.data());
  std::array<std::uint8_t, 32> out;
  detail::hkdf_sha256(out, ikm, {reinterpret_cast<const std::uint8_t*>(kSalt.data()), kSalt.size()},
                      info);
  sodium_memzero(ikm.data(), ikm.size());
  return out;
}

}  // namespace mupre
