// Notification bodies as a device's inbox receives them (hopbox/src/inbox.cc): a Notification
// message, and for each kind the decoding the device does before it asks its user anything: the
// pairing code (pairing_code.h), the sealed item of an access request (access.h, opened with the
// owner's primary key of fixed_keys.h, which the seeds are sealed for) and the new key of a
// recovery request. Never crash; what decodes must encode to what decodes the same.
#include <algorithm>
#include <cstdlib>

#include "access.h"
#include "fixed_keys.h"
#include "hopbox/v1/hopbox.pb.h"
#include "pairing_code.h"

namespace {

namespace fuzz = hopbox::fuzz;
namespace v1 = hopbox::v1;

void check_pairing(const v1::PairingRequest& r) {
  const auto keys = hopbox::pairing::decode(r.pairing_code());
  if (!keys) return;
  std::array<std::uint8_t, mupre::kPublicKeySize> pk;
  if (keys->public_key.size() != pk.size()) std::abort();
  std::copy(keys->public_key.begin(), keys->public_key.end(), pk.begin());
  const auto again = hopbox::pairing::decode(hopbox::pairing::encode(keys->spki, pk));
  if (!again || again->spki != keys->spki || again->public_key != keys->public_key) std::abort();
}

void check_access(const std::string& from_user, const v1::AccessRequest& r) {
  const auto& key = fuzz::owner_primary_key();
  auto path = hopbox::access::open(key, from_user, fuzz::kProtectedUser, r.sealed_item());
  if (!path) return;
  const std::string sealed =
      hopbox::access::seal(key.public_key(), from_user, fuzz::kProtectedUser, *path);
  auto again = hopbox::access::open(key, from_user, fuzz::kProtectedUser, sealed);
  if (!again || again->folder != path->folder || again->name != path->name) std::abort();
}

void check_recovery_request(const v1::RecoveryRequestNotice& r) {
  const std::string& key = r.keys().encryption_key();
  const std::span in(reinterpret_cast<const std::uint8_t*>(key.data()), key.size());
  auto pk = mupre::PublicKey::decode(in);
  if (pk && !std::ranges::equal(pk->encode(), in)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  v1::Notification n;
  if (!n.ParseFromArray(data, static_cast<int>(size))) return 0;
  switch (n.payload_case()) {
    case v1::Notification::kPairingRequest:
      check_pairing(n.pairing_request());
      break;
    case v1::Notification::kAccessRequest:
      check_access(n.from_user(), n.access_request());
      break;
    case v1::Notification::kRecoveryRequest:
      check_recovery_request(n.recovery_request());
      break;
    default:
      break;  // the other kinds carry names and numbers only, compared as they are
  }
  return 0;
}
