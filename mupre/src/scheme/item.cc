// Hybrid encryption of an item: data key, wrapped key, metadata, chunked payload, refresh.
#include "mupre/item.h"

#include <sodium.h>

#include <algorithm>
#include <istream>
#include <ostream>

#include "codec.h"
#include "hkdf.h"

namespace mupre {

using detail::ByteReader;

struct DataKeyAccess {
  static DataKey make() { return DataKey(); }
  static std::span<std::uint8_t, kDataKeySize> bytes(DataKey& k) { return k.bytes_; }
};

namespace {

constexpr std::size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kMacSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kStreamABytes = crypto_secretstream_xchacha20poly1305_ABYTES;
static_assert(kStreamABytes + 4 == kChunkOverhead);
static_assert(crypto_secretstream_xchacha20poly1305_HEADERBYTES == 24);

bool binding_ok(const ItemBinding& b) {
  return b.item_id.size() <= kMaxBindingField && b.owner.size() <= kMaxBindingField;
}

// Associated data: a label saying what is protected, the scheme id, and the binding with
// length prefixes (so that no two different bindings give the same bytes).
std::vector<std::uint8_t> associated_data(std::uint8_t format, const ItemBinding& b) {
  static constexpr std::string_view kLabel = "hopbox v1 item";
  std::vector<std::uint8_t> ad(kLabel.size() + 4 + b.item_id.size() + b.owner.size());
  auto p = std::copy(kLabel.begin(), kLabel.end(), ad.begin());
  *p++ = format;
  *p++ = kSchemeMupreV1;
  *p++ = static_cast<std::uint8_t>(b.item_id.size());
  p = std::copy(b.item_id.begin(), b.item_id.end(), p);
  *p++ = static_cast<std::uint8_t>(b.owner.size());
  std::copy(b.owner.begin(), b.owner.end(), p);
  return ad;
}

// The payload's chunks also authenticate the header's chunk size, so that it cannot be altered.
std::vector<std::uint8_t> payload_associated_data(const ItemBinding& b, std::size_t chunk_size) {
  std::vector<std::uint8_t> ad = associated_data(detail::kFormatPayload, b);
  detail::put_u32(ad, static_cast<std::uint32_t>(chunk_size));
  return ad;
}

// Writes v big-endian into the first four bytes of out. REQUIRES: out.size() >= 4.
void store_u32(std::vector<std::uint8_t>& out, std::size_t v) {
  for (std::size_t i = 0; i < 4; ++i) out[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}

}  // namespace

DataKey DataKey::generate() {
  detail::ensure_sodium();
  DataKey k;
  randombytes_buf(k.bytes_.data(), k.bytes_.size());
  return k;
}

DataKey::~DataKey() {
  sodium_memzero(bytes_.data(), bytes_.size());
}

Result<WrappedKey> wrap_data_key(const CapsuleKey& k, const DataKey& dk, const ItemBinding& b) {
  if (!binding_ok(b)) return Error::kInvalidArgument;
  detail::ensure_sodium();
  WrappedKey w;
  w[0] = detail::kFormatWrappedKey;
  w[1] = kSchemeMupreV1;
  std::uint8_t* nonce = w.data() + 2;
  randombytes_buf(nonce, kNonceSize);
  const auto ad = associated_data(detail::kFormatWrappedKey, b);
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceSize, nullptr, dk.bytes().data(),
                                             kDataKeySize, ad.data(), ad.size(), nullptr, nonce,
                                             k.bytes().data());
  return w;
}

Result<DataKey> unwrap_data_key(const CapsuleKey& k, std::span<const std::uint8_t> w,
                                const ItemBinding& b) {
  if (!binding_ok(b)) return Error::kInvalidArgument;
  ByteReader r(w);
  if (const Error e = detail::read_header(r, detail::kFormatWrappedKey); e != Error::kOk) return e;
  std::span<const std::uint8_t> nonce, sealed;
  if (!r.take(kNonceSize, nonce) || !r.take(kDataKeySize + kMacSize, sealed) || !r.at_end()) {
    return Error::kMalformed;
  }
  const auto ad = associated_data(detail::kFormatWrappedKey, b);
  DataKey dk = DataKeyAccess::make();
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(DataKeyAccess::bytes(dk).data(), nullptr, nullptr,
                                                 sealed.data(), sealed.size(), ad.data(), ad.size(),
                                                 nonce.data(), k.bytes().data()) != 0) {
    return Error::kInvalidCiphertext;
  }
  return dk;
}

