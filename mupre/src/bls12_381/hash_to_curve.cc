// RFC 9380 hashing to G1 and G2: expand_message_xmd (SHA-256), hash_to_field, the simplified
// SWU map onto an isogenous curve (constant time: the straight-line variants of appendix
// F.2 and G.2), the isogeny, and cofactor clearing.
#include <sodium.h>

#include <cstring>
#include <vector>

#include "exponents.h"
#include "groups.h"
#include "isogeny_constants.h"

namespace mupre::bls12_381 {
namespace detail {
namespace {

constexpr std::size_t kL = 64;  // bytes per field element, ceil((381 + 128) / 8)

std::vector<std::uint8_t> expand_message_xmd(std::span<const std::uint8_t> msg,
                                             std::span<const std::uint8_t> dst_in,
                                             std::size_t len) {
  // An oversized DST is replaced by its hash (RFC 9380 5.3.3).
  std::uint8_t dst_hash[crypto_hash_sha256_BYTES];
  std::span<const std::uint8_t> dst = dst_in;
  if (dst_in.size() > 255) {
    static constexpr char kPrefix[] = "H2C-OVERSIZE-DST-";
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, reinterpret_cast<const std::uint8_t*>(kPrefix),
                              sizeof(kPrefix) - 1);
    crypto_hash_sha256_update(&st, dst_in.data(), dst_in.size());
    crypto_hash_sha256_final(&st, dst_hash);
    dst = std::span<const std::uint8_t>(dst_hash, sizeof(dst_hash));
  }
  const std::uint8_t dst_len = static_cast<std::uint8_t>(dst.size());
  const std::size_t ell = (len + 31) / 32;  // callers ask for at most 256 bytes
  const std::uint8_t z_pad[64] = {};
  const std::uint8_t len_bytes[2] = {static_cast<std::uint8_t>(len >> 8),
                                     static_cast<std::uint8_t>(len)};
  std::uint8_t b0[32];
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, z_pad, sizeof(z_pad));
  crypto_hash_sha256_update(&st, msg.data(), msg.size());
  crypto_hash_sha256_update(&st, len_bytes, 2);
  const std::uint8_t zero = 0;
  crypto_hash_sha256_update(&st, &zero, 1);
  crypto_hash_sha256_update(&st, dst.data(), dst.size());
  crypto_hash_sha256_update(&st, &dst_len, 1);
  crypto_hash_sha256_final(&st, b0);

  std::vector<std::uint8_t> out(ell * 32);
  std::uint8_t prev[32] = {};
  for (std::size_t i = 1; i <= ell; ++i) {
    std::uint8_t in[32];
    for (int j = 0; j < 32; ++j) in[j] = static_cast<std::uint8_t>(b0[j] ^ prev[j]);
    const std::uint8_t idx = static_cast<std::uint8_t>(i);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, i == 1 ? b0 : in, 32);
    crypto_hash_sha256_update(&st, &idx, 1);
    crypto_hash_sha256_update(&st, dst.data(), dst.size());
    crypto_hash_sha256_update(&st, &dst_len, 1);
    crypto_hash_sha256_final(&st, prev);
    std::memcpy(out.data() + (i - 1) * 32, prev, 32);
  }
  out.resize(len);
  sodium_memzero(b0, sizeof(b0));
  return out;
}

// 64 big-endian bytes reduced mod p: hi * 2^256 + lo with hi, lo < 2^256 < p.
Fp fp_from_64_bytes(const std::uint8_t* in) {
  u64 hi[6] = {}, lo[6] = {};
  for (int i = 0; i < 4; ++i) {
    u64 wh = 0, wl = 0;
    for (int j = 0; j < 8; ++j) {
      wh = (wh << 8) | in[(3 - i) * 8 + j];
      wl = (wl << 8) | in[32 + (3 - i) * 8 + j];
    }
    hi[i] = wh;
    lo[i] = wl;
  }
  constexpr u64 k2to256[6] = {0, 0, 0, 0, 1, 0};
  constexpr Fp kShift = fp_from_limbs(k2to256);
  return fp_from_limbs(hi) * kShift + fp_from_limbs(lo);
}

