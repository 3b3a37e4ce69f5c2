#include "keystore.h"

#include <sodium.h>

#include <array>
#include <stdexcept>

namespace hopbox {

namespace {
// What a sealed 32-byte scalar may look like: at most this much overhead (IV, nonce, tag).
constexpr std::size_t kMaxSealOverhead = 64;
}  // namespace

SealedSecretKey SealedSecretKey::create(KeyStore& store, const std::string& key_label) {
  const mupre::SecretKey key = mupre::SecretKey::generate();
  std::array<std::uint8_t, mupre::kSecretKeySize> encoded;
  key.encode(encoded);
  Bytes sealed;
  try {
    sealed = store.seal(key_label, std::span(encoded).subspan(2));
  } catch (...) {
    sodium_memzero(encoded.data(), encoded.size());
    throw;
  }
  sodium_memzero(encoded.data(), encoded.size());
  return SealedSecretKey(store, key_label, std::move(sealed), key.public_key());
}

SealedSecretKey::SealedSecretKey(KeyStore& store, std::string key_label, Bytes sealed,
                                 const mupre::PublicKey& public_key)
    : store_(&store),
      key_label_(std::move(key_label)),
      sealed_(std::move(sealed)),
      public_key_(public_key) {
  if (sealed_.size() <= mupre::bls12_381::kScalarSize ||
      sealed_.size() > mupre::bls12_381::kScalarSize + kMaxSealOverhead) {
    throw std::invalid_argument("sealed key has the wrong size");
  }
}

mupre::Error SealedSecretKey::load_secret(
    std::span<std::uint8_t, mupre::bls12_381::kScalarSize> out) const {
  try {
    return store_->unseal(key_label_, sealed_, out) ? mupre::Error::kOk
                                                    : mupre::Error::kKeyUnavailable;
  } catch (const std::exception&) {
    return mupre::Error::kKeyUnavailable;  // token removed, store unreadable
  }
}

}  // namespace hopbox
