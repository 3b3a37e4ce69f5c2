// Borrowing a secret scalar from a SecretKeySource for the length of one operation.
#pragma once

#include <sodium.h>

#include <array>

#include "mupre/keys.h"

namespace mupre::detail {

// Calls f(scalar) with the source's key, then wipes every copy. kKeyUnavailable if the source
// fails. The bytes are reduced mod r without looking at them (no branch on the secret); a
// source is expected to hold a key that SecretKey::generate made, and a wrong or garbled key
// only yields capsule keys that fail to unwrap.
template <class F>
Error with_secret(const SecretKeySource& source, F&& f) {
  std::array<std::uint8_t, bls12_381::kScalarSize> buf{};
  bls12_381::Scalar s{};
  Error e = source.load_secret(buf);
  if (e == Error::kOk) {
    s = bls12_381::scalar_from_bytes_reduce(buf);
    e = f(static_cast<const bls12_381::Scalar&>(s));
  } else {
    e = Error::kKeyUnavailable;
  }
  sodium_memzero(buf.data(), buf.size());
  sodium_memzero(&s, sizeof s);
  return e;
}

}  // namespace mupre::detail
