// Group element and scalar decoders: never crash; what decodes re-encodes to the same bytes.
#include <cstdlib>
#include <cstring>

#include "mupre/bls12_381.h"

using namespace mupre::bls12_381;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t which = data[0] % 5;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  std::uint8_t out[kGtSize];
  switch (which) {
    case 0: {
      G1 p;
      if (g1_decode(in, p) == Status::kOk) {
        if (!g1_in_subgroup(p)) std::abort();
        in.size() == kG1CompressedSize ? g1_compress(p, out) : g1_serialize(p, out);
        if (std::memcmp(out, in.data(), in.size()) != 0) std::abort();
      }
      break;
    }
    case 1: {
      G2 p;
      if (g2_decode(in, p) == Status::kOk) {
        if (!g2_in_subgroup(p)) std::abort();
        in.size() == kG2CompressedSize ? g2_compress(p, out) : g2_serialize(p, out);
        if (std::memcmp(out, in.data(), in.size()) != 0) std::abort();
      }
      break;
    }
    case 2: {
      GT a;
      if (gt_decompress(in, a) == Status::kOk) {
        gt_compress(a, out);
        if (std::memcmp(out, in.data(), kGtCompressedSize) != 0) std::abort();
      }
      break;
    }
    case 3: {
      GT a;
      if (gt_from_bytes(in, a) == Status::kOk) {
        gt_to_bytes(a, out);
        if (std::memcmp(out, in.data(), kGtSize) != 0) std::abort();
      }
      break;
    }
    default: {
      Scalar s;
      if (scalar_from_bytes(in, s) == Status::kOk) {
        scalar_to_bytes(s, out);
        if (std::memcmp(out, in.data(), kScalarSize) != 0) std::abort();
      }
      break;
    }
  }
  return 0;
}
