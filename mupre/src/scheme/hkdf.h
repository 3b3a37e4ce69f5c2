// HKDF-SHA-256 (RFC 5869) on libsodium's HMAC.
#pragma once

#include <cstdint>
#include <span>

namespace mupre::detail {

// REQUIRES: out.size() <= 255 * 32.
void hkdf_sha256(std::span<std::uint8_t> out, std::span<const std::uint8_t> ikm,
                 std::span<const std::uint8_t> salt, std::span<const std::uint8_t> info);

// libsodium must be initialised before its generator or allocator is used; cheap after once.
void ensure_sodium();

}  // namespace mupre::detail
