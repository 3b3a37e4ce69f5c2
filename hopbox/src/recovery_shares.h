// What a recovery user's device opens of the protected user's R3 set-up (docs/formats.md): the
// capsule for its recovery key, and under the capsule's key the blob of its shares, one of each
// protector's secret. Both come from the cloud: untrusted input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "mupre/keys.h"

namespace hopbox::r3 {

enum class SharesFailure {
  kDamaged,        // the capsule does not decode
  kNotForThisKey,  // the capsule does not open with the recovery key (or the key is unavailable)
  kDoNotOpen,      // the blob is not authentic for these users, or not one share per protector
};

// The shares (mupre::kShareSize bytes each, protector_count of them), or why not. The caller
// wipes them after use.
std::variant<std::vector<std::uint8_t>, SharesFailure> open_shares(
    const mupre::SecretKeySource& recovery_key, const std::string& protected_user,
    const std::string& protector, std::span<const std::uint8_t> capsule,
    std::span<const std::uint8_t> sealed, std::size_t protector_count);

}  // namespace hopbox::r3
