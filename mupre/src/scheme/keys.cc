// Public keys, in-memory secret keys, and the error strings of the scheme layer.
#include "mupre/keys.h"

#include <sodium.h>

#include <mutex>
#include <new>

#include "codec.h"
#include "hkdf.h"

namespace mupre {

using namespace bls12_381;

const char* error_message(Error e) {
  switch (e) {
    case Error::kOk:
      return "ok";
    case Error::kMalformed:
      return "malformed encoding (length or field out of range)";
    case Error::kUnknownFormat:
      return "not the expected kind of object";
    case Error::kUnknownScheme:
      return "unknown scheme id";
    case Error::kBadElement:
      return "group element not valid (encoding, curve or subgroup)";
    case Error::kLevelOutOfRange:
      return "ciphertext level out of range";
    case Error::kWrongHolder:
      return "key does not match the ciphertext's holder";
    case Error::kInvalidCiphertext:
      return "invalid ciphertext (authentication failed)";
    case Error::kKeyUnavailable:
      return "secret key unavailable";
    case Error::kBadShare:
      return "share does not match the commitments";
    case Error::kNotEnoughShares:
      return "not enough distinct shares";
    case Error::kInvalidArgument:
      return "invalid argument";
    case Error::kIo:
      return "input/output error";
  }
  return "unknown error";
}

struct PublicKey::State {
  G1 point;
  std::array<std::uint8_t, kPublicKeySize> encoded;
  Fingerprint fingerprint;
  mutable std::once_flag pairing_once;
  mutable GT pairing;
};

PublicKey PublicKey::from_point(const G1& p) {
  auto s = std::make_shared<State>();
  s->point = p;
  s->encoded[0] = detail::kFormatPublicKey;
  s->encoded[1] = kSchemeMupreV1;
  g1_compress(p, s->encoded.data() + 2);
  crypto_hash_sha256(s->fingerprint.data(), s->encoded.data(), s->encoded.size());
  return PublicKey(std::move(s));
}

Result<PublicKey> PublicKey::decode(std::span<const std::uint8_t> in) {
  detail::ByteReader r(in);
  if (const Error e = detail::read_header(r, detail::kFormatPublicKey); e != Error::kOk) return e;
  std::span<const std::uint8_t> point;
  if (!r.take(kG1CompressedSize, point) || !r.at_end()) return Error::kMalformed;
  G1 p;
  if (g1_decode(point, p) != Status::kOk || g1_is_identity(p)) return Error::kBadElement;
  return from_point(p);
}

std::array<std::uint8_t, kPublicKeySize> PublicKey::encode() const {
  return state_->encoded;
}
const Fingerprint& PublicKey::fingerprint() const {
  return state_->fingerprint;
}
const G1& PublicKey::point() const {
  return state_->point;
}
const GT& PublicKey::pairing_with_g2() const {
  std::call_once(state_->pairing_once,
                 [this] { state_->pairing = pairing(state_->point, g2_generator()); });
  return state_->pairing;
}

void SecretKey::Free::operator()(Scalar* s) const {
  sodium_free(s);  // wipes before releasing
}

SecretKey::SecretKey(const Scalar& s, PublicKey pk) : public_key_(std::move(pk)) {
  detail::ensure_sodium();
  void* mem = sodium_malloc(sizeof(Scalar));
  if (mem == nullptr) throw std::bad_alloc();
  scalar_.reset(new (mem) Scalar(s));
}

SecretKey SecretKey::generate() {
  detail::ensure_sodium();
  Scalar s = scalar_random_nonzero();
  SecretKey key(s, PublicKey::from_point(g1_mul_base(s)));
  sodium_memzero(&s, sizeof s);
  return key;
}

Result<SecretKey> SecretKey::decode(std::span<const std::uint8_t> in) {
  detail::ByteReader r(in);
  if (const Error e = detail::read_header(r, detail::kFormatSecretKey); e != Error::kOk) return e;
  std::span<const std::uint8_t> bytes;
  if (!r.take(kScalarSize, bytes) || !r.at_end()) return Error::kMalformed;
  Scalar s;
  if (scalar_from_bytes(bytes, s) != Status::kOk || scalar_is_zero(s)) return Error::kMalformed;
  SecretKey key(s, PublicKey::from_point(g1_mul_base(s)));
  sodium_memzero(&s, sizeof s);
  return key;
}

void SecretKey::encode(std::span<std::uint8_t, kSecretKeySize> out) const {
  out[0] = detail::kFormatSecretKey;
  out[1] = kSchemeMupreV1;
  scalar_to_bytes(*scalar_, out.data() + 2);
}

SecretKey::SecretKey(SecretKey&& other) noexcept = default;
SecretKey& SecretKey::operator=(SecretKey&& other) noexcept = default;
SecretKey::~SecretKey() = default;

Error SecretKey::load_secret(std::span<std::uint8_t, kScalarSize> out) const {
  if (!scalar_) return Error::kKeyUnavailable;  // moved from
  scalar_to_bytes(*scalar_, out.data());
  return Error::kOk;
}

}  // namespace mupre