// (p^2 - 9) / 16 as 12 little-endian limbs.
struct Limbs12 {
  u64 v[12];
};
constexpr Limbs12 p_squared_minus_9_div_16() {
  u64 sq[12] = {};
  for (int i = 0; i < 6; ++i) {
    u64 carry = 0;
    for (int j = 0; j < 6; ++j) {
      const u128 s = static_cast<u128>(kFpModulus[i]) * kFpModulus[j] + sq[i + j] + carry;
      sq[i + j] = static_cast<u64>(s);
      carry = static_cast<u64>(s >> 64);
    }
    sq[i + 6] = carry;
  }
  u64 borrow = 9;
  for (int i = 0; i < 12; ++i) {
    const u128 d = static_cast<u128>(sq[i]) - borrow;
    sq[i] = static_cast<u64>(d);
    borrow = static_cast<u64>(d >> 64) & 1;
  }
  Limbs12 r{};
  for (int i = 0; i < 12; ++i) r.v[i] = (sq[i] >> 4) | (i < 11 ? sq[i + 1] << 60 : 0);
  return r;
}
constexpr Limbs12 kP2Minus9Div16 = p_squared_minus_9_div_16();
// The same exponent as e1 p + e0, for the Frobenius split: p = 11 mod 16 gives
// e1 = floor(p / 16) and e0 = (11 p - 9) / 16.
constexpr Limbs6 kP2Minus9Div16High = p_affine_div(-9, 16);
constexpr Limbs6 kP2Minus9Div16Low = p_affine_div(-9, 16, 11);
constexpr bool split_is_exact() {
  u64 acc[12] = {};
  for (int i = 0; i < 6; ++i) acc[i] = kP2Minus9Div16Low.v[i];
  for (int i = 0; i < 6; ++i) {
    u64 carry = 0;
    for (int j = 0; j < 6; ++j) {
      const u128 s =
          static_cast<u128>(kP2Minus9Div16High.v[i]) * kFpModulus[j] + acc[i + j] + carry;
      acc[i + j] = static_cast<u64>(s);
      carry = static_cast<u64>(s >> 64);
    }
    for (int k = i + 6; k < 12 && carry != 0; ++k) {
      const u128 s = static_cast<u128>(acc[k]) + carry;
      acc[k] = static_cast<u64>(s);
      carry = static_cast<u64>(s >> 64);
    }
  }
  for (int i = 0; i < 12; ++i) {
    if (acc[i] != kP2Minus9Div16.v[i]) return false;
  }
  return less_than(kP2Minus9Div16Low.v, kFpModulus) != 0;
}
static_assert(split_is_exact(), "e1 p + e0 must equal (p^2 - 9) / 16");

// ---- G1: SSWU on E1': y^2 = x^3 + A'x + B', Z = 11 ----
struct Sswu1 {
  Fp a, b, z, za, c2;  // c2 = sqrt(-Z^3)
};
const Sswu1& sswu1() {
  static const Sswu1 k = [] {
    Sswu1 s{};
    s.a = fp_const(
        "144698a3b8e9433d693a02c96d4982b0ea985383ee66a8d8e8981aefd881ac98936f8da0e0f97f5cf428082d58"
        "4c1d");
    s.b = fp_const(
        "12e2908d11688030018b12e8753eee3b2016c1f0f24f4070a0b9c14fcef35ef55a23215a316ceaa5d1cc48e98e"
        "172be0");
    s.z = fp_from_u64(11);
    s.za = s.z * s.a;
    fp_sqrt(s.c2, -(fp_sqr(s.z) * s.z));
    return s;
  }();
  return k;
}

struct XdY1 {
  Fp xn, xd, y;
};

XdY1 sswu_g1(const Fp& u) {
  const Sswu1& k = sswu1();
  const Fp tv1 = fp_sqr(u);
  const Fp tv3 = k.z * tv1;
  Fp tv2 = fp_sqr(tv3);
  Fp xd = tv2 + tv3;
  const Fp x1n = (xd + fp_one()) * k.b;
  xd = -(k.a * xd);
  xd = fp_select(xd, k.za, fp_is_zero(xd));
  tv2 = fp_sqr(xd);
  const Fp gxd = tv2 * xd;
  tv2 = k.a * tv2;
  Fp gx1 = (fp_sqr(x1n) + tv2) * x1n;
  gx1 = gx1 + k.b * gxd;
  Fp tv4 = fp_sqr(gxd);
  tv2 = gx1 * gxd;
  tv4 = tv4 * tv2;
  static constexpr Limbs6 kC1 = kPMinus3Div4;
  Fp y1 = fp_pow_public(tv4, kC1.v) * tv2;
  const Fp x2n = tv3 * x1n;
  const Fp y2 = y1 * k.c2 * tv1 * u;
  const u64 e2 = fp_equal(fp_sqr(y1) * gxd, gx1);
  const Fp xn = fp_select(x2n, x1n, e2);
  Fp y = fp_select(y2, y1, e2);
  const u64 e3 = fp_sgn0(u) ^ fp_sgn0(y) ^ 1;
  y = fp_select(-y, y, e3);
  return {xn, xd, y};
}

