// hopboxd_soak: many clients at once against one hopboxd for a while (uploads, shares,
// revocations, downloads through chains of own-device and share edges, refreshes), checked
// against a model of who may read what. Afterwards, with nothing in flight, every reader is
// checked against every item: what it should read decrypts to its bytes, and nothing else is
// readable. hopboxd's resident memory is sampled every second and its growth reported.
//
//   hopboxd_soak [--minutes 2] [--clients 8] [--users 5]
//
// Exit 0 only if every result matched the model; 1 otherwise, naming the first mismatches.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>
#include <vector>

#include "test_client.h"

namespace {

using namespace hopboxd::test;
using Clock = std::chrono::steady_clock;

struct User {
  std::string name;
  TestDevice primary;  // items are encrypted for it; shares start at it
  TestDevice second;   // reads through primary -> second
};

// What the service should do, as far as the soak knows it. Guarded by mu.
struct Model {
  std::mutex mu;
  std::vector<std::vector<std::pair<std::string, std::string>>> items;  // per owner: id, bytes
  std::map<std::pair<int, int>, std::int64_t> shares;  // owner, reader user -> edge id
  std::map<std::pair<int, int>, int> changing;         // share or revoke in flight per pair
  std::map<std::pair<int, int>, int> generation;       // bumped by every share and revoke
};

struct Tally {
  std::atomic<std::uint64_t> uploads{0}, shares{0}, revokes{0}, refreshes{0}, reads{0},
      refused_as_expected{0}, in_flux{0};
  std::mutex mu;
  std::vector<std::string> mismatches;
  void mismatch(const std::string& what) {
    std::lock_guard lock(mu);
    if (mismatches.size() < 20) mismatches.push_back(what);
  }
  std::size_t mismatch_count() {
    std::lock_guard lock(mu);
    return mismatches.size();
  }
};

std::int64_t rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// Opens the owner's own item with the primary's key and writes a fresh level-1 capsule for
// it (paper 4.5); readers must still read the same bytes.
grpc::Status refresh_item(v1::Hopbox::Stub& stub, const User& u, const std::string& id) {
  v1::DownloadHeader header;
  {
    grpc::ClientContext ctx;
    u.primary.authorize(ctx);
    v1::DownloadRequest req;
    req.set_item_id(id);
    auto reader = stub.Download(&ctx, req);
    v1::DownloadResponse msg;
    while (reader->Read(&msg)) {
      if (msg.has_header()) header = msg.header();
    }
    if (grpc::Status s = reader->Finish(); !s.ok()) return s;
  }
  auto capsule = mupre::Ciphertext::decode(
      std::vector<std::uint8_t>(header.capsule().begin(), header.capsule().end()));
  if (!capsule) return grpc::Status(grpc::StatusCode::DATA_LOSS, "capsule does not decode");
  const std::vector<std::uint8_t> wrapped(header.wrapped_key().begin(), header.wrapped_key().end());
  auto fresh = mupre::refresh(*u.primary.key, *capsule, wrapped, mupre::ItemBinding{id, u.name},
                              u.primary.key->public_key());
  if (!fresh) return grpc::Status(grpc::StatusCode::DATA_LOSS, "refresh failed");
  grpc::ClientContext ctx;
  u.primary.authorize(ctx);
  v1::RefreshItemRequest req;
  req.set_item_id(id);
  req.set_expected_version(header.item().version());
  const auto c = fresh->capsule.encode();
  req.set_capsule(std::string(c.begin(), c.end()));
  req.set_wrapped_key(std::string(fresh->wrapped_key.begin(), fresh->wrapped_key.end()));
  v1::RefreshItemResponse resp;
  return stub.RefreshItem(&ctx, req, &resp);
}

class Soak {
 public:
  Soak(TestServer& server, int users) : server_(server), stub_(server.stub()) {
    for (int i = 0; i < users; ++i) {
      User u;
      u.name = "user" + std::to_string(i);
      must(create_account(*stub_, u.name, u.primary), "creating an account");
      must(add_device(*stub_, u.primary, u.second), "adding a device");
      must(install_rekey(*stub_, u.primary, u.second, v1::REKEY_KIND_OWN_DEVICE, v1::AccessPolicy(),
                         nullptr),
           "installing a device's key");
      users_.push_back(std::move(u));
    }
    model_.items.resize(users_.size());
  }

  void run_client(unsigned seed, Clock::time_point end) {
    auto stub = server_.stub();
    std::mt19937_64 rng(seed);
    const int n = static_cast<int>(users_.size());
    std::uniform_int_distribution<int> pick_user(0, n - 1), pick_op(0, 99);
    for (std::uint64_t i = 0; Clock::now() < end; ++i) {
      const int op = pick_op(rng);
      const int owner = pick_user(rng), reader = pick_user(rng);
      if (op < 15) {
        upload(*stub, owner, rng, seed, i);
      } else if (op < 22) {
        if (owner != reader) share(*stub, owner, reader);
      } else if (op < 27) {
        if (owner != reader) revoke(*stub, owner, reader);
      } else if (op < 32) {
        refresh(*stub, owner, rng);
      } else {
        read(*stub, owner, reader, (rng() & 1) != 0, rng);
      }
    }
  }

