// Wall-time benchmarks of the mupre v1 scheme and the hybrid layer. Run:
//   build/release/bench/mupre_scheme_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// (hopbox-bench table3 prints the same operations in the seed paper's layout.)
#include <benchmark/benchmark.h>

#include <sstream>
#include <string>
#include <vector>

#include "mupre/item.h"
#include "mupre/shamir.h"

namespace {

using namespace mupre;

// A chain of keys and the ciphertext at every level along it, built once.
struct Chain {
  std::vector<SecretKey> keys;
  std::vector<ReKey> rks;
  std::vector<Ciphertext> levels;

  Chain() {
    for (int i = 0; i < 7; ++i) keys.push_back(SecretKey::generate());
    levels.push_back(encapsulate(keys[0].public_key()).capsule);
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
      rks.push_back(std::move(*make_rekey(keys[i], keys[i + 1].public_key())));
      levels.push_back(std::move(*reencrypt(rks.back(), levels.back())));
    }
  }
};

const Chain& chain() {
  static const Chain c;
  return c;
}

void BM_KeyGen(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(SecretKey::generate());
}
BENCHMARK(BM_KeyGen)->Unit(benchmark::kMicrosecond);

void BM_Enc(benchmark::State& state) {
  const PublicKey& pk = chain().keys[0].public_key();
  for (auto _ : state) benchmark::DoNotOptimize(encapsulate(pk));
}
BENCHMARK(BM_Enc)->Unit(benchmark::kMicrosecond);

void BM_RKGen(benchmark::State& state) {
  const Chain& c = chain();
  for (auto _ : state) benchmark::DoNotOptimize(make_rekey(c.keys[0], c.keys[1].public_key()));
}
BENCHMARK(BM_RKGen)->Unit(benchmark::kMicrosecond);

void BM_ReEnc(benchmark::State& state) {
  const auto level = static_cast<std::size_t>(state.range(0));
  const Chain& c = chain();
  for (auto _ : state) benchmark::DoNotOptimize(reencrypt(c.rks[level - 1], c.levels[level - 1]));
}
BENCHMARK(BM_ReEnc)->DenseRange(1, 5)->Unit(benchmark::kMicrosecond);

void BM_Dec(benchmark::State& state) {
  const auto level = static_cast<std::size_t>(state.range(0));
  const Chain& c = chain();
  for (auto _ : state) {
    benchmark::DoNotOptimize(decapsulate(c.keys[level - 1], c.levels[level - 1]));
  }
}
BENCHMARK(BM_Dec)->DenseRange(1, 6)->Unit(benchmark::kMicrosecond);

void BM_CiphertextDecode(benchmark::State& state) {
  const auto level = static_cast<std::size_t>(state.range(0));
  const std::vector<std::uint8_t> wire = chain().levels[level - 1].encode();
  for (auto _ : state) benchmark::DoNotOptimize(Ciphertext::decode(wire));
}
BENCHMARK(BM_CiphertextDecode)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond);

void BM_PayloadSeal1MiB(benchmark::State& state) {
  const DataKey dk = DataKey::generate();
  const std::string plain(1 << 20, 'x');
  for (auto _ : state) {
    std::istringstream in(plain);
    std::ostringstream out;
    benchmark::DoNotOptimize(seal_payload(dk, ItemBinding{"item", "owner"}, in, out));
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (1 << 20));
}
BENCHMARK(BM_PayloadSeal1MiB)->Unit(benchmark::kMillisecond);

void BM_ShareVerify(benchmark::State& state) {
  auto sharing = split(bls12_381::scalar_random_nonzero(), 3, 5);
  for (auto _ : state)
    benchmark::DoNotOptimize(verify_share(sharing->shares[4], sharing->commitments));
}
BENCHMARK(BM_ShareVerify)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
