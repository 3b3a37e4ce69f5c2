// Multi-scalar multiplication for public scalars: Straus' interleaving, one shared chain
// of doublings and a 4-bit window table per point.
#pragma once

#include <span>
#include <vector>

#include "curve.h"

namespace mupre::bls12_381::detail {

template <class C, class P>
P point_msm_vartime(std::span<const P> points, std::span<const Scalar> scalars) {
  const std::size_t n = points.size() < scalars.size() ? points.size() : scalars.size();
  std::vector<P> tables(n * 16);
  for (std::size_t i = 0; i < n; ++i) {
    P* t = &tables[i * 16];
    t[0] = point_identity<C, P>();
    t[1] = points[i];
    for (int j = 2; j < 16; ++j) t[j] = point_add<C>(t[j - 1], points[i]);
  }
  P acc = point_identity<C, P>();
  for (int w = 63; w >= 0; --w) {
    for (int d = 0; d < 4; ++d) acc = point_double<C>(acc);
    for (std::size_t i = 0; i < n; ++i) {
      const u64 nibble = (scalars[i].limb[w / 16] >> (4 * (w % 16))) & 0xf;
      if (nibble != 0) acc = point_add<C>(acc, tables[i * 16 + nibble]);
    }
  }
  return acc;
}

}  // namespace mupre::bls12_381::detail
