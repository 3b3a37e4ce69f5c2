// Re-encryption of capsules along chains, on a thread pool sized to the machine, with a
// bounded LRU cache of results keyed by (owner, item, version, target device). An entry
// remembers the edges of its chain, so revoking an edge drops every entry that used it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "mupre/pre.h"
#include "store.h"

namespace hopboxd {

struct CacheKey {
  UserId owner;
  std::string item;
  std::int64_t version;
  std::int64_t target_device;
  bool operator<(const CacheKey& o) const {
    return std::tie(owner, item, version, target_device) <
           std::tie(o.owner, o.item, o.version, o.target_device);
  }
};

struct ReencryptionStats {
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t reencryptions = 0;
};

class Reencryptor {
 public:
  // threads = 0: one per hardware thread.
  Reencryptor(std::size_t cache_entries, unsigned threads = 0);
  ~Reencryptor();
  Reencryptor(const Reencryptor&) = delete;
  Reencryptor& operator=(const Reencryptor&) = delete;

  // The capsule re-encrypted along `chain` (mupre encodings), from the cache or computed on
  // the pool. An error if a key does not decode or does not fit the chain.
  mupre::Result<std::vector<std::uint8_t>> run(const CacheKey& key, const Bytes& capsule,
                                               const std::vector<ReKeyRecord>& chain);
  void invalidate_edge(std::int64_t rekey_id);
  void invalidate_item(UserId owner, const std::string& item);
  ReencryptionStats stats() const;

 private:
  struct Entry {
    CacheKey key;
    std::vector<std::uint8_t> capsule;
    std::vector<std::int64_t> edges;
  };
  std::optional<std::vector<std::uint8_t>> lookup(const CacheKey& key);
  // Decoding a re-encryption key validates three group elements (about 0.4 ms): keep the
  // decoded keys, dropped on revocation.
  mupre::Result<std::shared_ptr<const mupre::ReKey>> decoded_rekey(const ReKeyRecord& r);
  void insert(Entry e);
  void worker();

  const std::size_t capacity_;
  mutable std::mutex cache_mu_;
  std::list<Entry> lru_;  // front: most recently used
  std::map<CacheKey, std::list<Entry>::iterator> index_;
  ReencryptionStats stats_;
  std::map<std::int64_t, std::shared_ptr<const mupre::ReKey>> rekeys_;  // under cache_mu_

  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::queue<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hopboxd
