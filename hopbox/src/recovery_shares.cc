#include "recovery_shares.h"

#include "hopbox/threshold.h"
#include "mupre/pre.h"
#include "mupre/shamir.h"

namespace hopbox::r3 {

std::variant<std::vector<std::uint8_t>, SharesFailure> open_shares(
    const mupre::SecretKeySource& recovery_key, const std::string& protected_user,
    const std::string& protector, std::span<const std::uint8_t> capsule,
    std::span<const std::uint8_t> sealed, std::size_t protector_count) {
  auto c = mupre::Ciphertext::decode(capsule);
  if (!c) return SharesFailure::kDamaged;
  auto k = mupre::decapsulate(recovery_key, *c);
  if (!k) return SharesFailure::kNotForThisKey;
  auto plain = threshold::open(
      k->bytes(), threshold::associated_data("shares", protected_user, protector), sealed);
  if (!plain || plain->size() != mupre::kShareSize * protector_count) {
    return SharesFailure::kDoNotOpen;
  }
  return std::move(*plain);
}

}  // namespace hopbox::r3
