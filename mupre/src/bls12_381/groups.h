// The two curve groups: constants, endomorphisms and subgroup tests.
#pragma once

#include "curve.h"

namespace mupre::bls12_381::detail {

// 12 a by additions: cheaper than a multiplication by the constant.
template <class F>
constexpr F times_12(const F& a) {
  const F a3 = a + a + a;
  const F a6 = a3 + a3;
  return a6 + a6;
}

struct G1Curve {
  using Field = Fp;
  static constexpr Fp kB = fp_from_u64(4);
  static constexpr Fp kB3 = fp_from_u64(12);
  static constexpr Fp mul_by_b3(const Fp& a) { return times_12(a); }
};

struct G2Curve {
  using Field = Fp2;
  static constexpr Fp2 kB = {fp_from_u64(4), fp_from_u64(4)};
  static constexpr Fp2 kB3 = {fp_from_u64(12), fp_from_u64(12)};
  // (12 + 12u)(a0 + a1 u) = 12 (a0 - a1) + 12 (a0 + a1) u.
  static constexpr Fp2 mul_by_b3(const Fp2& a) {
    return {times_12(a.c0 - a.c1), times_12(a.c0 + a.c1)};
  }
};

inline constexpr G1 kG1Generator = {
    fp_const(
        "17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af0"
        "0adb22c6bb"),
    fp_const(
        "08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa23"
        "2946c5e7e1"),
    fp_one()};

inline constexpr G2 kG2Generator = {
    {fp_const("024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd480"
              "56c8c121bdb8"),
     fp_const("13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac"
              "7d055d042b7e")},
    {fp_const("0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193"
              "548608b82801"),
     fp_const("0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9"
              "075ff05f79be")},
    fp2_one()};

// The order r as little-endian limbs.
inline constexpr u64 kGroupOrder[4] = {kFrModulus[0], kFrModulus[1], kFrModulus[2], kFrModulus[3]};

// [x] P for the BLS parameter x = -|x| (public, sparse).
G1 g1_mul_by_x(const G1& p);
G2 g2_mul_by_x(const G2& p);
// psi = twist^-1 o Frobenius o twist on G2; acts as multiplication by x on the subgroup.
G2 g2_psi(const G2& p);
// Cofactor clearing used by hash_to_curve (RFC 9380 h_eff).
G1 g1_clear_cofactor(const G1& p);
G2 g2_clear_cofactor(const G2& p);

}  // namespace mupre::bls12_381::detail
