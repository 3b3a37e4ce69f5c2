// The item decoders that take attacker-controlled bytes: the wrapped key, the metadata and the
// payload stream, opened with the fixed keys of fixed_keys.h. The seeds are made under those
// keys, so the fuzzer reaches the payload's framing after the first authenticated chunk. Never
// crash; what opens must seal again and open to the same plaintext.
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>

#include "fixed_keys.h"

namespace {

using hopbox::fuzz::kItemBinding;

void check_wrapped_key(std::span<const std::uint8_t> in) {
  auto dk = mupre::unwrap_data_key(hopbox::fuzz::capsule_key(), in, kItemBinding);
  if (!dk) return;
  auto w = mupre::wrap_data_key(hopbox::fuzz::capsule_key(), *dk, kItemBinding);
  if (!w) std::abort();
  auto again = mupre::unwrap_data_key(hopbox::fuzz::capsule_key(), *w, kItemBinding);
  if (!again || !std::ranges::equal(again->bytes(), dk->bytes())) std::abort();
}

void check_metadata(std::span<const std::uint8_t> in) {
  const auto& dk = hopbox::fuzz::data_key();
  auto plain = mupre::open_metadata(dk, kItemBinding, in);
  if (!plain) return;
  auto sealed = mupre::seal_metadata(dk, kItemBinding, *plain);
  if (!sealed) std::abort();
  auto again = mupre::open_metadata(dk, kItemBinding, *sealed);
  if (!again || *again != *plain) std::abort();
}

void check_payload(const std::uint8_t* data, std::size_t size) {
  const auto& dk = hopbox::fuzz::data_key();
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::ostringstream plain;
  if (mupre::open_payload(dk, kItemBinding, in, plain) != mupre::Error::kOk) return;
  std::istringstream again_in(plain.str());
  std::ostringstream sealed;
  if (mupre::seal_payload(dk, kItemBinding, again_in, sealed, 64) != mupre::Error::kOk) {
    std::abort();
  }
  std::istringstream sealed_in(sealed.str());
  std::ostringstream again;
  if (mupre::open_payload(dk, kItemBinding, sealed_in, again) != mupre::Error::kOk ||
      again.str() != plain.str()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  check_wrapped_key(in);
  check_metadata(in);
  check_payload(data, size);
  return 0;
}
