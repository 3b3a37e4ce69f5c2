// Constant-time check in the manner of ctgrind: every secret input is marked undefined for
// valgrind's memcheck, so any branch or memory index that depends on it is reported as a use
// of an uninitialised value. Run by ctest under valgrind with --error-exitcode.
// Results are marked defined again before they are looked at (that is declassification).
#include <valgrind/memcheck.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include "mupre/bls12_381.h"
#include "mupre/pre.h"
#include "mupre/shamir.h"

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

// Hands out its key marked secret, as a hardware token's unwrapped bytes would be.
class SecretMarkingSource : public mupre::SecretKeySource {
 public:
  explicit SecretMarkingSource(const mupre::SecretKey& k) : key_(k) {}
  const mupre::PublicKey& public_key() const override { return key_.public_key(); }
  mupre::Error load_secret(std::span<std::uint8_t, kScalarSize> out) const override {
    const mupre::Error e = key_.load_secret(out);
    VALGRIND_MAKE_MEM_UNDEFINED(out.data(), out.size());
    return e;
  }

 private:
  const mupre::SecretKey& key_;
};

// The scheme's secret-key operations: RKGen and Dec at level 2 (which hashes a secret GT
// element and pairs secret points), and splitting a secret.
void check_scheme() {
  const mupre::SecretKey a = mupre::SecretKey::generate();
  const mupre::SecretKey b = mupre::SecretKey::generate();
  (void)a.public_key().pairing_with_g2();
  (void)b.public_key().pairing_with_g2();
  const SecretMarkingSource sa(a), sb(b);
  const mupre::Encapsulation e = mupre::encapsulate(a.public_key());
  auto rk = mupre::make_rekey(sa, b.public_key());
  expect(rk.ok(), "make_rekey");
  if (!rk.ok()) return;
  auto c2 = mupre::reencrypt(*rk, e.capsule);
  expect(c2.ok(), "reencrypt");
  if (!c2.ok()) return;
  auto k = mupre::decapsulate(sb, *c2);
  expect(k.ok(), "decapsulate");
  if (!k.ok()) return;
  mupre::CapsuleKey key = *k;
  declassify(key);
  expect(std::memcmp(key.bytes().data(), e.key.bytes().data(), 32) == 0,
         "decapsulate at level 2 gives the capsule key");

  Scalar s = scalar_random_nonzero();
  const Scalar s_public = s;
  secret(s);
  auto sharing = mupre::split(s, 2, 3);
  expect(sharing.ok(), "split");
  if (!sharing.ok()) return;
  std::vector<mupre::Share> two = {sharing->shares[0], sharing->shares[2]};
  auto back = mupre::interpolate(two);
  expect(back.ok(), "interpolate");
  if (!back.ok()) return;
  Scalar r = *back;
  declassify(r);
  expect(scalar_equal(r, s_public), "split and interpolate");
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
  check_scheme();
  GT back;
  expect(gt_decompress(compressed, back) == Status::kOk && gt_equal(back, f), "torus round trip");
  std::printf("%s\n", failures == 0 ? "constant-time check: all results correct" : "errors");
  return failures == 0 ? 0 : 1;
}
