// Wall-time benchmarks of the mupre v1 scheme and the hybrid layer. Run:
//   build/release/bench/mupre_scheme_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
// (hopbox-bench table3 prints the same operations in the seed paper's layout.)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "mupre/item.h"
#include "mupre/shamir.h"

namespace {

using namespace mupre;

// Every timed result is checked (a failed or wrong operation is an error, never a time).
void expect(benchmark::State& state, bool ok, const char* what) {
  if (!ok) state.SkipWithError(what);
}

bool same_key(const CapsuleKey& a, const CapsuleKey& b) {
  return std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin());
}

// A chain of keys and the ciphertext at every level along it, built once.
struct Chain {
  std::vector<SecretKey> keys;
  std::vector<ReKey> rks;
  std::vector<Ciphertext> levels;
  CapsuleKey key;  // what every level opens to

  Chain() {
    for (int i = 0; i < 7; ++i) keys.push_back(SecretKey::generate());
    Encapsulation e = encapsulate(keys[0].public_key());
    key = e.key;
    levels.push_back(std::move(e.capsule));
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
  for (auto _ : state) {
    SecretKey k = SecretKey::generate();
    benchmark::DoNotOptimize(k);
  }
}
BENCHMARK(BM_KeyGen)->Unit(benchmark::kMicrosecond);

void BM_Enc(benchmark::State& state) {
  const PublicKey& pk = chain().keys[0].public_key();
  const SecretKey& sk = chain().keys[0];
  std::vector<Encapsulation> made;
  for (auto _ : state) made.push_back(encapsulate(pk));
  for (const auto& e : made) {  // each capsule opens to its key (outside the timing)
    auto k = decapsulate(sk, e.capsule);
    if (!k || !same_key(*k, e.key))
      return expect(state, false, "Enc made a capsule that does not open");
  }
}
BENCHMARK(BM_Enc)->Unit(benchmark::kMicrosecond);

void BM_RKGen(benchmark::State& state) {
  const Chain& c = chain();
  bool ok = true;
  for (auto _ : state) {
    auto rk = make_rekey(c.keys[0], c.keys[1].public_key());
    ok = ok && rk.ok();
    benchmark::DoNotOptimize(rk);
  }
  expect(state, ok, "RKGen failed");
}
BENCHMARK(BM_RKGen)->Unit(benchmark::kMicrosecond);

void BM_ReEnc(benchmark::State& state) {
  const auto level = static_cast<std::size_t>(state.range(0));
  const Chain& c = chain();
  bool ok = true;
  for (auto _ : state) {
    auto out = reencrypt(c.rks[level - 1], c.levels[level - 1]);
    ok = ok && out.ok() && out->level() == level + 1;
    benchmark::DoNotOptimize(out);
  }
  expect(state, ok, "ReEnc failed");
}
BENCHMARK(BM_ReEnc)->DenseRange(1, 5)->Unit(benchmark::kMicrosecond);

void BM_Dec(benchmark::State& state) {
  const auto level = static_cast<std::size_t>(state.range(0));
  const Chain& c = chain();
  bool ok = true;
  for (auto _ : state) {
    auto k = decapsulate(c.keys[level - 1], c.levels[level - 1]);
    ok = ok && k.ok() && same_key(*k, c.key);
    benchmark::DoNotOptimize(k);
  }
  expect(state, ok, "Dec failed or gave another key");
}
BENCHMARK(BM_Dec)->DenseRange(1, 6)->Unit(benchmark::kMicrosecond);

void BM_CiphertextDecode(benchmark::State& state) {
  const auto level = static_cast<std::size_t>(state.range(0));
  const std::vector<std::uint8_t> wire = chain().levels[level - 1].encode();
  bool ok = true;
  for (auto _ : state) {
    auto c = Ciphertext::decode(wire);
    ok = ok && c.ok() && c->level() == level;
    benchmark::DoNotOptimize(c);
  }
  expect(state, ok, "decoding failed");
}
BENCHMARK(BM_CiphertextDecode)->Arg(1)->Arg(4)->Unit(benchmark::kMicrosecond);

void BM_PayloadSeal1MiB(benchmark::State& state) {
  const DataKey dk = DataKey::generate();
  const std::string plain(1 << 20, 'x');
  for (auto _ : state) {
    std::istringstream in(plain);
    std::ostringstream out;
    const Error e = seal_payload(dk, ItemBinding{"item", "owner"}, in, out);
    if (e != Error::kOk) return expect(state, false, "sealing failed");
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * (1 << 20));
}
BENCHMARK(BM_PayloadSeal1MiB)->Unit(benchmark::kMillisecond);

void BM_ShareVerify(benchmark::State& state) {
  auto sharing = split(bls12_381::scalar_random_nonzero(), 3, 5);
  bool ok = sharing.ok();
  for (auto _ : state) {
    const bool valid = ok && verify_share(sharing->shares[4], sharing->commitments);
    ok = ok && valid;
    benchmark::DoNotOptimize(valid);
  }
  expect(state, ok, "a valid share did not verify");
}
BENCHMARK(BM_ShareVerify)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
