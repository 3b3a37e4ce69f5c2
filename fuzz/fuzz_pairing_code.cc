// The pairing code (hopbox/src/pairing_code.h), which reaches a primary device from a new one
// through the service. Never crash; a code that decodes must encode to a code that decodes to
// the same keys (the text itself may differ: hexadecimal in either case, a "0x").
#include <cstdlib>
#include <string>

#include "pairing_code.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string code(reinterpret_cast<const char*>(data), size);
  const auto keys = hopbox::pairing::decode(code);
  if (keys && !hopbox::pairing::has_prefix(code)) std::abort();
  if (!keys) return 0;
  if (keys->spki.size() > 255 || keys->public_key.size() != mupre::kPublicKeySize) std::abort();
  std::array<std::uint8_t, mupre::kPublicKeySize> pk;
  std::copy(keys->public_key.begin(), keys->public_key.end(), pk.begin());
  const auto again = hopbox::pairing::decode(hopbox::pairing::encode(keys->spki, pk));
  if (!again || again->spki != keys->spki || again->public_key != keys->public_key) std::abort();
  return 0;
}
