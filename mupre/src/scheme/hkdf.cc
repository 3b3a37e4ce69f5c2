#include "hkdf.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>

namespace mupre::detail {

void hkdf_sha256(std::span<std::uint8_t> out, std::span<const std::uint8_t> ikm,
                 std::span<const std::uint8_t> salt, std::span<const std::uint8_t> info) {
  std::uint8_t prk[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, salt.data(), salt.size());
  crypto_auth_hmacsha256_update(&st, ikm.data(), ikm.size());
  crypto_auth_hmacsha256_final(&st, prk);

  std::uint8_t block[crypto_auth_hmacsha256_BYTES];
  std::size_t done = 0;
  for (std::uint8_t counter = 1; done < out.size(); ++counter) {
    crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
    if (counter > 1) crypto_auth_hmacsha256_update(&st, block, sizeof block);
    crypto_auth_hmacsha256_update(&st, info.data(), info.size());
    crypto_auth_hmacsha256_update(&st, &counter, 1);
    crypto_auth_hmacsha256_final(&st, block);
    const std::size_t n = std::min(sizeof block, out.size() - done);
    std::copy_n(block, n, out.begin() + static_cast<std::ptrdiff_t>(done));
    done += n;
  }
  sodium_memzero(prk, sizeof prk);
  sodium_memzero(block, sizeof block);
  sodium_memzero(&st, sizeof st);
}

void ensure_sodium() {
  // sodium_init is thread-safe and idempotent; failure means no usable entropy source.
  static const int ok = sodium_init();
  if (ok < 0) std::abort();
}

}  // namespace mupre::detail
