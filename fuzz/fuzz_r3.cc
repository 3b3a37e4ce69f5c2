// Recovery R3's sealed blobs as they arrive from the cloud: a ThresholdRecovery set-up (the
// reply to GetThresholdRecovery). For the protector of fixed_keys.h, the client's opening of its
// shares (hopbox/src/recovery_shares.h) with its recovery key; for every protector, the
// service's opening of the sealed re-encryption key with the secret the shares rebuild. The
// seeds are sealed under those keys. Never crash; every share and key that opens must decode
// and encode to the same bytes.
#include <algorithm>
#include <cstdlib>

#include "fixed_keys.h"
#include "hopbox/threshold.h"
#include "hopbox/v1/hopbox.pb.h"
#include "mupre/pre.h"
#include "recovery_shares.h"

namespace {

namespace fuzz = hopbox::fuzz;
using Bytes = std::vector<std::uint8_t>;

Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

void check_shares(const hopbox::v1::ThresholdRecovery& config,
                  const hopbox::v1::ThresholdRecovery::Protector& p) {
  auto opened = hopbox::r3::open_shares(fuzz::recovery_key(), config.user(), p.user(),
                                        bytes_of(p.shares_capsule()), bytes_of(p.shares_sealed()),
                                        static_cast<std::size_t>(config.protectors_size()));
  const auto* plain = std::get_if<Bytes>(&opened);
  if (plain == nullptr) return;
  if (plain->size() != mupre::kShareSize * static_cast<std::size_t>(config.protectors_size())) {
    std::abort();
  }
  for (std::size_t at = 0; at < plain->size(); at += mupre::kShareSize) {
    const auto in = std::span(*plain).subspan(at).first<mupre::kShareSize>();
    auto share = mupre::Share::decode(in);
    if (!share) continue;  // the service refuses it (its commitments check)
    std::array<std::uint8_t, mupre::kShareSize> out;
    share->encode(out);
    if (!std::ranges::equal(out, in)) std::abort();
  }
}

void check_sealed_rekey(const hopbox::v1::ThresholdRecovery& config,
                        const hopbox::v1::ThresholdRecovery::Protector& p) {
  const auto key = fuzz::r3_sealing_key();
  const auto plain = hopbox::threshold::open(
      key, hopbox::threshold::associated_data("rekey", config.user(), p.user()),
      bytes_of(p.sealed_rekey()));
  if (!plain) return;
  const auto rk = mupre::ReKey::decode(*plain);
  if (rk && !std::ranges::equal(rk->encode(), *plain)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  hopbox::v1::ThresholdRecovery config;
  if (!config.ParseFromArray(data, static_cast<int>(size))) return 0;
  for (const auto& p : config.protectors()) {
    if (p.user() == fuzz::kProtector) check_shares(config, p);
    check_sealed_rekey(config, p);
  }
  return 0;
}
