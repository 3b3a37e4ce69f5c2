// Decoders of keys, ciphertexts, re-encryption keys, shares and commitments: never crash;
// what decodes re-encodes to the same bytes (the encodings are canonical).
#include <algorithm>
#include <cstdlib>

#include "mupre/pre.h"
#include "mupre/shamir.h"

namespace {

template <class Bytes>
void same_or_abort(const Bytes& encoded, std::span<const std::uint8_t> in) {
  if (encoded.size() != in.size() || !std::equal(encoded.begin(), encoded.end(), in.begin())) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> in(data, size);
  // The format byte picks the decoder a real caller would use; the others must refuse.
  if (auto pk = mupre::PublicKey::decode(in)) same_or_abort(pk->encode(), in);
  if (auto sk = mupre::SecretKey::decode(in)) {
    std::array<std::uint8_t, mupre::kSecretKeySize> buf;
    sk->encode(buf);
    same_or_abort(buf, in);
  }
  if (auto c = mupre::Ciphertext::decode(in)) {
    if (c->level() < 1 || c->level() > mupre::kMaxLevel) std::abort();
    same_or_abort(c->encode(), in);
  }
  if (auto rk = mupre::ReKey::decode(in)) same_or_abort(rk->encode(), in);
  if (auto share = mupre::Share::decode(in)) {
    std::array<std::uint8_t, mupre::kShareSize> buf;
    share->encode(buf);
    same_or_abort(buf, in);
  }
  if (auto com = mupre::Commitments::decode(in)) same_or_abort(com->encode(), in);
  return 0;
}
