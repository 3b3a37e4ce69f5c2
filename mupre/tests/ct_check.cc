// Constant-time check in the manner of ctgrind: every secret input is marked undefined for
// valgrind's memcheck, so any branch or memory index that depends on it is reported as a use
// of an uninitialised value. Run by ctest under valgrind with --error-exitcode.
// Results are marked defined again before they are looked at (that is declassification).
#include <valgrind/memcheck.h>

#include <cstdio>
#include <cstring>

#include "mupre/bls12_381.h"

using namespace mupre::bls12_381;

namespace {

template <class T>
void secret(T& v) {
  VALGRIND_MAKE_MEM_UNDEFINED(&v, sizeof(v));
}
template <class T>
void declassify(T& v) {
  VALGRIND_MAKE_MEM_DEFINED(&v, sizeof(v));
}

int failures = 0;
void expect(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main() {
  // Public set-up (tables, constants) happens before anything is secret.
  const G1 g1 = g1_generator();
  const G2 g2 = g2_generator();
  const GT z = gt_generator();
  (void)g1_mul_base(scalar_from_u64(1));
  (void)g2_mul_base(scalar_from_u64(1));
  (void)gt_pow_base(scalar_from_u64(1));
  const std::uint8_t dst[] = "HOPBOX-MUPRE-V1-RK";
  (void)hash_to_g2(std::span<const std::uint8_t>(dst, 1), dst);

  Scalar k = scalar_random_nonzero();
  const Scalar k_public = k;
  Scalar k2 = scalar_random_nonzero();
  secret(k);
  secret(k2);

  G1 a = g1_mul(g1, k);
  G1 b = g1_mul_base(k);
  G2 c = g2_mul(g2, k);
  G2 d = g2_mul_base(k);
  GT e = gt_pow(z, k);
  GT f = gt_pow_base(k);
  Scalar s1 = scalar_mul(k, k2);
  Scalar s2 = scalar_inverse(k);
  Scalar s3 = scalar_add(k, k2);
  Scalar s4 = scalar_sub(k, k2);

  // A pairing with a secret point (decryption pairs b * U1 with g2).
  GT p = pairing(a, g2);

  // Hashing a secret GT element to G2 (H2(X) in re-encryption keys).
  std::uint8_t x_bytes[kGtSize];
  gt_to_bytes(e, x_bytes);
  G2 h = hash_to_g2(x_bytes, dst);

  // Torus compression of a secret GT element.
  std::uint8_t compressed[kGtCompressedSize];
  gt_compress(f, compressed);

  declassify(a);
  declassify(b);
  declassify(c);
  declassify(d);
  declassify(e);
  declassify(f);
  declassify(s1);
  declassify(s2);
  declassify(s3);
  declassify(s4);
  declassify(p);
  declassify(h);
  declassify(compressed);
  declassify(k);
  declassify(k2);

  expect(g1_equal(a, b), "g1_mul == g1_mul_base");
  expect(g2_equal(c, d), "g2_mul == g2_mul_base");
  expect(gt_equal(e, f), "gt_pow == gt_pow_base");
  expect(gt_equal(p, gt_pow_vartime(z, k_public)), "pairing(k g1, g2) == z^k");
  expect(scalar_equal(scalar_mul(s2, k), scalar_from_u64(1)), "scalar inverse");
  expect(g2_in_subgroup(h), "hash output in G2");
  GT back;
  expect(gt_decompress(compressed, back) == Status::kOk && gt_equal(back, f), "torus round trip");
  std::printf("%s\n", failures == 0 ? "constant-time check: all results correct" : "errors");
  return failures == 0 ? 0 : 1;
}
