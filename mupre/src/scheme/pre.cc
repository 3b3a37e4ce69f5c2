// mupre v1: Enc, RKGen, ReEnc and Dec, and the encodings of capsules and re-encryption keys.
#include "mupre/pre.h"

#include <sodium.h>

#include <array>

#include "codec.h"
#include "declassify.h"
#include "hkdf.h"
#include "scheme_access.h"
#include "secret_access.h"

namespace mupre {

using namespace bls12_381;
using detail::ByteReader;

namespace detail {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// K = HKDF(ikm = enc(M), salt = enc(C1), info).
void derive_capsule_key(const GT& m, const G1& c1, CapsuleKey& out) {
  std::array<std::uint8_t, kGtSize> ikm;
  std::array<std::uint8_t, kG1CompressedSize> salt;
  gt_to_bytes(m, ikm.data());
  g1_compress(c1, salt.data());
  hkdf_sha256(out.mutable_bytes(), ikm, salt, as_bytes(kCapsuleKdfInfo));
  sodium_memzero(ikm.data(), ikm.size());
}

}  // namespace

G2 h2(const GT& x) {
  std::array<std::uint8_t, kGtSize> bytes;
  gt_to_bytes(x, bytes.data());
  const G2 h = hash_to_g2(bytes, as_bytes(kH2Dst));
  sodium_memzero(bytes.data(), bytes.size());
  return h;
}

Encapsulation SchemeAccess::encapsulate_with(const PublicKey& to, const Scalar& m,
                                             const Scalar& r) {
  GT mm = gt_pow_base(m);
  const G1 c1 = g1_mul_base(r);
  const GT c2 = gt_mul(mm, gt_pow(to.pairing_with_g2(), r));
  declassify(c1);  // the capsule is public; m and r stay secret
  declassify(c2);
  Ciphertext capsule;
  capsule.holder_ = to.fingerprint();
  capsule.blocks_.push_back(Ciphertext::Block{c1, c2});
  CapsuleKey key;
  derive_capsule_key(mm, c1, key);
  sodium_memzero(&mm, sizeof mm);
  return Encapsulation{std::move(capsule), key};
}

Result<ReKey> SchemeAccess::make_rekey_with(const SecretKeySource& from, const PublicKey& to,
                                            const Scalar& x, const Scalar& s) {
  ReKey rk = empty_rekey();
  const Error e = with_secret(from, [&](const Scalar& a) {
    GT xx = gt_pow_base(x);
    rk.r_ = g2_add(h2(xx), g2_neg(g2_mul_base(a)));
    rk.d1_ = g1_mul_base(s);
    rk.d2_ = gt_mul(xx, gt_pow(to.pairing_with_g2(), s));
    sodium_memzero(&xx, sizeof xx);
    declassify(rk.r_);  // the re-encryption key goes to the cloud; a, x and s stay secret
    declassify(rk.d1_);
    declassify(rk.d2_);
    return Error::kOk;
  });
  if (e != Error::kOk) return e;
  rk.from_ = from.public_key().fingerprint();
  rk.to_ = to.fingerprint();
  return rk;
}

}  // namespace detail

CapsuleKey::~CapsuleKey() {
  sodium_memzero(bytes_.data(), bytes_.size());
}

Encapsulation encapsulate(const PublicKey& to) {
  detail::ensure_sodium();
  Scalar m = scalar_random_nonzero();
  Scalar r = scalar_random_nonzero();
  Encapsulation out = detail::SchemeAccess::encapsulate_with(to, m, r);
  sodium_memzero(&m, sizeof m);
  sodium_memzero(&r, sizeof r);
  return out;
}

Result<ReKey> make_rekey(const SecretKeySource& from, const PublicKey& to) {
  detail::ensure_sodium();
  Scalar x = scalar_random_nonzero();
  Scalar s = scalar_random_nonzero();
  Result<ReKey> out = detail::SchemeAccess::make_rekey_with(from, to, x, s);
  sodium_memzero(&x, sizeof x);
  sodium_memzero(&s, sizeof s);
  return out;
}

Result<Ciphertext> reencrypt(const ReKey& rk, const Ciphertext& c) {
  if (c.level() >= kMaxLevel) return Error::kLevelOutOfRange;
  if (c.holder() != rk.from()) return Error::kWrongHolder;
  Ciphertext out = c;
  auto& blocks = detail::SchemeAccess::blocks(out);
  detail::SchemeAccess::Block& last = blocks.back();
  last.u2 = gt_mul(last.u2, pairing(last.u1, detail::SchemeAccess::r(rk)));
  blocks.push_back(
      detail::SchemeAccess::Block{detail::SchemeAccess::d1(rk), detail::SchemeAccess::d2(rk)});
  detail::SchemeAccess::holder(out) = rk.to();
  return out;
}

