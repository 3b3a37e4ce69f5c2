// hopbox-bench: what the scheme costs on this machine.
//
//   hopbox-bench table3 [--runs N]
//
// prints the seed paper's Table 3 (KeyGen, RKGen, Enc, ReEnc for levels 1..5, Dec for levels
// 1..6) with our medians beside the paper's server column (AWS c5.xlarge) and the speed-up,
// then the ciphertext size per level beside the paper's 144 + (l-1)·336 bytes. Times are
// medians of N runs of the operation on decoded objects (the service keeps them decoded);
// the cost of decoding and validating the wire format is listed apart.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "mupre/pre.h"

namespace {

using Clock = std::chrono::steady_clock;

double median_ms(int runs, const std::function<void()>& op) {
  op();  // warm up caches and lazily computed values
  std::vector<double> t;
  t.reserve(static_cast<std::size_t>(runs));
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    op();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  const std::size_t n = t.size();
  return n % 2 == 1 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

// The paper's Table 3, cloud server column, in milliseconds.
constexpr double kPaperKeyGen = 0.10, kPaperRkGen = 4.52, kPaperEnc = 3.31;
constexpr double kPaperReEnc[] = {11.42, 15.84, 16.15, 16.45, 16.76};
constexpr double kPaperDec[] = {4.58, 7.53, 10.72, 13.91, 17.10, 20.29};

void row(const char* op, unsigned level, double ours, double paper) {
  std::printf("%-7s %5u %10.3f %10.2f %9.1fx\n", op, level, ours, paper, paper / ours);
}

// Every timed operation's result is checked: a failing or wrong operation is never a
// measurement, and the program then exits 1.
template <class T>
T must(mupre::Result<T> r, const char* what) {
  if (!r) {
    std::fprintf(stderr, "hopbox-bench: %s failed: %s\n", what, mupre::error_message(r.error()));
    std::exit(1);
  }
  return std::move(*r);
}

void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "hopbox-bench: %s gave a wrong result\n", what);
  std::exit(1);
}

bool same_key(const mupre::CapsuleKey& a, const mupre::CapsuleKey& b) {
  return std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin());
}

int table3(int runs) {
  std::printf("mupre v1 on BLS12-381: seed paper Table 3 layout, medians of %d runs (ms)\n", runs);
  std::printf("%-7s %5s %10s %10s %10s\n", "op", "level", "ours", "paper", "speed-up");

  row("KeyGen", 1,
      median_ms(runs,
                [] {
                  const auto k = mupre::SecretKey::generate();
                  expect(k.public_key().encode().size() > 0, "KeyGen");
                }),
      kPaperKeyGen);

  // Seven keys: a chain long enough for level 6.
  std::vector<mupre::SecretKey> keys;
  for (int i = 0; i < 7; ++i) keys.push_back(mupre::SecretKey::generate());
  row("RKGen", 1,
      median_ms(runs,
                [&] { (void)must(mupre::make_rekey(keys[0], keys[1].public_key()), "RKGen"); }),
      kPaperRkGen);
  // Each capsule made is opened again outside the timing: Enc must carry its key.
  std::vector<mupre::Encapsulation> made;
  made.reserve(static_cast<std::size_t>(runs) + 1);
  row("Enc", 1, median_ms(runs, [&] { made.push_back(mupre::encapsulate(keys[0].public_key())); }),
      kPaperEnc);
  for (const auto& e : made) {
    expect(e.capsule.level() == 1 &&
               same_key(must(mupre::decapsulate(keys[0], e.capsule), "Dec"), e.key),
           "Enc");
  }

  std::vector<mupre::ReKey> rks;
  for (int i = 0; i < 6; ++i) {
    rks.push_back(must(mupre::make_rekey(keys[static_cast<std::size_t>(i)],
                                         keys[static_cast<std::size_t>(i) + 1].public_key()),
                       "RKGen"));
  }
  const mupre::Encapsulation fresh = mupre::encapsulate(keys[0].public_key());
  std::vector<mupre::Ciphertext> levels = {fresh.capsule};
  for (std::size_t l = 1; l <= 5; ++l) {
    const mupre::Ciphertext& c = levels.back();
    const mupre::ReKey& rk = rks[l - 1];
    row("ReEnc", static_cast<unsigned>(l),
        median_ms(
            runs,
            [&] { expect(must(mupre::reencrypt(rk, c), "ReEnc").level() == l + 1, "ReEnc"); }),
        kPaperReEnc[l - 1]);
    levels.push_back(must(mupre::reencrypt(rk, c), "ReEnc"));
  }
  // Every level opens to the key the first capsule carried.
  for (std::size_t l = 1; l <= 6; ++l) {
    const mupre::Ciphertext& c = levels[l - 1];
    const mupre::SecretKey& holder = keys[l - 1];
    row("Dec", static_cast<unsigned>(l),
        median_ms(runs,
                  [&] {
                    expect(same_key(must(mupre::decapsulate(holder, c), "Dec"), fresh.key), "Dec");
                  }),
        kPaperDec[l - 1]);
  }

  std::printf("\nciphertext size (bytes)\n%5s %8s %8s   %s\n", "level", "ours", "paper",
              "decode+validate (ms)");
  for (std::size_t l = 1; l <= 6; ++l) {
    const std::vector<std::uint8_t> wire = levels[l - 1].encode();
    const double decode = median_ms(runs, [&] {
      expect(must(mupre::Ciphertext::decode(wire), "decode").level() == l, "decode");
    });
    std::printf("%5zu %8zu %8zu   %.3f\n", l, wire.size(), 144 + (l - 1) * 336, decode);
  }
  const auto rk_wire = rks[0].encode();
  std::printf("\nre-encryption key: %zu bytes (paper 240); decode+validate %.3f ms\n",
              rk_wire.size(),
              median_ms(runs, [&] { (void)must(mupre::ReKey::decode(rk_wire), "ReKey decode"); }));
  return 0;
}

int usage(FILE* to, int code) {
  std::fprintf(to,
               "usage: hopbox-bench table3 [--runs N]\n"
               "Prints the seed paper's Table 3 with this machine's medians (default 31 runs).\n");
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    return usage(stdout, 0);
  }
  if (argc < 2 || std::strcmp(argv[1], "table3") != 0) return usage(stderr, 2);
  int runs = 31;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      char* end = nullptr;
      const long v = std::strtol(argv[++i], &end, 10);
      if (*end != '\0' || v < 1 || v > 100000) {
        std::fprintf(stderr, "hopbox-bench: --runs takes a number from 1 to 100000\n");
        return 2;
      }
      runs = static_cast<int>(v);
    } else {
      return usage(stderr, 2);
    }
  }
  return table3(runs);
}
