// hopboxd_load: N concurrent clients downloading items at chain lengths 1..4 from a local
// hopboxd, once with the re-encryption cache off (every download re-encrypts) and once with
// it on and warm. Prints re-encryptions per second, p50/p99 latency per chain length, and
// the cache's effect. A download that fails, or arrives through another chain than asked, is
// counted and reported, never measured; any failure makes the program exit 1.
//
//   hopboxd_load [--clients 8] [--seconds 5] [--payload-bytes 1024] [--revoke-share-after S]
//
// --revoke-share-after revokes alice's share to bob S seconds into each run: the downloads
// through it must then fail (NOT_FOUND), which the report names.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "test_client.h"

namespace {

using namespace hopboxd::test;
using Clock = std::chrono::steady_clock;

struct Setup {
  // readers[l - 1] reads alice's items through l re-encryptions.
  std::vector<TestDevice> readers;
  TestDevice owner;
  TestDevice share_from;  // a2: the device whose edge to bob is the share
  std::int64_t share = 0;
};

bool ok(const grpc::Status& s, const char* what) {
  if (!s.ok()) std::fprintf(stderr, "hopboxd_load: %s: %s\n", what, s.error_message().c_str());
  return s.ok();
}

bool prepare(v1::Hopbox::Stub& stub, Setup& s, int items, std::size_t payload_bytes) {
  // alice: a0 -> a1 -> a2 (own devices), a2 -> b0 (share), b0 -> b1 (bob's own).
  TestDevice a1, a2, b0, b1;
  if (!ok(create_account(stub, "alice", s.owner), "account")) return false;
  if (!ok(add_device(stub, s.owner, a1), "device") || !ok(add_device(stub, s.owner, a2), "device"))
    return false;
  if (!ok(create_account(stub, "bob", b0), "account") || !ok(add_device(stub, b0, b1), "device"))
    return false;
  const v1::AccessPolicy all;
  if (!ok(install_rekey(stub, s.owner, a1, v1::REKEY_KIND_OWN_DEVICE, all, nullptr), "rekey") ||
      !ok(install_rekey(stub, a1, a2, v1::REKEY_KIND_OWN_DEVICE, all, nullptr), "rekey") ||
      !ok(install_rekey(stub, a2, b0, v1::REKEY_KIND_SHARE, all, &s.share), "rekey") ||
      !ok(install_rekey(stub, b0, b1, v1::REKEY_KIND_OWN_DEVICE, all, nullptr), "rekey")) {
    return false;
  }
  const std::string payload(payload_bytes, 'x');
  for (int i = 0; i < items; ++i) {
    if (!ok(upload_item(stub, s.owner, "alice", "item-" + std::to_string(i), payload), "upload"))
      return false;
  }
  s.readers = {a1, a2, b0, b1};
  s.share_from = a2;
  return true;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

struct RunResult {
  bool prepared = false;
  std::vector<std::vector<double>> latency_ms;  // per chain length, successful downloads only
  std::uint64_t failures = 0;
  std::map<std::string, std::uint64_t> failure_reasons;
  std::uint64_t reencryptions = 0;
  double seconds = 0;
};

// One download through l + 1 re-encryptions; the reason it failed, or nullopt.
std::optional<std::string> download(v1::Hopbox::Stub& stub, const TestDevice& reader, std::size_t l,
                                    const std::string& item, bool decrypt,
                                    const std::string& payload) {
  std::string plain;
  int hops = 0;
  const grpc::Status s = download_item(stub, reader, "alice", item, plain, &hops, decrypt);
  if (!s.ok()) return "status " + std::to_string(s.error_code()) + ": " + s.error_message();
  if (hops != static_cast<int>(l) + 1) {
    return "came through " + std::to_string(hops) + " re-encryptions, not " + std::to_string(l + 1);
  }
  if (decrypt && plain != payload) return "decrypted to other bytes";
  return std::nullopt;
}

RunResult run(const std::vector<std::string>& server_args, int clients, double seconds,
              std::size_t payload_bytes, double revoke_after) {
  TestServer server(server_args);
  auto stub = server.stub();
  Setup setup;
  constexpr int kItems = 16;
  RunResult r;
  r.latency_ms.resize(4);
  if (!prepare(*stub, setup, kItems, payload_bytes)) return r;
  r.prepared = true;
  const std::string payload(payload_bytes, 'x');
  // Warm-up: one download of every item by every reader (fills the cache when it is on),
  // decrypted and compared.
  for (std::size_t l = 0; l < 4; ++l) {
    for (int i = 0; i < kItems; ++i) {
      if (auto why =
              download(*stub, setup.readers[l], l, "item-" + std::to_string(i), true, payload)) {
        ++r.failures;
        ++r.failure_reasons["warm-up: " + *why];
      }
    }
  }
  auto health = [&] {
    grpc::ClientContext ctx;
    v1::HealthResponse h;
    (void)stub->Health(&ctx, v1::HealthRequest(), &h);
    return h;
  };
  const std::uint64_t before = health().reencryptions();
  std::mutex mu;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto my_stub = server.stub();
      std::vector<std::vector<double>> mine(4);
      std::map<std::string, std::uint64_t> reasons;
      std::uint64_t failures = 0;
      for (int n = 0; Clock::now() < end; ++n) {
        const auto l = static_cast<std::size_t>((c + n) % 4);
        const std::string item = "item-" + std::to_string((c * 7 + n) % kItems);
        const auto t0 = Clock::now();
        // Not decrypted here: the client's own decryption would dominate what is measured.
        if (auto why = download(*my_stub, setup.readers[l], l, item, false, payload)) {
          ++failures;
          ++reasons[*why];
          continue;
        }
        mine[l].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
      std::lock_guard lock(mu);
      for (std::size_t l = 0; l < 4; ++l) {
        r.latency_ms[l].insert(r.latency_ms[l].end(), mine[l].begin(), mine[l].end());
      }
      r.failures += failures;
      for (const auto& [why, count] : reasons) r.failure_reasons[why] += count;
    });
  }
  if (revoke_after > 0) {
    std::this_thread::sleep_for(std::chrono::duration<double>(revoke_after));
    grpc::ClientContext ctx;
    setup.share_from.authorize(ctx);
    v1::RevokeReKeyRequest req;
    req.set_rekey_id(setup.share);
    v1::RevokeReKeyResponse resp;
    (void)ok(stub->RevokeReKey(&ctx, req, &resp), "revoking the share");
  }
  for (auto& t : threads) t.join();
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.reencryptions = health().reencryptions() - before;
  return r;
}

