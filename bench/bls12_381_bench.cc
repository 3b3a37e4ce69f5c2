// Wall-time benchmarks of the BLS12-381 engine. Run:
//   build/bench/bls12_381_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <vector>

#include "bls12_381/fp12.h"
#include "mupre/bls12_381.h"

namespace {

using namespace mupre::bls12_381;

// Each benchmark checks its last result against the same value computed another way: a
// wrong result is reported as an error, never as a time.
void expect(benchmark::State& state, bool ok, const char* what) {
  if (!ok) state.SkipWithError(what);
}

Scalar fixed_scalar(int i) {
  std::uint8_t b[64];
  for (int j = 0; j < 64; ++j) b[j] = static_cast<std::uint8_t>(j * 31 + i * 7 + 1);
  return scalar_from_bytes_reduce(b);
}

void BM_FpMul(benchmark::State& state) {
  using namespace mupre::bls12_381::detail;
  Fp a = fp_from_u64(123456789), b = fp_from_u64(987654321);
  for (auto _ : state) {
    a = a * b;
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_FpMul);

void BM_FpSqr(benchmark::State& state) {
  using namespace mupre::bls12_381::detail;
  Fp a = fp_from_u64(123456789);
  for (auto _ : state) {
    a = fp_sqr(a);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_FpSqr);

void BM_FpInverse(benchmark::State& state) {
  using namespace mupre::bls12_381::detail;
  Fp a = fp_from_u64(123456789);
  for (auto _ : state) {
    a = fp_inverse(a);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_FpInverse);

void BM_G1MulSecret(benchmark::State& state) {
  const G1 p = g1_mul_base(fixed_scalar(1));
  const Scalar k = fixed_scalar(2);
  G1 last;
  for (auto _ : state) {
    last = g1_mul(p, k);
    benchmark::DoNotOptimize(last);
  }
  expect(state, g1_equal(last, g1_mul_vartime(p, k)), "g1_mul disagrees with g1_mul_vartime");
}
BENCHMARK(BM_G1MulSecret);

void BM_G2MulSecret(benchmark::State& state) {
  const G2 p = g2_mul_base(fixed_scalar(1));
  const Scalar k = fixed_scalar(2);
  G2 last;
  for (auto _ : state) {
    last = g2_mul(p, k);
    benchmark::DoNotOptimize(last);
  }
  expect(state, g2_equal(last, g2_mul_vartime(p, k)), "g2_mul disagrees with g2_mul_vartime");
}
BENCHMARK(BM_G2MulSecret);

void BM_G1MulBase(benchmark::State& state) {
  const Scalar k = fixed_scalar(3);
  G1 last;
  for (auto _ : state) {
    last = g1_mul_base(k);
    benchmark::DoNotOptimize(last);
  }
  expect(state, g1_equal(last, g1_mul_vartime(g1_generator(), k)), "g1_mul_base is wrong");
}
BENCHMARK(BM_G1MulBase);

void BM_G2MulBase(benchmark::State& state) {
  const Scalar k = fixed_scalar(3);
  G2 last;
  for (auto _ : state) {
    last = g2_mul_base(k);
    benchmark::DoNotOptimize(last);
  }
  expect(state, g2_equal(last, g2_mul_vartime(g2_generator(), k)), "g2_mul_base is wrong");
}
BENCHMARK(BM_G2MulBase);

void BM_Pairing(benchmark::State& state) {
  const G1 p = g1_mul_base(fixed_scalar(4));
  const G2 q = g2_mul_base(fixed_scalar(5));
  GT last;
  for (auto _ : state) {
    last = pairing(p, q);
    benchmark::DoNotOptimize(last);
  }
  // Bilinearity: e(a·g1, b·g2) = e(g1, g2)^(a·b).
  expect(
      state,
      gt_equal(last, gt_pow_vartime(gt_generator(), scalar_mul(fixed_scalar(4), fixed_scalar(5)))),
      "the pairing is not bilinear");
}
BENCHMARK(BM_Pairing);

void BM_MillerLoop(benchmark::State& state) {
  const G1 p = g1_mul_base(fixed_scalar(4));
  const G2 q = g2_mul_base(fixed_scalar(5));
  MillerValue last{};
  for (auto _ : state) {
    last = miller_loop(std::span<const G1>(&p, 1), std::span<const G2>(&q, 1));
    benchmark::DoNotOptimize(last);
  }
  expect(state, gt_equal(final_exponentiation(last), pairing(p, q)),
         "the Miller loop does not lead to the pairing");
}
BENCHMARK(BM_MillerLoop);

void BM_FinalExponentiation(benchmark::State& state) {
  const G1 p = g1_mul_base(fixed_scalar(4));
  const G2 q = g2_mul_base(fixed_scalar(5));
  const MillerValue f = miller_loop(std::span<const G1>(&p, 1), std::span<const G2>(&q, 1));
  GT last;
  for (auto _ : state) {
    last = final_exponentiation(f);
    benchmark::DoNotOptimize(last);
  }
  expect(state, gt_equal(last, pairing(p, q)), "the final exponentiation is wrong");
}
BENCHMARK(BM_FinalExponentiation);

void BM_MultiPairing(benchmark::State& state) {
  std::vector<G1> ps;
  std::vector<G2> qs;
  for (int i = 0; i < state.range(0); ++i) {
    ps.push_back(g1_mul_base(fixed_scalar(10 + i)));
    qs.push_back(g2_mul_base(fixed_scalar(20 + i)));
  }
  GT last;
  for (auto _ : state) {
    last = multi_pairing(ps, qs);
    benchmark::DoNotOptimize(last);
  }
  GT product = pairing(ps[0], qs[0]);
  for (std::size_t i = 1; i < ps.size(); ++i) product = gt_mul(product, pairing(ps[i], qs[i]));
  expect(state, gt_equal(last, product), "the multi-pairing is not the product of pairings");
}
BENCHMARK(BM_MultiPairing)->Arg(2)->Arg(3);

void BM_GtPowSecret(benchmark::State& state) {
  const GT z = gt_pow_base(fixed_scalar(6));
  const Scalar k = fixed_scalar(7);
  GT last;
  for (auto _ : state) {
    last = gt_pow(z, k);
    benchmark::DoNotOptimize(last);
  }
  expect(state, gt_equal(last, gt_pow_vartime(z, k)), "gt_pow disagrees with gt_pow_vartime");
}
BENCHMARK(BM_GtPowSecret);

void BM_GtPowBase(benchmark::State& state) {
  const Scalar k = fixed_scalar(7);
  GT last;
  for (auto _ : state) {
    last = gt_pow_base(k);
    benchmark::DoNotOptimize(last);
  }
  expect(state, gt_equal(last, gt_pow_vartime(gt_generator(), k)), "gt_pow_base is wrong");
}
BENCHMARK(BM_GtPowBase);

void BM_HashToG1(benchmark::State& state) {
  const std::uint8_t msg[32] = {1, 2, 3};
  const std::uint8_t dst[] = "HOPBOX-BENCH";
  const G1 first = hash_to_g1(msg, dst);
  G1 last;
  for (auto _ : state) {
    last = hash_to_g1(msg, dst);
    benchmark::DoNotOptimize(last);
  }
  expect(state, g1_in_subgroup(last) && g1_equal(last, first), "hash_to_g1 is wrong");
}
BENCHMARK(BM_HashToG1);

void BM_HashToG2(benchmark::State& state) {
  const std::uint8_t msg[576] = {1, 2, 3};
  const std::uint8_t dst[] = "HOPBOX-MUPRE-V1-RK";
  const G2 first = hash_to_g2(msg, dst);
  G2 last;
  for (auto _ : state) {
    last = hash_to_g2(msg, dst);
    benchmark::DoNotOptimize(last);
  }
  expect(state, g2_in_subgroup(last) && g2_equal(last, first), "hash_to_g2 is wrong");
}
BENCHMARK(BM_HashToG2);

void BM_G1Decompress(benchmark::State& state) {
  std::uint8_t enc[kG1CompressedSize];
  g1_compress(g1_mul_base(fixed_scalar(8)), enc);
  G1 p;
  Status last = Status::kOk;
  for (auto _ : state) {
    last = g1_decode(enc, p);
    benchmark::DoNotOptimize(last);
  }
  expect(state, last == Status::kOk && g1_equal(p, g1_mul_base(fixed_scalar(8))),
         "g1_decode is wrong");
}
BENCHMARK(BM_G1Decompress);

void BM_G2Decompress(benchmark::State& state) {
  std::uint8_t enc[kG2CompressedSize];
  g2_compress(g2_mul_base(fixed_scalar(8)), enc);
  G2 p;
  Status last = Status::kOk;
  for (auto _ : state) {
    last = g2_decode(enc, p);
    benchmark::DoNotOptimize(last);
  }
  expect(state, last == Status::kOk && g2_equal(p, g2_mul_base(fixed_scalar(8))),
         "g2_decode is wrong");
}
BENCHMARK(BM_G2Decompress);

void BM_GtDecompress(benchmark::State& state) {
  std::uint8_t enc[kGtCompressedSize];
  gt_compress(gt_pow_base(fixed_scalar(9)), enc);
  GT a;
  Status last = Status::kOk;
  for (auto _ : state) {
    last = gt_decompress(enc, a);
    benchmark::DoNotOptimize(last);
  }
  expect(state, last == Status::kOk && gt_equal(a, gt_pow_base(fixed_scalar(9))),
         "gt_decompress is wrong");
}
BENCHMARK(BM_GtDecompress);

}  // namespace

namespace {
void BM_FpAdd(benchmark::State& state) {
  using namespace mupre::bls12_381::detail;
  mupre::bls12_381::Fp a = fp_from_u64(123456789), b = fp_from_u64(987654321);
  for (auto _ : state) {
    a = a + b;
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_FpAdd);
void BM_FpSub(benchmark::State& state) {
  using namespace mupre::bls12_381::detail;
  mupre::bls12_381::Fp a = fp_from_u64(123456789), b = fp_from_u64(987654321);
  for (auto _ : state) {
    a = a - b;
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_FpSub);
void BM_CyclotomicSqr(benchmark::State& state) {
  using namespace mupre::bls12_381::detail;
  mupre::bls12_381::Fp12 a = gt_pow_base(fixed_scalar(1)).value;
  for (auto _ : state) {
    a = cyclotomic_sqr(a);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_CyclotomicSqr);
void BM_Fp12Mul(benchmark::State& state) {
  using namespace mupre::bls12_381::detail;
  mupre::bls12_381::Fp12 a = gt_pow_base(fixed_scalar(1)).value, b = gt_generator().value;
  for (auto _ : state) {
    a = a * b;
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_Fp12Mul);
}  // namespace
BENCHMARK_MAIN();