// ---- G2: SSWU on E2': y^2 = x^3 + 240u x + 1012(1 + u), Z = -(2 + u) ----
struct Sswu2 {
  Fp2 a, b, z, za, c2, c3, c4, c5;
};
const Sswu2& sswu2() {
  static const Sswu2 k = [] {
    Sswu2 s{};
    s.a = Fp2{fp_zero(), fp_from_u64(240)};
    s.b = Fp2{fp_from_u64(1012), fp_from_u64(1012)};
    s.z = -Fp2{fp_from_u64(2), fp_one()};
    s.za = s.z * s.a;
    s.c2 = Fp2{fp_zero(), fp_one()};  // sqrt(-1)
    fp2_sqrt(s.c3, s.c2);
    const Fp2 z3 = fp2_sqr(s.z) * s.z;
    fp2_sqrt(s.c4, z3 * fp2_inverse(s.c3));
    fp2_sqrt(s.c5, z3 * fp2_inverse(s.c2 * s.c3));
    return s;
  }();
  return k;
}

struct XdY2 {
  Fp2 xn, xd, y;
};

XdY2 sswu_g2(const Fp2& u) {
  const Sswu2& k = sswu2();
  Fp2 tv1 = fp2_sqr(u);
  const Fp2 tv3 = k.z * tv1;
  Fp2 tv5 = fp2_sqr(tv3);
  Fp2 xd = tv5 + tv3;
  const Fp2 x1n = (xd + fp2_one()) * k.b;
  xd = -(k.a * xd);
  xd = fp2_select(xd, k.za, fp2_is_zero(xd));
  Fp2 tv2 = fp2_sqr(xd);
  const Fp2 gxd = tv2 * xd;
  tv2 = k.a * tv2;
  Fp2 gx1 = (fp2_sqr(x1n) + tv2) * x1n;
  gx1 = gx1 + k.b * gxd;
  Fp2 tv4 = fp2_sqr(gxd);
  tv2 = tv4 * gxd;
  tv4 = fp2_sqr(tv4);
  tv2 = tv2 * tv4 * gx1;
  tv4 = fp2_sqr(tv4);
  tv4 = tv2 * tv4;
  Fp2 y = fp2_pow_public_split(tv4, kP2Minus9Div16Low.v, kP2Minus9Div16High.v) * tv2;
  // y is a square root of gx1 / gxd up to a fourth root of unity: try each.
  const auto is_root = [&](const Fp2& cand, const Fp2& target) {
    return fp2_equal(fp2_sqr(cand) * gxd, target);
  };
  tv4 = y * k.c2;
  y = fp2_select(y, tv4, is_root(tv4, gx1));
  tv4 = y * k.c3;
  y = fp2_select(y, tv4, is_root(tv4, gx1));
  tv4 = tv4 * k.c2;
  y = fp2_select(y, tv4, is_root(tv4, gx1));
  const Fp2 gx2 = gx1 * tv5 * tv3;
  tv5 = y * tv1 * u;
  tv1 = tv5 * k.c4;
  tv4 = tv1 * k.c2;
  tv1 = fp2_select(tv1, tv4, is_root(tv4, gx2));
  tv4 = tv5 * k.c5;
  tv1 = fp2_select(tv1, tv4, is_root(tv4, gx2));
  tv4 = tv4 * k.c2;
  tv1 = fp2_select(tv1, tv4, is_root(tv4, gx2));
  const u64 e8 = is_root(y, gx1);
  y = fp2_select(tv1, y, e8);
  const Fp2 xn = fp2_select(tv3 * x1n, x1n, e8);
  const u64 e9 = fp2_sgn0(u) ^ fp2_sgn0(y) ^ 1;
  y = fp2_select(-y, y, e9);
  return {xn, xd, y};
}

// ---- Isogeny maps, evaluated on (x : y : z) with homogenized Horner ----
template <class F, std::size_t N>
F horner(const F (&c)[N], const F& x, const F (&zpow)[16]) {
  F acc = c[N - 1];
  for (std::size_t i = N - 1; i-- > 0;) acc = acc * x + c[i] * zpow[N - 1 - i];
  return acc;
}