  // With nothing in flight: every reader device against every item, on `threads` clients.
  void verify_all(int threads) {
    std::vector<std::tuple<int, std::string, std::string>> all;
    for (int owner = 0; owner < static_cast<int>(users_.size()); ++owner) {
      for (const auto& [id, bytes] : model_.items[static_cast<std::size_t>(owner)]) {
        all.emplace_back(owner, id, bytes);
      }
    }
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        auto stub = server_.stub();
        for (std::size_t i = next++; i < all.size(); i = next++) {
          const auto& [owner, id, bytes] = all[i];
          for (int reader = 0; reader < static_cast<int>(users_.size()); ++reader) {
            for (bool second : {false, true}) check_read(*stub, owner, reader, second, id, bytes);
          }
        }
      });
    }
    for (auto& t : pool) t.join();
  }

  Tally tally;

 private:
  static void must(const grpc::Status& s, const char* what) {
    if (s.ok()) return;
    std::fprintf(stderr, "hopboxd_soak: %s: %s\n", what, s.error_message().c_str());
    std::exit(1);
  }

  void upload(v1::Hopbox::Stub& stub, int owner, std::mt19937_64& rng, unsigned seed,
              std::uint64_t i) {
    const User& u = users_[static_cast<std::size_t>(owner)];
    const std::string id = "s" + std::to_string(seed) + "-" + std::to_string(i);
    std::string bytes(1 + rng() % 32768, '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    const grpc::Status s = upload_item(stub, u.primary, u.name, id, bytes);
    if (!s.ok()) return tally.mismatch("upload of " + id + " refused: " + s.error_message());
    ++tally.uploads;
    std::lock_guard lock(model_.mu);
    model_.items[static_cast<std::size_t>(owner)].emplace_back(id, std::move(bytes));
  }

  void share(v1::Hopbox::Stub& stub, int owner, int reader) {
    const auto pair = std::make_pair(owner, reader);
    {
      std::lock_guard lock(model_.mu);
      if (model_.shares.contains(pair) || model_.changing[pair] > 0) return;
      ++model_.changing[pair];
      ++model_.generation[pair];
    }
    std::int64_t edge = 0;
    const grpc::Status s = install_rekey(stub, users_[static_cast<std::size_t>(owner)].primary,
                                         users_[static_cast<std::size_t>(reader)].primary,
                                         v1::REKEY_KIND_SHARE, v1::AccessPolicy(), &edge);
    std::lock_guard lock(model_.mu);
    --model_.changing[pair];
    ++model_.generation[pair];
    if (!s.ok()) return tally.mismatch("share refused: " + s.error_message());
    model_.shares[pair] = edge;
    ++tally.shares;
  }

  void revoke(v1::Hopbox::Stub& stub, int owner, int reader) {
    const auto pair = std::make_pair(owner, reader);
    std::int64_t edge = 0;
    {
      std::lock_guard lock(model_.mu);
      const auto it = model_.shares.find(pair);
      if (it == model_.shares.end() || model_.changing[pair] > 0) return;
      edge = it->second;
      ++model_.changing[pair];
      ++model_.generation[pair];
    }
    grpc::ClientContext ctx;
    users_[static_cast<std::size_t>(owner)].primary.authorize(ctx);
    v1::RevokeReKeyRequest req;
    req.set_rekey_id(edge);
    v1::RevokeReKeyResponse resp;
    const grpc::Status s = stub.RevokeReKey(&ctx, req, &resp);
    std::lock_guard lock(model_.mu);
    --model_.changing[pair];
    ++model_.generation[pair];
    if (!s.ok()) return tally.mismatch("revoke refused: " + s.error_message());
    model_.shares.erase(pair);
    ++tally.revokes;
  }

  void refresh(v1::Hopbox::Stub& stub, int owner, std::mt19937_64& rng) {
    std::string id;
    {
      std::lock_guard lock(model_.mu);
      const auto& items = model_.items[static_cast<std::size_t>(owner)];
      if (items.empty()) return;
      id = items[rng() % items.size()].first;
    }
    const grpc::Status s = refresh_item(stub, users_[static_cast<std::size_t>(owner)], id);
    // Two clients may refresh the same item at once: one of them is told it changed.
    if (s.error_code() == grpc::StatusCode::ABORTED) return;
    if (!s.ok()) return tally.mismatch("refresh of " + id + " failed: " + s.error_message());
    ++tally.refreshes;
  }

  void read(v1::Hopbox::Stub& stub, int owner, int reader, bool second, std::mt19937_64& rng) {
    std::string id, bytes;
    {
      std::lock_guard lock(model_.mu);
      const auto& items = model_.items[static_cast<std::size_t>(owner)];
      if (items.empty()) return;
      const auto& pick = items[rng() % items.size()];
      id = pick.first;
      bytes = pick.second;
    }
    check_read(stub, owner, reader, second, id, bytes);
  }

  // Reads one item as one device; the outcome must be the model's unless a share between
  // the two users changed meanwhile (then only "never wrong bytes" holds).
  void check_read(v1::Hopbox::Stub& stub, int owner, int reader, bool second, const std::string& id,
                  const std::string& bytes) {
    const auto pair = std::make_pair(owner, reader);
    bool allowed = false, settled = false;
    int generation = 0;
    {
      std::lock_guard lock(model_.mu);
      allowed = owner == reader || model_.shares.contains(pair);
      settled = owner == reader || model_.changing[pair] == 0;
      generation = model_.generation[pair];
    }
    const User& r = users_[static_cast<std::size_t>(reader)];
    std::string plain;
    int hops = 0;
    const grpc::Status s =
        download_item(stub, second ? r.second : r.primary,
                      users_[static_cast<std::size_t>(owner)].name, id, plain, &hops);
    {
      std::lock_guard lock(model_.mu);
      settled = settled && (owner == reader || model_.generation[pair] == generation);
    }
    const std::string who = r.name + (second ? "'s second device" : "'s primary") + " reading " +
                            users_[static_cast<std::size_t>(owner)].name + "/" + id;
    if (s.ok() && plain != bytes) return tally.mismatch(who + ": decrypted to other bytes");
    if (!settled) {
      ++tally.in_flux;
      return;
    }
    if (allowed && !s.ok()) return tally.mismatch(who + ": refused: " + s.error_message());
    if (!allowed && s.ok()) return tally.mismatch(who + ": read without a share");
    if (!allowed && s.error_code() != grpc::StatusCode::NOT_FOUND) {
      return tally.mismatch(who + ": refused with an unexpected status: " + s.error_message());
    }
    const int expected_hops = (owner == reader ? 0 : 1) + (second ? 1 : 0);
    if (s.ok() && hops != expected_hops) {
      return tally.mismatch(who + ": came through " + std::to_string(hops) + " re-encryptions");
    }
    ++(s.ok() ? tally.reads : tally.refused_as_expected);
  }

  TestServer& server_;
  std::unique_ptr<v1::Hopbox::Stub> stub_;
  std::vector<User> users_;
  Model model_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hopboxd_soak: many clients against one hopboxd, checked against a model"};
  double minutes = 2;
  int clients = 8, users = 5;
  app.add_option("--minutes", minutes, "how long the clients run")->check(CLI::Range(0.05, 600.0));
  app.add_option("--clients", clients, "concurrent clients")->check(CLI::Range(1, 128));
  app.add_option("--users", users, "accounts")->check(CLI::Range(2, 50));
  CLI11_PARSE(app, argc, argv);

  TestServer server;
  Soak soak(server, users);
  const pid_t pid = server.pid();
  std::vector<std::int64_t> rss;
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      rss.push_back(rss_kib(pid));
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  });
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double, std::ratio<60>>(minutes));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] { soak.run_client(static_cast<unsigned>(c + 1), end); });
  }
  for (auto& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  done = true;
  sampler.join();
  const std::uint64_t reads_during = soak.tally.reads,
                      refused_during = soak.tally.refused_as_expected;
  soak.verify_all(clients);
  const auto& t = soak.tally;
  std::printf("hopboxd_soak: %d clients, %d users, %.0f s\n", clients, users, seconds);
  std::printf(
      "  during the run: %llu uploads, %llu shares, %llu revocations, %llu refreshes, "
      "%llu reads, %llu refused as expected, %llu while a share changed\n",
      static_cast<unsigned long long>(t.uploads.load()),
      static_cast<unsigned long long>(t.shares.load()),
      static_cast<unsigned long long>(t.revokes.load()),
      static_cast<unsigned long long>(t.refreshes.load()),
      static_cast<unsigned long long>(reads_during),
      static_cast<unsigned long long>(refused_during),
      static_cast<unsigned long long>(t.in_flux.load()));
  std::printf("  final check: %llu reads, %llu refusals, every reader against every item\n",
              static_cast<unsigned long long>(t.reads.load() - reads_during),
              static_cast<unsigned long long>(t.refused_as_expected.load() - refused_during));
  if (rss.size() >= 2) {
    const auto peak = *std::max_element(rss.begin(), rss.end());
    std::printf(
        "  hopboxd RSS: %lld KiB at start, %lld KiB peak, %lld KiB at the end (%+lld KiB)\n",
        static_cast<long long>(rss.front()), static_cast<long long>(peak),
        static_cast<long long>(rss.back()), static_cast<long long>(rss.back() - rss.front()));
  }
  auto& mismatches = soak.tally.mismatches;
  if (!mismatches.empty() || !server.running()) {
    std::fprintf(stderr, "hopboxd_soak: %zu result(s) differ from the model%s:\n",
                 mismatches.size(), server.running() ? "" : " and hopboxd is no longer running");
    for (const auto& m : mismatches) std::fprintf(stderr, "  %s\n", m.c_str());
    return 1;
  }
  std::printf("  every result matched the model\n");
  return 0;
}
