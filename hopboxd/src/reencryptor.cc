#include "reencryptor.h"

#include <algorithm>

namespace hopboxd {

Reencryptor::Reencryptor(std::size_t cache_entries, unsigned threads) : capacity_(cache_entries) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { worker(); });
}

Reencryptor::~Reencryptor() {
  {
    std::lock_guard lock(pool_mu_);
    stopping_ = true;
  }
  pool_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void Reencryptor::worker() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(pool_mu_);
      pool_cv_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (stopping_ && tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop();
    }
    task();
  }
}

std::optional<std::vector<std::uint8_t>> Reencryptor::lookup(const CacheKey& key) {
  std::lock_guard lock(cache_mu_);
  const auto it = index_.find(key);
  if (it == index_.end()) {
    ++stats_.cache_misses;
    return std::nullopt;
  }
  ++stats_.cache_hits;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->capsule;
}

void Reencryptor::insert(Entry e) {
  std::lock_guard lock(cache_mu_);
  if (capacity_ == 0) return;
  if (const auto it = index_.find(e.key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(std::move(e));
  index_[lru_.front().key] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

mupre::Result<std::vector<std::uint8_t>> Reencryptor::run(const CacheKey& key, const Bytes& capsule,
                                                          const std::vector<ReKeyRecord>& chain) {
  if (chain.empty()) return capsule;
  if (auto hit = lookup(key)) return std::move(*hit);

  auto job = std::make_shared<std::packaged_task<mupre::Result<std::vector<std::uint8_t>>()>>(
      [this, &capsule, &chain]() -> mupre::Result<std::vector<std::uint8_t>> {
        auto c = mupre::Ciphertext::decode(capsule);
        if (!c) return c.error();
        for (const ReKeyRecord& r : chain) {
          auto rk = decoded_rekey(r);
          if (!rk) return rk.error();
          auto next = mupre::reencrypt(**rk, *c);
          if (!next) return next.error();
          c = std::move(*next);
        }
        return c->encode();
      });
  auto result = job->get_future();
  {
    std::lock_guard lock(pool_mu_);
    tasks_.push([job] { (*job)(); });
  }
  pool_cv_.notify_one();
  auto out = result.get();
  if (out) {
    std::lock_guard lock(cache_mu_);
    stats_.reencryptions += chain.size();
  }
  if (out) {
    Entry e{key, *out, {}};
    for (const auto& r : chain) e.edges.push_back(r.id);
    insert(std::move(e));
  }
  return out;
}

mupre::Result<std::shared_ptr<const mupre::ReKey>> Reencryptor::decoded_rekey(
    const ReKeyRecord& r) {
  {
    std::lock_guard lock(cache_mu_);
    if (const auto it = rekeys_.find(r.id); it != rekeys_.end()) return it->second;
  }
  auto rk = mupre::ReKey::decode(r.rekey);
  if (!rk) return rk.error();
  auto shared = std::make_shared<const mupre::ReKey>(std::move(*rk));
  std::lock_guard lock(cache_mu_);
  if (rekeys_.size() >= std::max<std::size_t>(capacity_, 1024)) rekeys_.clear();
  rekeys_[r.id] = shared;
  return shared;
}

void Reencryptor::invalidate_edge(std::int64_t rekey_id) {
  std::lock_guard lock(cache_mu_);
  rekeys_.erase(rekey_id);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (std::find(it->edges.begin(), it->edges.end(), rekey_id) != it->edges.end()) {
      index_.erase(it->key);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

void Reencryptor::invalidate_item(UserId owner, const std::string& item) {
  std::lock_guard lock(cache_mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->key.owner == owner && it->key.item == item) {
      index_.erase(it->key);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

ReencryptionStats Reencryptor::stats() const {
  std::lock_guard lock(cache_mu_);
  return stats_;
}

}  // namespace hopboxd
