// Short Weierstrass curves y^2 = x^3 + b in homogeneous projective coordinates, written once
// for G1 (over Fp) and G2 (over Fp2). Addition and doubling use the complete formulas of
// Renes, Costello and Batina (eprint 2015/1060, algorithms 7 and 9): no exceptional cases,
// hence no branches, valid because neither curve group has a point of order two.
#pragma once

#include <cstddef>

#include "field_ops.h"

namespace mupre::bls12_381::detail {

// A curve C supplies: using Field; static constexpr Field kB (the b of y^2 = x^3 + b),
// kB3 = 3 * kB, and mul_by_b3(Field). Points P have members x, y, z of type C::Field.

template <class C, class P>
P point_identity() {
  using F = typename C::Field;
  return P{F{}, fe_one<F>(), F{}};
}

template <class C, class P>
P point_add(const P& p, const P& q) {
  using F = typename C::Field;
  F t0 = p.x * q.x;
  F t1 = p.y * q.y;
  F t2 = p.z * q.z;
  F t3 = (p.x + p.y) * (q.x + q.y);
  F t4 = t0 + t1;
  t3 = t3 - t4;
  t4 = (p.y + p.z) * (q.y + q.z);
  F x3 = t1 + t2;
  t4 = t4 - x3;
  x3 = (p.x + p.z) * (q.x + q.z);
  F y3 = t0 + t2;
  y3 = x3 - y3;
  x3 = t0 + t0;
  t0 = x3 + t0;
  t2 = C::mul_by_b3(t2);
  F z3 = t1 + t2;
  t1 = t1 - t2;
  y3 = C::mul_by_b3(y3);
  x3 = t4 * y3;
  t2 = t3 * t1;
  x3 = t2 - x3;
  y3 = y3 * t0;
  t1 = t1 * z3;
  y3 = t1 + y3;
  t0 = t0 * t3;
  z3 = z3 * t4;
  z3 = z3 + t0;
  return P{x3, y3, z3};
}

template <class C, class P>
P point_double(const P& p) {
  using F = typename C::Field;
  F t0 = fe_sqr(p.y);
  F z3 = t0 + t0;
  z3 = z3 + z3;
  z3 = z3 + z3;
  F t1 = p.y * p.z;
  F t2 = fe_sqr(p.z);
  t2 = C::mul_by_b3(t2);
  F x3 = t2 * z3;
  F y3 = t0 + t2;
  z3 = t1 * z3;
  t1 = t2 + t2;
  t2 = t1 + t2;
  t0 = t0 - t2;
  y3 = t0 * y3;
  y3 = x3 + y3;
  t1 = p.x * p.y;
  x3 = t0 * t1;
  x3 = x3 + x3;
  return P{x3, y3, z3};
}

template <class P>
P point_neg(const P& p) {
  return P{p.x, -p.y, p.z};
}

template <class P>
u64 point_is_identity(const P& p) {
  return fe_is_zero(p.z);
}

template <class P>
P point_select(const P& a, const P& b, u64 bit) {
  return P{fe_select(a.x, b.x, bit), fe_select(a.y, b.y, bit), fe_select(a.z, b.z, bit)};
}

template <class P>
u64 point_equal(const P& p, const P& q) {
  // (X1/Z1, Y1/Z1) == (X2/Z2, Y2/Z2), with the identity equal only to itself.
  const u64 both_inf = fe_is_zero(p.z) & fe_is_zero(q.z);
  const u64 one_inf = fe_is_zero(p.z) ^ fe_is_zero(q.z);
  const u64 same = fe_equal(p.x * q.z, q.x * p.z) & fe_equal(p.y * q.z, q.y * p.z);
  return both_inf | (same & (one_inf ^ 1));
}

template <class C, class P>
u64 point_on_curve(const P& p) {
  // Y^2 Z = X^3 + b Z^3; the identity (0 : nonzero : 0) counts as on the curve.
  using F = typename C::Field;
  const F lhs = fe_sqr(p.y) * p.z;
  const F z2 = fe_sqr(p.z);
  const F rhs = fe_sqr(p.x) * p.x + C::kB * z2 * p.z;
  const u64 inf = fe_is_zero(p.z) & fe_is_zero(p.x) & (fe_is_zero(p.y) ^ 1);
  return fe_equal(lhs, rhs) | inf;
}

// Affine coordinates (x, y); for the identity both are 0.
template <class P, class F>
void point_to_affine(const P& p, F& x, F& y) {
  const F zi = fe_inverse(p.z);
  x = p.x * zi;
  y = p.y * zi;
}

template <class C, class P>
P point_normalize(const P& p) {
  using F = typename C::Field;
  F x, y;
  point_to_affine(p, x, y);
  const P affine{x, y, fe_one<F>()};
  return point_select(affine, point_identity<C, P>(), point_is_identity(p));
}

// Constant-time table lookup: returns table[index] reading every entry.
template <class P, std::size_t N>
P point_lookup(const P (&table)[N], u64 index) {
  P r = table[0];
  for (std::size_t i = 1; i < N; ++i) {
    r = point_select(r, table[i], is_zero_word(index ^ i));
  }
  return r;
}

// The group operations of a curve, as joint_mul (decompose.h) expects them.
template <class C, class P>
struct PointOps {
  P identity() const { return point_identity<C, P>(); }
  P add(const P& a, const P& b) const { return point_add<C>(a, b); }
  P dbl(const P& a) const { return point_double<C>(a); }
  P select(const P& a, const P& b, u64 bit) const { return point_select(a, b, bit); }
};

// k * p for a public k (little-endian limbs): windows, skipping zero nibbles.
template <class C, class P, std::size_t N>
P point_mul_vartime(const P& p, const u64 (&k)[N]) {
  P table[16];
  table[0] = point_identity<C, P>();
  table[1] = p;
  for (int i = 2; i < 16; ++i) table[i] = point_add<C>(table[i - 1], p);
  P acc = point_identity<C, P>();
  bool started = false;
  for (int w = static_cast<int>(N) * 16 - 1; w >= 0; --w) {
    if (started) {
      for (int d = 0; d < 4; ++d) acc = point_double<C>(acc);
    }
    const u64 nibble = (k[w / 16] >> (4 * (w % 16))) & 0xf;
    if (nibble != 0) {
      acc = started ? point_add<C>(acc, table[nibble]) : table[nibble];
      started = true;
    }
  }
  return acc;
}

// Jacobian coordinates (x = X/Z^2, y = Y/Z^3) for long runs of doublings, where the
// dedicated a = 0 formula is cheaper than the complete one. The identity is (1 : 1 : 0), which
// the doubling formula keeps; no other point doubles exceptionally (no point of order two).
template <class P>
P to_jacobian(const P& p) {
  using F = decltype(p.x);
  const F z2 = fe_sqr(p.z);
  const P j{p.x * p.z, p.y * z2, p.z};
  const P identity{fe_one<F>(), fe_one<F>(), F{}};
  return point_select(j, identity, fe_is_zero(p.z));
}
template <class P>
P from_jacobian(const P& p) {
  return P{p.x * p.z, p.y, fe_sqr(p.z) * p.z};
}
// 2P in Jacobian coordinates (dbl-2009-l: 2M + 5S).
template <class P>
P jacobian_double(const P& p) {
  using F = decltype(p.x);
  const F a = fe_sqr(p.x);
  const F b = fe_sqr(p.y);
  const F c = fe_sqr(b);
  F d = fe_sqr(p.x + b) - a - c;
  d = d + d;
  const F e = a + a + a;
  const F f = fe_sqr(e);
  const F x3 = f - (d + d);
  F c8 = c + c;
  c8 = c8 + c8;
  c8 = c8 + c8;
  const F y3 = e * (d - x3) - c8;
  const F yz = p.y * p.z;
  return P{x3, y3, yz + yz};
}

// k * p for the 64-bit public multiplier |x| of the BLS parameter (sparse: double-and-add,
// the doublings in Jacobian coordinates, the few additions with the complete formula).
template <class C, class P>
P point_mul_u64(const P& p, u64 k) {
  P acc = point_identity<C, P>();
  bool started = false;
  int pending = 0;  // doublings owed to acc
  for (int bit = 63; bit >= 0; --bit) {
    if (started) ++pending;
    if ((k >> bit) & 1) {
      if (started) {
        P j = to_jacobian(acc);
        for (; pending > 0; --pending) j = jacobian_double(j);
        acc = point_add<C>(from_jacobian(j), p);
      } else {
        acc = p;
      }
      started = true;
    }
  }
  P j = to_jacobian(acc);
  for (; pending > 0; --pending) j = jacobian_double(j);
  return from_jacobian(j);
}

// Fixed-base table: entry [i][j] = j * 16^i * base, so a 256-bit scalar costs 64 additions.
template <class P>
struct FixedBaseTable {
  P entry[64][16];
};

template <class C, class P>
void fixed_base_init(FixedBaseTable<P>& t, const P& base) {
  P b = base;
  for (int i = 0; i < 64; ++i) {
    t.entry[i][0] = point_identity<C, P>();
    for (int j = 1; j < 16; ++j) t.entry[i][j] = point_add<C>(t.entry[i][j - 1], b);
    for (int d = 0; d < 4; ++d) b = point_double<C>(b);
  }
}

template <class C, class P>
P fixed_base_mul(const FixedBaseTable<P>& t, const u64 (&k)[4]) {
  P acc = point_identity<C, P>();
  for (int i = 0; i < 64; ++i) {
    const u64 nibble = (k[i / 16] >> (4 * (i % 16))) & 0xf;
    acc = point_add<C>(acc, point_lookup(t.entry[i], nibble));
  }
  return acc;
}

}  // namespace mupre::bls12_381::detail