Result<std::vector<std::uint8_t>> seal_metadata(const DataKey& dk, const ItemBinding& b,
                                                std::span<const std::uint8_t> plain) {
  if (!binding_ok(b) || plain.size() > kMaxMetadataSize) return Error::kInvalidArgument;
  detail::ensure_sodium();
  std::vector<std::uint8_t> out(2 + kNonceSize + plain.size() + kMacSize);
  out[0] = detail::kFormatMetadata;
  out[1] = kSchemeMupreV1;
  std::uint8_t* nonce = out.data() + 2;
  randombytes_buf(nonce, kNonceSize);
  const auto ad = associated_data(detail::kFormatMetadata, b);
  crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + kNonceSize, nullptr, plain.data(),
                                             plain.size(), ad.data(), ad.size(), nullptr, nonce,
                                             dk.bytes().data());
  return out;
}

Result<std::vector<std::uint8_t>> open_metadata(const DataKey& dk, const ItemBinding& b,
                                                std::span<const std::uint8_t> sealed) {
  if (!binding_ok(b)) return Error::kInvalidArgument;
  ByteReader r(sealed);
  if (const Error e = detail::read_header(r, detail::kFormatMetadata); e != Error::kOk) return e;
  std::span<const std::uint8_t> nonce, body;
  if (!r.take(kNonceSize, nonce) || r.remaining() < kMacSize ||
      r.remaining() > kMaxMetadataSize + kMacSize) {
    return Error::kMalformed;
  }
  (void)r.take(r.remaining(), body);
  std::vector<std::uint8_t> out(body.size() - kMacSize);
  const auto ad = associated_data(detail::kFormatMetadata, b);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), nullptr, nullptr, body.data(),
                                                 body.size(), ad.data(), ad.size(), nonce.data(),
                                                 dk.bytes().data()) != 0) {
    sodium_memzero(out.data(), out.size());
    return Error::kInvalidCiphertext;
  }
  return out;
}

// ---- Payload ----

struct PayloadSealer::State {
  crypto_secretstream_xchacha20poly1305_state stream;
  std::vector<std::uint8_t> header;
  std::vector<std::uint8_t> ad;
  std::size_t chunk_size = 0;
  bool finished = false;
  ~State() { sodium_memzero(&stream, sizeof stream); }
};

PayloadSealer::PayloadSealer(std::unique_ptr<State> s) : state_(std::move(s)) {}
PayloadSealer::PayloadSealer(PayloadSealer&&) noexcept = default;
PayloadSealer& PayloadSealer::operator=(PayloadSealer&&) noexcept = default;
PayloadSealer::~PayloadSealer() = default;

Result<PayloadSealer> PayloadSealer::begin(const DataKey& dk, const ItemBinding& b,
                                           std::size_t chunk_size) {
  if (!binding_ok(b) || chunk_size == 0 || chunk_size > kMaxChunkSize) {
    return Error::kInvalidArgument;
  }
  detail::ensure_sodium();
  auto s = std::make_unique<State>();
  s->chunk_size = chunk_size;
  s->ad = payload_associated_data(b, chunk_size);
  detail::put_header(s->header, detail::kFormatPayload);
  detail::put_u32(s->header, static_cast<std::uint32_t>(chunk_size));
  const std::size_t at = s->header.size();
  s->header.resize(kPayloadHeaderSize);
  crypto_secretstream_xchacha20poly1305_init_push(&s->stream, s->header.data() + at,
                                                  dk.bytes().data());
  return PayloadSealer(std::move(s));
}

