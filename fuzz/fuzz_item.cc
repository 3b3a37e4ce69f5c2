// The item decoders that take attacker-controlled bytes with a known key: the wrapped key,
// the metadata and the payload stream. Never crash; never accept anything (the fuzzer cannot
// forge a MAC under a key it does not know, so any success is a bug).
#include <cstdlib>
#include <sstream>
#include <string>

#include "mupre/item.h"

namespace {

const mupre::ItemBinding kBinding{"fuzz-item", "fuzz-owner"};

const mupre::CapsuleKey& capsule_key() {
  static const mupre::CapsuleKey k;  // all zero: fixed, and unknown to the fuzzer's inputs
  return k;
}

const mupre::DataKey& data_key() {
  static const mupre::DataKey k = mupre::DataKey::generate();
  return k;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  if (mupre::unwrap_data_key(capsule_key(), in, kBinding).ok()) std::abort();
  if (mupre::open_metadata(data_key(), kBinding, in).ok()) std::abort();
  std::istringstream stream(std::string(reinterpret_cast<const char*>(data), size));
  std::ostringstream out;
  if (mupre::open_payload(data_key(), kBinding, stream, out) == mupre::Error::kOk) std::abort();
  return 0;
}
