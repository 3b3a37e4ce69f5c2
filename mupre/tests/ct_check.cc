// Constant-time check in the manner of ctgrind: every secret input is marked undefined for
// valgrind's memcheck, so any branch or memory index that depends on it is reported as a use
// of an uninitialised value. Run by ctest under valgrind with --error-exitcode.
// Results are marked defined again before they are looked at (that is declassification).
// A negative control (a deliberate secret-dependent branch) proves the harness catches leaks.
#include <valgrind/memcheck.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bls12_381/fp.h"
#include "mupre/bls12_381.h"
#include "mupre/known_answer.h"
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

bool same_key(mupre::CapsuleKey a, mupre::CapsuleKey b) {
  declassify(a);
  declassify(b);
  return std::memcmp(a.bytes().data(), b.bytes().data(), 32) == 0;
}

Scalar secret_copy(const Scalar& v) {
  Scalar s = v;
  secret(s);
  return s;
}

// The scheme: Enc and RKGen with their random choices secret (each result compared with the
// same operation on public copies), Dec at levels 1..4 with the holder's key secret, and
// splitting a secret.
void check_scheme() {
  namespace ka = mupre::known_answer;
  std::vector<mupre::SecretKey> keys;
  for (int i = 0; i < 4; ++i) {
    keys.push_back(mupre::SecretKey::generate());
    (void)keys.back().public_key().pairing_with_g2();
  }
  const Scalar m = scalar_random_nonzero(), r = scalar_random_nonzero();
  const auto enc = ka::encapsulate_with(keys[0].public_key(), m, r);
  const auto enc_secret =
      ka::encapsulate_with(keys[0].public_key(), secret_copy(m), secret_copy(r));
  expect(same_key(enc_secret.enc.key, enc.enc.key), "Enc with secret m and r");

  std::vector<mupre::ReKey> rks;
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
    const SecretMarkingSource from(keys[i]);
    const Scalar x = scalar_random_nonzero(), s = scalar_random_nonzero();
    auto rk = ka::make_rekey_with(from, keys[i + 1].public_key(), x, s);
    auto rk_secret =
        ka::make_rekey_with(from, keys[i + 1].public_key(), secret_copy(x), secret_copy(s));
    expect(rk.ok() && rk_secret.ok(), "make_rekey");
    if (!rk.ok() || !rk_secret.ok()) return;
    const auto a = ka::parts(*rk), b = ka::parts(*rk_secret);  // public by design
    expect(g2_equal(a.r, b.r) && g1_equal(a.d1, b.d1) && gt_equal(a.d2, b.d2),
           "RKGen with secret x and s");
    rks.push_back(std::move(*rk));
  }

  mupre::Ciphertext c = enc.enc.capsule;
  for (std::size_t level = 1; level <= keys.size(); ++level) {
    if (level > 1) {
      auto next = mupre::reencrypt(rks[level - 2], c);
      expect(next.ok(), "reencrypt");
      if (!next.ok()) return;
      c = std::move(*next);
    }
    const SecretMarkingSource holder(keys[level - 1]);
    auto k = mupre::decapsulate(holder, c);
    expect(k.ok(), "decapsulate");
    if (!k.ok()) return;
    expect(same_key(*k, enc.enc.key), "decapsulate at every level gives the capsule key");
  }

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
  Scalar r2 = *back;
  declassify(r2);
  expect(scalar_equal(r2, s_public), "split and interpolate");
}

// The harness's negative control: a branch on a secret that memcheck must report. Run as its
// own test, which passes only if valgrind flags it.
void secret_dependent_branch() {
  Scalar k = scalar_random_nonzero();
  secret(k);
  volatile int sink = 0;
  if ((k.limb[0] & 1) != 0) sink = 1;  // the leak the harness must catch
  (void)sink;
}

}  // namespace

int main(int argc, char** argv) {
  // --multiplier portable|mulx: the field multiplier the check runs on (it must be the one
  // asked for); --negative-control: only the deliberate leak.
  const std::string mode = argc >= 2 ? argv[1] : "";
  if (mode == "--negative-control") {
    secret_dependent_branch();
    std::printf("negative control ran: memcheck must have reported its branch\n");
    return 0;
  }
  const std::string multiplier = argc >= 3 && mode == "--multiplier" ? argv[2] : "";
  if (multiplier == "portable") {
    mupre::bls12_381::detail::g_fp_use_mulx = false;
  } else if (multiplier == "mulx") {
    if (!mupre::bls12_381::detail::g_fp_use_mulx) {
      std::printf("no mulx path here (CPU, valgrind's CPU or the build lack BMI2/ADX): skipped\n");
      return 77;
    }
  } else {
    std::fprintf(stderr, "usage: mupre_ct_check --multiplier portable|mulx | --negative-control\n");
    return 2;
  }
  std::printf("constant-time check on the %s multiplier\n", multiplier.c_str());
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