std::span<const std::uint8_t> PayloadSealer::header() const {
  return state_->header;
}
std::size_t PayloadSealer::chunk_size() const {
  return state_->chunk_size;
}

Result<std::vector<std::uint8_t>> PayloadSealer::seal_chunk(std::span<const std::uint8_t> plain,
                                                            bool last) {
  State& s = *state_;
  if (s.finished || plain.size() > s.chunk_size) return Error::kInvalidArgument;
  std::vector<std::uint8_t> out(4 + plain.size() + kStreamABytes);
  store_u32(out, plain.size() + kStreamABytes);
  const std::uint8_t tag = last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
                                : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
  crypto_secretstream_xchacha20poly1305_push(&s.stream, out.data() + 4, nullptr, plain.data(),
                                             plain.size(), s.ad.data(), s.ad.size(), tag);
  s.finished = last;
  return out;
}

struct PayloadOpener::State {
  crypto_secretstream_xchacha20poly1305_state stream;
  std::vector<std::uint8_t> ad;
  std::size_t chunk_size = 0;
  bool finished = false;
  bool failed = false;
  ~State() { sodium_memzero(&stream, sizeof stream); }
};

PayloadOpener::PayloadOpener(std::unique_ptr<State> s) : state_(std::move(s)) {}
PayloadOpener::PayloadOpener(PayloadOpener&&) noexcept = default;
PayloadOpener& PayloadOpener::operator=(PayloadOpener&&) noexcept = default;
PayloadOpener::~PayloadOpener() = default;

Result<PayloadOpener> PayloadOpener::begin(const DataKey& dk, const ItemBinding& b,
                                           std::span<const std::uint8_t> header) {
  if (!binding_ok(b)) return Error::kInvalidArgument;
  ByteReader r(header);
  if (const Error e = detail::read_header(r, detail::kFormatPayload); e != Error::kOk) return e;
  std::uint32_t chunk_size = 0;
  std::span<const std::uint8_t> stream_header;
  if (!r.u32(chunk_size) || chunk_size == 0 || chunk_size > kMaxChunkSize ||
      !r.take(crypto_secretstream_xchacha20poly1305_HEADERBYTES, stream_header) || !r.at_end()) {
    return Error::kMalformed;
  }
  detail::ensure_sodium();
  auto s = std::make_unique<State>();
  s->chunk_size = chunk_size;
  s->ad = payload_associated_data(b, chunk_size);
  if (crypto_secretstream_xchacha20poly1305_init_pull(&s->stream, stream_header.data(),
                                                      dk.bytes().data()) != 0) {
    return Error::kInvalidCiphertext;
  }
  return PayloadOpener(std::move(s));
}

std::size_t PayloadOpener::chunk_size() const {
  return state_->chunk_size;
}
bool PayloadOpener::finished() const {
  return state_->finished;
}

Result<std::vector<std::uint8_t>> PayloadOpener::open_chunk(std::span<const std::uint8_t> framed) {
  State& s = *state_;
  if (s.failed) return Error::kInvalidCiphertext;
  if (s.finished) {  // anything after the final chunk is an attack or corruption
    s.failed = true;
    return Error::kInvalidCiphertext;
  }
  ByteReader r(framed);
  std::uint32_t length = 0;
  std::span<const std::uint8_t> body;
  if (!r.u32(length) || length < kStreamABytes || length > s.chunk_size + kStreamABytes ||
      !r.take(length, body) || !r.at_end()) {
    s.failed = true;
    return Error::kMalformed;
  }
  std::vector<std::uint8_t> out(length - kStreamABytes);
  std::uint8_t tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&s.stream, out.data(), nullptr, &tag, body.data(),
                                                 body.size(), s.ad.data(), s.ad.size()) != 0 ||
      (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
       tag != crypto_secretstream_xchacha20poly1305_TAG_FINAL)) {
    sodium_memzero(out.data(), out.size());
    s.failed = true;
    return Error::kInvalidCiphertext;
  }
  s.finished = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
  return out;
}

