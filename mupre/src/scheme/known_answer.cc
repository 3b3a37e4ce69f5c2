#include "mupre/known_answer.h"

#include "scheme_access.h"

namespace mupre::known_answer {

using detail::SchemeAccess;

Encryption encapsulate_with(const PublicKey& to, const bls12_381::Scalar& m,
                            const bls12_381::Scalar& r) {
  return Encryption{SchemeAccess::encapsulate_with(to, m, r), bls12_381::gt_pow_base(m)};
}

Result<ReKey> make_rekey_with(const SecretKeySource& from, const PublicKey& to,
                              const bls12_381::Scalar& x, const bls12_381::Scalar& s) {
  return SchemeAccess::make_rekey_with(from, to, x, s);
}

bls12_381::G2 h2(const bls12_381::GT& x) {
  return detail::h2(x);
}

std::vector<BlockView> blocks(const Ciphertext& c) {
  std::vector<BlockView> out;
  for (const auto& b : SchemeAccess::blocks(c)) out.push_back(BlockView{b.u1, b.u2});
  return out;
}

ReKeyView parts(const ReKey& rk) {
  return ReKeyView{SchemeAccess::r(rk), SchemeAccess::d1(rk), SchemeAccess::d2(rk)};
}

}  // namespace mupre::known_answer
