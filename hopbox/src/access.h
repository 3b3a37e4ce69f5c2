// Access requests name what they ask for sealed (docs/formats.md, "Access requests"): a path is
// secret from the service like every name, so the requester seals it for the owner's primary
// key, bound to who asks whom. Nobody can then pass it off as another requester's request or
// send it to another owner: it opens only for the names it was sealed with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "hopbox/threshold.h"
#include "mupre/error.h"
#include "mupre/keys.h"
#include "mupre/pre.h"
#include "names.h"

namespace hopbox::access {

inline constexpr std::uint8_t kFormat = 0x01;
// The sealed plaintext: a 2-byte big-endian length, the path, zeros up to this size. Every
// request has the same size, so the service does not learn the path's length either.
inline constexpr std::size_t kPaddedPath = 1280;
static_assert(2 + names::kMaxFolder + 1 + names::kMaxComponent <= kPaddedPath);
inline constexpr std::size_t kSealedSize =
    1 + mupre::ciphertext_size(1) + threshold::kOverhead + kPaddedPath;
// The service refuses a larger sealed_item (hopboxd/src/service.cc).
inline constexpr std::size_t kMaxSealedItem = 4096;
static_assert(kSealedSize <= kMaxSealedItem);

// Seals `path` for the owner's primary key (a level-1 capsule and XChaCha20-Poly1305 under its
// key), bound to `requester` and `owner`. REQUIRES: a path within the name rules.
std::string seal(const mupre::PublicKey& owner_primary, const std::string& requester,
                 const std::string& owner, const names::Path& path);

// The path, if `sealed` opens with `key` for exactly this requester and owner and holds a valid
// path. kKeyUnavailable when the key could not be used (token missing): not the request's fault.
mupre::Result<names::Path> open(const mupre::SecretKeySource& key, const std::string& requester,
                                const std::string& owner, const std::string& sealed);

}  // namespace hopbox::access