namespace {

// Reads up to n bytes; false only on a stream error other than end of input.
bool read_up_to(std::istream& in, std::vector<std::uint8_t>& buf, std::size_t n) {
  buf.resize(n);
  in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(n));
  buf.resize(static_cast<std::size_t>(in.gcount()));
  return !in.bad();
}

bool write_all(std::ostream& out, std::span<const std::uint8_t> b) {
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  return static_cast<bool>(out);
}

}  // namespace

Error seal_payload(const DataKey& dk, const ItemBinding& b, std::istream& in, std::ostream& out,
                   std::size_t chunk_size) {
  auto sealer = PayloadSealer::begin(dk, b, chunk_size);
  if (!sealer) return sealer.error();
  if (!write_all(out, sealer->header())) return Error::kIo;
  // Read one chunk ahead, so that the last chunk is known when it is sealed.
  std::vector<std::uint8_t> current;
  if (!read_up_to(in, current, chunk_size)) return Error::kIo;
  for (;;) {
    const bool last = current.size() < chunk_size || in.peek() == std::char_traits<char>::eof();
    if (in.bad()) return Error::kIo;
    auto sealed = sealer->seal_chunk(current, last);
    sodium_memzero(current.data(), current.size());
    if (!sealed) return sealed.error();
    if (!write_all(out, *sealed)) return Error::kIo;
    if (last) break;
    if (!read_up_to(in, current, chunk_size)) return Error::kIo;
  }
  return Error::kOk;
}

Error open_payload(const DataKey& dk, const ItemBinding& b, std::istream& in, std::ostream& out) {
  std::vector<std::uint8_t> header;
  if (!read_up_to(in, header, kPayloadHeaderSize)) return Error::kIo;
  if (header.size() < kPayloadHeaderSize) return Error::kMalformed;
  auto opener = PayloadOpener::begin(dk, b, header);
  if (!opener) return opener.error();
  std::vector<std::uint8_t> framed;
  while (!opener->finished()) {
    if (!read_up_to(in, framed, 4)) return Error::kIo;
    if (framed.size() < 4) return Error::kInvalidCiphertext;  // truncated: no final chunk
    const std::uint32_t length = (std::uint32_t{framed[0]} << 24) |
                                 (std::uint32_t{framed[1]} << 16) |
                                 (std::uint32_t{framed[2]} << 8) | std::uint32_t{framed[3]};
    if (length > opener->chunk_size() + kStreamABytes) return Error::kMalformed;
    std::vector<std::uint8_t> body;
    if (!read_up_to(in, body, length)) return Error::kIo;
    if (body.size() < length) return Error::kInvalidCiphertext;
    framed.insert(framed.end(), body.begin(), body.end());
    auto plain = opener->open_chunk(framed);
    if (!plain) return plain.error();
    const bool ok = write_all(out, *plain);
    sodium_memzero(plain->data(), plain->size());
    if (!ok) return Error::kIo;
  }
  if (in.peek() != std::char_traits<char>::eof()) return Error::kInvalidCiphertext;
  return in.bad() ? Error::kIo : Error::kOk;
}

Result<Refreshed> refresh(const SecretKeySource& reader, const Ciphertext& current,
                          std::span<const std::uint8_t> wrapped_key, const ItemBinding& b,
                          const PublicKey& owner) {
  auto k = decapsulate(reader, current);
  if (!k) return k.error();
  auto dk = unwrap_data_key(*k, wrapped_key, b);
  if (!dk) return dk.error();
  Encapsulation fresh = encapsulate(owner);
  auto w = wrap_data_key(fresh.key, *dk, b);
  if (!w) return w.error();
  return Refreshed{std::move(fresh.capsule), *w};
}

}  // namespace mupre