Result<CapsuleKey> decapsulate(const SecretKeySource& key, const Ciphertext& c) {
  if (c.holder() != key.public_key().fingerprint()) return Error::kWrongHolder;
  const auto& blocks = detail::SchemeAccess::blocks(c);
  GT v;
  const Error e = detail::with_secret(key, [&](const Scalar& b) {
    // V_l = U2_l / e(b·U1_l, g2), then V_j = U2_j / e(U1_j, H2(V_{j+1})).
    const detail::SchemeAccess::Block& open = blocks.back();
    v = gt_mul(open.u2, pairing(g1_neg(g1_mul(open.u1, b)), g2_generator()));
    return Error::kOk;
  });
  if (e != Error::kOk) return e;
  for (std::size_t j = blocks.size() - 1; j-- > 0;) {
    v = gt_mul(blocks[j].u2, pairing(g1_neg(blocks[j].u1), detail::h2(v)));
  }
  CapsuleKey k;
  detail::derive_capsule_key(v, blocks.front().u1, k);
  sodium_memzero(&v, sizeof v);
  return k;
}

// ---- Encodings ----

Result<Ciphertext> Ciphertext::decode(std::span<const std::uint8_t> in) {
  ByteReader r(in);
  if (const Error e = detail::read_header(r, detail::kFormatCiphertext); e != Error::kOk) return e;
  std::uint8_t level = 0;
  if (!r.u8(level)) return Error::kMalformed;
  if (level < 1 || level > kMaxLevel) return Error::kLevelOutOfRange;
  if (r.remaining() != kFingerprintSize + std::size_t{level} * kCiphertextBlockSize) {
    return Error::kMalformed;
  }
  Ciphertext c;
  std::span<const std::uint8_t> holder;
  (void)r.take(kFingerprintSize, holder);
  std::copy(holder.begin(), holder.end(), c.holder_.begin());
  c.blocks_.resize(level);
  for (Block& b : c.blocks_) {
    std::span<const std::uint8_t> u1, u2;
    (void)r.take(kG1CompressedSize, u1);
    (void)r.take(kGtCompressedSize, u2);
    if (g1_decode(u1, b.u1) != Status::kOk || gt_decompress(u2, b.u2) != Status::kOk) {
      return Error::kBadElement;
    }
  }
  return c;
}

std::vector<std::uint8_t> Ciphertext::encode() const {
  std::vector<std::uint8_t> out;
  out.reserve(ciphertext_size(level()));
  detail::put_header(out, detail::kFormatCiphertext);
  out.push_back(static_cast<std::uint8_t>(level()));
  detail::put_bytes(out, holder_);
  for (const Block& b : blocks_) {
    const std::size_t at = out.size();
    out.resize(at + kG1CompressedSize + kGtCompressedSize);
    g1_compress(b.u1, out.data() + at);
    gt_compress(b.u2, out.data() + at + kG1CompressedSize);
  }
  return out;
}

Result<ReKey> ReKey::decode(std::span<const std::uint8_t> in) {
  ByteReader r(in);
  if (const Error e = detail::read_header(r, detail::kFormatReKey); e != Error::kOk) return e;
  if (r.remaining() != kReKeySize - 2) return Error::kMalformed;
  std::span<const std::uint8_t> from, to, rr, d1, d2;
  (void)r.take(kFingerprintSize, from);
  (void)r.take(kFingerprintSize, to);
  (void)r.take(kG2CompressedSize, rr);
  (void)r.take(kG1CompressedSize, d1);
  (void)r.take(kGtCompressedSize, d2);
  ReKey k = detail::SchemeAccess::empty_rekey();
  std::copy(from.begin(), from.end(), k.from_.begin());
  std::copy(to.begin(), to.end(), k.to_.begin());
  if (g2_decode(rr, k.r_) != Status::kOk || g1_decode(d1, k.d1_) != Status::kOk ||
      gt_decompress(d2, k.d2_) != Status::kOk) {
    return Error::kBadElement;
  }
  return k;
}

std::array<std::uint8_t, kReKeySize> ReKey::encode() const {
  std::array<std::uint8_t, kReKeySize> out;
  std::uint8_t* p = out.data();
  *p++ = detail::kFormatReKey;
  *p++ = kSchemeMupreV1;
  p = std::copy(from_.begin(), from_.end(), p);
  p = std::copy(to_.begin(), to_.end(), p);
  g2_compress(r_, p);
  g1_compress(d1_, p + kG2CompressedSize);
  gt_compress(d2_, p + kG2CompressedSize + kG1CompressedSize);
  return out;
}

}  // namespace mupre
