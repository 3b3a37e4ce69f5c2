// Wall-time benchmarks of the BLS12-381 engine. Run:
//   build/bench/bls12_381_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <benchmark/benchmark.h>

#include <vector>

#include "bls12_381/fp12.h"
#include "mupre/bls12_381.h"

namespace {

using namespace mupre::bls12_381;

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
  for (auto _ : state) benchmark::DoNotOptimize(g1_mul(p, k));
}
BENCHMARK(BM_G1MulSecret);

void BM_G2MulSecret(benchmark::State& state) {
  const G2 p = g2_mul_base(fixed_scalar(1));
  const Scalar k = fixed_scalar(2);
  for (auto _ : state) benchmark::DoNotOptimize(g2_mul(p, k));
}
BENCHMARK(BM_G2MulSecret);

void BM_G1MulBase(benchmark::State& state) {
  const Scalar k = fixed_scalar(3);
  for (auto _ : state) benchmark::DoNotOptimize(g1_mul_base(k));
}
BENCHMARK(BM_G1MulBase);

void BM_G2MulBase(benchmark::State& state) {
  const Scalar k = fixed_scalar(3);
  for (auto _ : state) benchmark::DoNotOptimize(g2_mul_base(k));
}
BENCHMARK(BM_G2MulBase);

void BM_Pairing(benchmark::State& state) {
  const G1 p = g1_mul_base(fixed_scalar(4));
  const G2 q = g2_mul_base(fixed_scalar(5));
  for (auto _ : state) benchmark::DoNotOptimize(pairing(p, q));
}
BENCHMARK(BM_Pairing);

void BM_MillerLoop(benchmark::State& state) {
  const G1 p = g1_mul_base(fixed_scalar(4));
  const G2 q = g2_mul_base(fixed_scalar(5));
  for (auto _ : state) {
    benchmark::DoNotOptimize(miller_loop(std::span<const G1>(&p, 1), std::span<const G2>(&q, 1)));
  }
}
BENCHMARK(BM_MillerLoop);

void BM_FinalExponentiation(benchmark::State& state) {
  const G1 p = g1_mul_base(fixed_scalar(4));
  const G2 q = g2_mul_base(fixed_scalar(5));
  const MillerValue f = miller_loop(std::span<const G1>(&p, 1), std::span<const G2>(&q, 1));
  for (auto _ : state) benchmark::DoNotOptimize(final_exponentiation(f));
}
BENCHMARK(BM_FinalExponentiation);

void BM_MultiPairing(benchmark::State& state) {
  std::vector<G1> ps;
  std::vector<G2> qs;
  for (int i = 0; i < state.range(0); ++i) {
    ps.push_back(g1_mul_base(fixed_scalar(10 + i)));
    qs.push_back(g2_mul_base(fixed_scalar(20 + i)));
  }
  for (auto _ : state) benchmark::DoNotOptimize(multi_pairing(ps, qs));
}
BENCHMARK(BM_MultiPairing)->Arg(2)->Arg(3);

void BM_GtPowSecret(benchmark::State& state) {
  const GT z = gt_pow_base(fixed_scalar(6));
  const Scalar k = fixed_scalar(7);
  for (auto _ : state) benchmark::DoNotOptimize(gt_pow(z, k));
}
BENCHMARK(BM_GtPowSecret);

void BM_GtPowBase(benchmark::State& state) {
  const Scalar k = fixed_scalar(7);
  for (auto _ : state) benchmark::DoNotOptimize(gt_pow_base(k));
}
BENCHMARK(BM_GtPowBase);

void BM_HashToG1(benchmark::State& state) {
  const std::uint8_t msg[32] = {1, 2, 3};
  const std::uint8_t dst[] = "HOPBOX-BENCH";
  for (auto _ : state) benchmark::DoNotOptimize(hash_to_g1(msg, dst));
}
BENCHMARK(BM_HashToG1);

void BM_HashToG2(benchmark::State& state) {
  const std::uint8_t msg[576] = {1, 2, 3};
  const std::uint8_t dst[] = "HOPBOX-MUPRE-V1-RK";
  for (auto _ : state) benchmark::DoNotOptimize(hash_to_g2(msg, dst));
}
BENCHMARK(BM_HashToG2);

void BM_G1Decompress(benchmark::State& state) {
  std::uint8_t enc[kG1CompressedSize];
  g1_compress(g1_mul_base(fixed_scalar(8)), enc);
  G1 p;
  for (auto _ : state) benchmark::DoNotOptimize(g1_decode(enc, p));
}
BENCHMARK(BM_G1Decompress);

void BM_G2Decompress(benchmark::State& state) {
  std::uint8_t enc[kG2CompressedSize];
  g2_compress(g2_mul_base(fixed_scalar(8)), enc);
  G2 p;
  for (auto _ : state) benchmark::DoNotOptimize(g2_decode(enc, p));
}
BENCHMARK(BM_G2Decompress);

void BM_GtDecompress(benchmark::State& state) {
  std::uint8_t enc[kGtCompressedSize];
  gt_compress(gt_pow_base(fixed_scalar(9)), enc);
  GT a;
  for (auto _ : state) benchmark::DoNotOptimize(gt_decompress(enc, a));
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
