// Hybrid encryption of an item (../shared/spec/mupre.md): a random data key encrypts the
// payload (libsodium secretstream, chunked, so that files larger than memory stream through)
// and the metadata; the capsule key wraps the data key. Replacing the capsule and the wrapped
// key (a level refresh) leaves the payload untouched.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "mupre/error.h"
#include "mupre/keys.h"
#include "mupre/pre.h"

namespace mupre {

inline constexpr std::size_t kDataKeySize = 32;
inline constexpr std::size_t kWrappedKeySize = 2 + 24 + kDataKeySize + 16;  // 74
inline constexpr std::size_t kDefaultChunkSize = 64 * 1024;
inline constexpr std::size_t kMaxChunkSize = 16 * 1024 * 1024;
inline constexpr std::size_t kPayloadHeaderSize = 2 + 4 + 24;  // 30
inline constexpr std::size_t kChunkOverhead = 4 + 17;          // length prefix, tag and MAC
inline constexpr std::size_t kMaxBindingField = 255;
inline constexpr std::size_t kMaxMetadataSize = 1024 * 1024;

// What the wrapped key, metadata and payload are bound to (their associated data): the item's
// id and its owner's identifier, each at most kMaxBindingField bytes. Moving a wrapped key or
// a payload to another item, or to another owner, makes it fail to open.
struct ItemBinding {
  std::string_view item_id;
  std::string_view owner;
};

// The item's random data key. Wiped on destruction.
class DataKey {
 public:
  static DataKey generate();
  DataKey(const DataKey&) = default;
  DataKey& operator=(const DataKey&) = default;
  ~DataKey();
  std::span<const std::uint8_t, kDataKeySize> bytes() const { return bytes_; }

 private:
  DataKey() = default;
  friend struct DataKeyAccess;
  std::array<std::uint8_t, kDataKeySize> bytes_{};
};

// W = AEAD_K(DK), XChaCha20-Poly1305-IETF with a random nonce. 74 bytes.
using WrappedKey = std::array<std::uint8_t, kWrappedKeySize>;

Result<WrappedKey> wrap_data_key(const CapsuleKey& k, const DataKey& dk, const ItemBinding& b);
// kInvalidCiphertext when the key, the binding or any byte of w is wrong.
Result<DataKey> unwrap_data_key(const CapsuleKey& k, std::span<const std::uint8_t> w,
                                const ItemBinding& b);

// Metadata (name, size, type, times: the caller's serialization) encrypted under the data key.
Result<std::vector<std::uint8_t>> seal_metadata(const DataKey& dk, const ItemBinding& b,
                                                std::span<const std::uint8_t> plain);
Result<std::vector<std::uint8_t>> open_metadata(const DataKey& dk, const ItemBinding& b,
                                                std::span<const std::uint8_t> sealed);

// Payload encryption, one chunk at a time. The stream is the header, then each chunk as a
// 4-byte big-endian length and the secretstream message; the last chunk carries the FINAL
// tag. Truncation, reordering, and bytes after the final chunk are detected.
class PayloadSealer {
 public:
  // REQUIRES: 1 <= chunk_size <= kMaxChunkSize, binding fields <= kMaxBindingField bytes.
  static Result<PayloadSealer> begin(const DataKey& dk, const ItemBinding& b,
                                     std::size_t chunk_size = kDefaultChunkSize);
  PayloadSealer(PayloadSealer&&) noexcept;
  PayloadSealer& operator=(PayloadSealer&&) noexcept;
  ~PayloadSealer();

  std::span<const std::uint8_t> header() const;
  std::size_t chunk_size() const;
  // Seals one chunk of at most chunk_size() bytes; `last` marks the end of the payload.
  // After the last chunk, further calls fail with kInvalidArgument.
  Result<std::vector<std::uint8_t>> seal_chunk(std::span<const std::uint8_t> plain, bool last);

 private:
  struct State;
  explicit PayloadSealer(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

class PayloadOpener {
 public:
  static Result<PayloadOpener> begin(const DataKey& dk, const ItemBinding& b,
                                     std::span<const std::uint8_t> header);
  PayloadOpener(PayloadOpener&&) noexcept;
  PayloadOpener& operator=(PayloadOpener&&) noexcept;
  ~PayloadOpener();

  std::size_t chunk_size() const;
  // Opens one framed chunk (length prefix included), as seal_chunk produced it.
  Result<std::vector<std::uint8_t>> open_chunk(std::span<const std::uint8_t> framed);
  // True once the final chunk has been opened: only then is the payload complete.
  bool finished() const;

 private:
  struct State;
  explicit PayloadOpener(std::unique_ptr<State> s);
  std::unique_ptr<State> state_;
};

// Streams a whole payload. open_payload writes plaintext as chunks verify, so on an error
// the caller must discard what was written (write to a temporary file, rename on success).
Error seal_payload(const DataKey& dk, const ItemBinding& b, std::istream& in, std::ostream& out,
                   std::size_t chunk_size = kDefaultChunkSize);
Error open_payload(const DataKey& dk, const ItemBinding& b, std::istream& in, std::ostream& out);

// A level refresh (paper 4.5): a key that can read the item makes a new level-1 capsule for
// `owner` and a new wrapped key. The payload and metadata do not change.
struct Refreshed {
  Ciphertext capsule;
  WrappedKey wrapped_key;
};
Result<Refreshed> refresh(const SecretKeySource& reader, const Ciphertext& current,
                          std::span<const std::uint8_t> wrapped_key, const ItemBinding& b,
                          const PublicKey& owner);

}  // namespace mupre
