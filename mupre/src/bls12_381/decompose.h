// Scalars written in base |x| (x the BLS parameter), in constant time, so that a 255-bit
// scalar multiplication becomes a joint multiplication by 64-bit digits of points related by
// cheap endomorphisms (psi on G2, Frobenius on GT, phi on G1).
#pragma once

#include "params.h"

namespace mupre::bls12_381::detail {

// k = d[0] + d[1] |x| + d[2] |x|^2 + d[3] |x|^3 with every d[i] < |x|. Requires k < |x|^4,
// true of every k < r. Bitwise long division: no branches or divisions on k.
inline void digits_base_x(const u64 (&k)[4], u64 (&d)[4]) {
  u64 n[4] = {k[0], k[1], k[2], k[3]};
  for (int round = 0; round < 4; ++round) {
    u128 rem = 0;
    u64 q[4] = {};
    for (int bit = 255; bit >= 0; --bit) {
      rem = (rem << 1) | ((n[bit / 64] >> (bit % 64)) & 1);
      const u128 diff = rem - kX;
      const u64 ge = static_cast<u64>(diff >> 127) ^ 1;  // rem >= |x| (rem < 2^65)
      const u128 mask = static_cast<u128>(0) - ge;
      rem = (diff & mask) | (rem & ~mask);
      q[bit / 64] |= ge << (bit % 64);
    }
    d[round] = static_cast<u64>(rem);
    for (int i = 0; i < 4; ++i) n[i] = q[i];
  }
}

// Joint multiplication: sum of digit[i] * base[i] for M bases, W bits per digit and window,
// over `bits` bits. The table holds every combination of one window of each digit
// (2^(M W) entries), read in full at each step. Ops supplies identity, add, dbl, select.
template <class T, std::size_t M, int W, class Ops>
T joint_mul(const T (&base)[M], const u64 (&digit)[M][2], int bits, const Ops& ops) {
  constexpr std::size_t kSize = std::size_t{1} << (M * W);
  constexpr u64 kMask = (u64{1} << W) - 1;
  T table[kSize];
  table[0] = ops.identity();
  for (std::size_t idx = 1; idx < kSize; ++idx) {
    std::size_t i = 0;
    while (((idx >> (W * i)) & kMask) == 0) ++i;  // public index
    table[idx] = ops.add(table[idx - (std::size_t{1} << (W * i))], base[i]);
  }
  T acc = ops.identity();
  for (int pos = bits - W; pos >= 0; pos -= W) {
    for (int d = 0; d < W; ++d) acc = ops.dbl(acc);
    u64 idx = 0;
    for (std::size_t i = 0; i < M; ++i) {
      idx |= ((digit[i][pos / 64] >> (pos % 64)) & kMask) << (W * i);
    }
    T sel = table[0];
    for (std::size_t j = 1; j < kSize; ++j) sel = ops.select(sel, table[j], is_zero_word(idx ^ j));
    acc = ops.add(acc, sel);
  }
  return acc;
}

}  // namespace mupre::bls12_381::detail