// Prints the run; false if anything failed (then the figures are not a measurement).
bool report(const char* title, const RunResult& r) {
  if (!r.prepared) {
    std::fprintf(stderr, "hopboxd_load: %s: the set-up failed (see above); nothing measured\n",
                 title);
    return false;
  }
  std::size_t downloads = 0;
  for (const auto& v : r.latency_ms) downloads += v.size();
  if (downloads == 0 || r.seconds <= 0) {
    std::printf("%s: no download completed\n", title);
  } else {
    std::printf("%s: %zu downloads in %.1f s (%.0f/s), %.0f re-encryptions/s\n", title, downloads,
                r.seconds, static_cast<double>(downloads) / r.seconds,
                static_cast<double>(r.reencryptions) / r.seconds);
    std::printf("  %-6s %8s %10s %10s\n", "hops", "count", "p50 ms", "p99 ms");
    for (std::size_t l = 0; l < r.latency_ms.size(); ++l) {
      if (r.latency_ms[l].empty()) {
        std::printf("  %-6zu %8d %10s %10s\n", l + 1, 0, "-", "-");
        continue;
      }
      std::printf("  %-6zu %8zu %10.2f %10.2f\n", l + 1, r.latency_ms[l].size(),
                  percentile(r.latency_ms[l], 0.5), percentile(r.latency_ms[l], 0.99));
    }
  }
  if (r.failures == 0) return true;
  std::fprintf(stderr, "hopboxd_load: %s: %llu of %llu downloads failed:\n", title,
               static_cast<unsigned long long>(r.failures),
               static_cast<unsigned long long>(r.failures + downloads));
  for (const auto& [why, count] : r.failure_reasons) {
    std::fprintf(stderr, "  %llu x %s\n", static_cast<unsigned long long>(count), why.c_str());
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hopboxd_load: concurrent downloads through re-encryption chains"};
  int clients = 8;
  double seconds = 5;
  std::size_t payload_bytes = 1024;
  double revoke_after = 0;
  app.add_option("--clients", clients, "concurrent clients")->check(CLI::Range(1, 256));
  app.add_option("--seconds", seconds, "duration of each run")->check(CLI::Range(0.5, 600.0));
  app.add_option("--payload-bytes", payload_bytes, "payload size of each item")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} << 20));
  app.add_option("--revoke-share-after", revoke_after,
                 "revoke alice's share to bob this many seconds into each run")
      ->check(CLI::Range(0.0, 600.0));
  CLI11_PARSE(app, argc, argv);

  std::printf("hopboxd_load: %d clients, %.1f s per run, %zu-byte payloads, %u CPUs\n\n", clients,
              seconds, payload_bytes, std::thread::hardware_concurrency());
  bool all_ok =
      report("cache off (every download re-encrypts)",
             run({"--cache-entries", "0"}, clients, seconds, payload_bytes, revoke_after));
  std::printf("\n");
  all_ok &= report("cache on, warm (every download a hit)",
                   run({}, clients, seconds, payload_bytes, revoke_after));
  return all_ok ? 0 : 1;
}
