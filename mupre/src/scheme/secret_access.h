// Borrowing a secret scalar from a SecretKeySource for the length of one operation.
#pragma once

#include <sodium.h>

#include <array>

#include "mupre/keys.h"

namespace mupre::detail {

// Calls f(scalar) with the source's key, then wipes every copy. kKeyUnavailable if the source
// fails or hands out something that is not a valid secret key.
template <class F>
Error with_secret(const SecretKeySource& source, F&& f) {
  std::array<std::uint8_t, bls12_381::kScalarSize> buf{};
  bls12_381::Scalar s{};
  Error e = source.load_secret(buf);
  if (e == Error::kOk) {
    const bool valid = bls12_381::scalar_from_bytes(buf, s) == bls12_381::Status::kOk &&
                       !bls12_381::scalar_is_zero(s);
    e = valid ? f(static_cast<const bls12_381::Scalar&>(s)) : Error::kKeyUnavailable;
  } else {
    e = Error::kKeyUnavailable;
  }
  sodium_memzero(buf.data(), buf.size());
  sodium_memzero(&s, sizeof s);
  return e;
}

}  // namespace mupre::detail