template <class F, class P, std::size_t NX, std::size_t DX, std::size_t NY, std::size_t DY>
P isogeny_map(const F& x, const F& y, const F& z, const F (&xnum)[NX], const F (&xden)[DX],
              const F (&ynum)[NY], const F (&yden)[DY]) {
  F zpow[16];
  zpow[0] = fe_one<F>();
  for (int i = 1; i < 16; ++i) zpow[i] = zpow[i - 1] * z;
  const F xn = horner(xnum, x, zpow);
  const F xd = horner(xden, x, zpow);
  const F yn = horner(ynum, x, zpow);
  const F yd = horner(yden, x, zpow);
  // x' = xn / (z xd), y' = (y / z) (yn / yd)
  return P{xn * yd, y * yn * xd, z * xd * yd};
}

struct Iso1 {
  Fp xnum[12], xden[11], ynum[16], yden[16];
};
const Iso1& iso1() {
  static const Iso1 k = [] {
    Iso1 s{};
    for (int i = 0; i < 12; ++i) s.xnum[i] = fp_const(isogeny::kG1XNum[i]);
    for (int i = 0; i < 11; ++i) s.xden[i] = fp_const(isogeny::kG1XDen[i]);
    for (int i = 0; i < 16; ++i) s.ynum[i] = fp_const(isogeny::kG1YNum[i]);
    for (int i = 0; i < 16; ++i) s.yden[i] = fp_const(isogeny::kG1YDen[i]);
    return s;
  }();
  return k;
}

struct Iso2 {
  Fp2 xnum[4], xden[3], ynum[4], yden[4];
};
const Iso2& iso2() {
  static const Iso2 k = [] {
    const auto c = [](const char* const(&h)[2]) { return Fp2{fp_const(h[0]), fp_const(h[1])}; };
    Iso2 s{};
    for (int i = 0; i < 4; ++i) s.xnum[i] = c(isogeny::kG2XNum[i]);
    for (int i = 0; i < 3; ++i) s.xden[i] = c(isogeny::kG2XDen[i]);
    for (int i = 0; i < 4; ++i) s.ynum[i] = c(isogeny::kG2YNum[i]);
    for (int i = 0; i < 4; ++i) s.yden[i] = c(isogeny::kG2YDen[i]);
    return s;
  }();
  return k;
}

G1 map_to_g1(const Fp& u) {
  const XdY1 s = sswu_g1(u);
  const Iso1& k = iso1();
  return isogeny_map<Fp, G1>(s.xn, s.y * s.xd, s.xd, k.xnum, k.xden, k.ynum, k.yden);
}

G2 map_to_g2(const Fp2& u) {
  const XdY2 s = sswu_g2(u);
  const Iso2& k = iso2();
  return isogeny_map<Fp2, G2>(s.xn, s.y * s.xd, s.xd, k.xnum, k.xden, k.ynum, k.yden);
}

std::vector<Fp> hash_to_fp(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst,
                           std::size_t count) {
  const std::vector<std::uint8_t> bytes = expand_message_xmd(msg, dst, count * kL);
  std::vector<Fp> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = fp_from_64_bytes(bytes.data() + i * kL);
  return out;
}

}  // namespace
}  // namespace detail

using namespace detail;

G1 hash_to_g1(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst) {
  const std::vector<Fp> u = hash_to_fp(msg, dst, 2);
  return g1_clear_cofactor(point_add<G1Curve>(map_to_g1(u[0]), map_to_g1(u[1])));
}

G1 encode_to_g1(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst) {
  const std::vector<Fp> u = hash_to_fp(msg, dst, 1);
  return g1_clear_cofactor(map_to_g1(u[0]));
}

G2 hash_to_g2(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst) {
  const std::vector<Fp> u = hash_to_fp(msg, dst, 4);
  return g2_clear_cofactor(
      point_add<G2Curve>(map_to_g2(Fp2{u[0], u[1]}), map_to_g2(Fp2{u[2], u[3]})));
}

G2 encode_to_g2(std::span<const std::uint8_t> msg, std::span<const std::uint8_t> dst) {
  const std::vector<Fp> u = hash_to_fp(msg, dst, 2);
  return g2_clear_cofactor(map_to_g2(Fp2{u[0], u[1]}));
}

}  // namespace mupre::bls12_381
