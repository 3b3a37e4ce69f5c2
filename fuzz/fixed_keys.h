// The keys the fuzz targets open with, fixed and shared with make_seeds: seeds made under them
// authenticate, so the fuzzers start past the first MAC (an item's later chunks, a sealed
// request's plaintext) instead of stopping at it.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>

#include "mupre/item.h"
#include "mupre/keys.h"
#include "mupre/shamir.h"

namespace hopbox::fuzz {

inline const mupre::ItemBinding kItemBinding{"fuzz-item", "fuzz-owner"};

// All zero.
inline const mupre::CapsuleKey& capsule_key() {
  static const mupre::CapsuleKey k;
  return k;
}

// A data key wrapped once under capsule_key() for kItemBinding (made with wrap_data_key; a
// DataKey cannot be built from bytes).
inline constexpr std::array<std::uint8_t, mupre::kWrappedKeySize> kWrappedDataKey = {
    0x05, 0x01, 0xcf, 0x8e, 0x0c, 0x80, 0xa7, 0xf4, 0xcd, 0x8c, 0x7f, 0x36, 0x1f, 0xaa, 0xae,
    0x1e, 0xdd, 0x41, 0x99, 0xa5, 0x18, 0x00, 0xbe, 0x65, 0xf1, 0xcb, 0x59, 0xea, 0xe0, 0x87,
    0x1e, 0x00, 0xf8, 0x07, 0xf8, 0xc5, 0x60, 0x0b, 0xa6, 0x2c, 0x9e, 0xf8, 0x52, 0xd7, 0x5c,
    0xe7, 0xb6, 0x0e, 0x28, 0x5c, 0x5a, 0x89, 0x64, 0x8d, 0x9c, 0xf6, 0x12, 0x98, 0x39, 0xa7,
    0xc9, 0xf8, 0xa6, 0x35, 0xfc, 0x7a, 0x27, 0x96, 0x96, 0xd9, 0xf2, 0x39, 0xa1, 0x8d};

inline const mupre::DataKey& data_key() {
  static const mupre::DataKey k = [] {
    auto dk = mupre::unwrap_data_key(capsule_key(), kWrappedDataKey, kItemBinding);
    if (!dk) std::abort();
    return *dk;
  }();
  return k;
}

// A mupre secret key whose scalar is `n`: the encoding SecretKey::encode writes, with the
// scalar replaced.
inline mupre::SecretKey secret_key(std::uint64_t n) {
  std::array<std::uint8_t, mupre::kSecretKeySize> b;
  mupre::SecretKey::generate().encode(b);
  mupre::bls12_381::scalar_to_bytes(mupre::bls12_381::scalar_from_u64(n), b.data() + 2);
  auto k = mupre::SecretKey::decode(b);
  if (!k) std::abort();
  return std::move(*k);
}

// The keys a sealed access request and R3's shares are opened with.
inline const mupre::SecretKey& owner_primary_key() {
  static const mupre::SecretKey k = secret_key(0x0b0e);
  return k;
}
inline const mupre::SecretKey& recovery_key() {
  static const mupre::SecretKey k = secret_key(0x7ec0);
  return k;
}

// R3: every protector's secret s_i, and the key its re-encryption key is sealed under (as
// hopbox's set_threshold and hopboxd's SubmitRecoveryShares derive it).
inline std::array<std::uint8_t, 32> r3_sealing_key() {
  static constexpr std::uint8_t kInfo[] = {'h', 'o', 'p', 'b', 'o', 'x',
                                           ' ', 'v', '1', ' ', 'R', '3'};
  return mupre::key_from_scalar(mupre::bls12_381::scalar_from_u64(0x5e), kInfo);
}

// The names the fuzzed objects are bound to.
inline constexpr char kProtectedUser[] = "alice";
inline constexpr char kProtector[] = "carol";
inline constexpr char kRequester[] = "bob";

}  // namespace hopbox::fuzz
