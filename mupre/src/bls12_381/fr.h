// The scalar field Fr (order r of the groups), in Montgomery form internally.
// The public Scalar is the canonical integer; these helpers convert.
#pragma once

#include "mupre/bls12_381.h"
#include "params.h"

namespace mupre::bls12_381::detail {

struct Fr {
  u64 limb[4];
};

inline Fr fr_from_scalar(const Scalar& s) {
  Fr r;
  mont_mul<4, kFrParams>(r.limb, s.limb, kFrParams.r2);
  return r;
}
inline Scalar fr_to_scalar(const Fr& a) {
  const u64 one[4] = {1, 0, 0, 0};
  Scalar s;
  mont_mul<4, kFrParams>(s.limb, a.limb, one);
  return s;
}

}  // namespace mupre::bls12_381::detail
