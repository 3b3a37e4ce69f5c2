// Borrowing a secret scalar from a SecretKeySource for the length of one operation.
#pragma once

#include <sodium.h>

#include <array>

#include "hkdf.h"
#include "mupre/keys.h"

namespace mupre::detail {

// Calls f(scalar) with the source's key, then wipes every copy. kKeyUnavailable if the source
// fails. The bytes are reduced mod r without looking at them (no branch on the secret); a
// source is expected to hold a key that SecretKey::generate made, and a wrong or garbled key
// only yields capsule keys that fail to unwrap.
template <class F>
Error with_secret(const SecretKeySource& source, F&& f) {
  ensure_sodium();
  std::array<std::uint8_t, bls12_381::kScalarSize> buf{};
  bls12_381::Scalar s{};
  // Keep the pages of both copies out of swap while they hold the key (best effort: the
  // limit on locked memory may refuse, and the copies are wiped either way).
  const bool locked = sodium_mlock(buf.data(), buf.size()) == 0 && sodium_mlock(&s, sizeof s) == 0;
  Error e = source.load_secret(buf);
  if (e == Error::kOk) {
    s = bls12_381::scalar_from_bytes_reduce(buf);
    e = f(static_cast<const bls12_381::Scalar&>(s));
  } else {
    e = Error::kKeyUnavailable;
  }
  if (locked) {
    sodium_munlock(buf.data(), buf.size());  // wipes too
    sodium_munlock(&s, sizeof s);
  }
  sodium_memzero(buf.data(), buf.size());
  sodium_memzero(&s, sizeof s);
  return e;
}

}  // namespace mupre::detail
