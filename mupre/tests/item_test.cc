// Hybrid item encryption: wrapped keys, metadata, the chunked payload stream, and refresh.
#include <gtest/gtest.h>

#include <sodium.h>

#include <sstream>
#include <string>
#include <vector>

#include "mupre/item.h"

namespace mupre {
namespace {

const ItemBinding kBinding{"item-7f3a", "alice@example.org"};

std::string random_payload(std::size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), s.size());
  return s;
}

std::string seal(const DataKey& dk, const std::string& plain, std::size_t chunk) {
  std::istringstream in(plain);
  std::ostringstream out;
  EXPECT_EQ(seal_payload(dk, kBinding, in, out, chunk), Error::kOk);
  return out.str();
}

Error open(const DataKey& dk, const std::string& sealed, std::string* plain = nullptr,
           const ItemBinding& b = kBinding) {
  std::istringstream in(sealed);
  std::ostringstream out;
  const Error e = open_payload(dk, b, in, out);
  if (plain != nullptr) *plain = out.str();
  return e;
}

// Offsets of the framed chunks in a sealed stream.
std::vector<std::pair<std::size_t, std::size_t>> chunks_of(const std::string& s) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  std::size_t at = kPayloadHeaderSize;
  while (at < s.size()) {
    const auto b = [&](std::size_t i) { return static_cast<std::size_t>(std::uint8_t(s[at + i])); };
    const std::size_t len = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
    out.emplace_back(at, 4 + len);
    at += 4 + len;
  }
  return out;
}

TEST(Payload, RoundTripsAtChunkBoundariesAndEmpty) {
  const DataKey dk = DataKey::generate();
  for (std::size_t n : {0u, 1u, 99u, 100u, 101u, 1000u, 4096u}) {
    const std::string plain = random_payload(n);
    const std::string sealed = seal(dk, plain, 100);
    std::string back;
    ASSERT_EQ(open(dk, sealed, &back), Error::kOk) << n;
    EXPECT_EQ(back, plain) << n;
    // ceil(n / 100) chunks, and one (empty, final) chunk for an empty payload.
    EXPECT_EQ(chunks_of(sealed).size(), n == 0 ? 1 : (n + 99) / 100) << n;
  }
}

TEST(Payload, StreamsMoreThanOneDefaultChunk) {
  const DataKey dk = DataKey::generate();
  const std::string plain = random_payload(3 * kDefaultChunkSize + 17);
  const std::string sealed = seal(dk, plain, kDefaultChunkSize);
  EXPECT_EQ(chunks_of(sealed).size(), 4u);
  std::string back;
  ASSERT_EQ(open(dk, sealed, &back), Error::kOk);
  EXPECT_EQ(back, plain);
}

TEST(Payload, EveryFlippedByteIsDetected) {
  const DataKey dk = DataKey::generate();
  const std::string sealed = seal(dk, random_payload(250), 100);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    std::string t = sealed;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    EXPECT_NE(open(dk, t), Error::kOk) << "byte " << i;
  }
}

TEST(Payload, TruncationAtAnyPointIsDetected) {
  const DataKey dk = DataKey::generate();
  const std::string sealed = seal(dk, random_payload(250), 100);
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_NE(open(dk, sealed.substr(0, n)), Error::kOk) << n;
  }
  // Dropping the final chunk whole (a clean cut at a chunk boundary) too.
  const auto c = chunks_of(sealed);
  EXPECT_EQ(open(dk, sealed.substr(0, c.back().first)), Error::kInvalidCiphertext);
}

TEST(Payload, ReorderedDuplicatedAndAppendedChunksAreDetected) {
  const DataKey dk = DataKey::generate();
  const std::string sealed = seal(dk, random_payload(350), 100);
  const auto c = chunks_of(sealed);
  ASSERT_EQ(c.size(), 4u);
  const auto chunk = [&](std::size_t i) { return sealed.substr(c[i].first, c[i].second); };
  const std::string header = sealed.substr(0, kPayloadHeaderSize);
  EXPECT_NE(open(dk, header + chunk(1) + chunk(0) + chunk(2) + chunk(3)), Error::kOk);
  EXPECT_NE(open(dk, header + chunk(0) + chunk(0) + chunk(1) + chunk(2) + chunk(3)), Error::kOk);
  EXPECT_NE(open(dk, header + chunk(0) + chunk(2) + chunk(3)), Error::kOk);
  EXPECT_EQ(open(dk, sealed + chunk(3)), Error::kInvalidCiphertext);
  EXPECT_EQ(open(dk, sealed + "x"), Error::kInvalidCiphertext);
}

TEST(Payload, WrongKeyOrOtherItemFails) {
  const DataKey dk = DataKey::generate();
  const std::string sealed = seal(dk, random_payload(50), 100);
  EXPECT_EQ(open(DataKey::generate(), sealed), Error::kInvalidCiphertext);
  EXPECT_EQ(open(dk, sealed, nullptr, ItemBinding{"item-other", kBinding.owner}),
            Error::kInvalidCiphertext);
}

TEST(Payload, SealerRefusesOversizedChunksAndUseAfterTheEnd) {
  const DataKey dk = DataKey::generate();
  auto s = PayloadSealer::begin(dk, kBinding, 10);
  ASSERT_TRUE(s.ok());
  const std::vector<std::uint8_t> eleven(11);
  EXPECT_EQ(s->seal_chunk(eleven, false).error(), Error::kInvalidArgument);
  ASSERT_TRUE(s->seal_chunk(std::span(eleven).first(10), true).ok());
  EXPECT_EQ(s->seal_chunk({}, true).error(), Error::kInvalidArgument);
  EXPECT_EQ(PayloadSealer::begin(dk, kBinding, 0).error(), Error::kInvalidArgument);
  EXPECT_EQ(PayloadSealer::begin(dk, kBinding, kMaxChunkSize + 1).error(), Error::kInvalidArgument);
}

TEST(WrappedKey, UnwrapsOnlyWithTheRightCapsuleKeyAndBinding) {
  const SecretKey owner = SecretKey::generate();
  const Encapsulation e = encapsulate(owner.public_key());
  const DataKey dk = DataKey::generate();
  auto w = wrap_data_key(e.key, dk, kBinding);
  ASSERT_TRUE(w.ok());
  auto back = unwrap_data_key(e.key, *w, kBinding);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::equal(back->bytes().begin(), back->bytes().end(), dk.bytes().begin()));
  EXPECT_EQ(unwrap_data_key(e.key, *w, ItemBinding{"item-other", kBinding.owner}).error(),
            Error::kInvalidCiphertext);
  EXPECT_EQ(unwrap_data_key(e.key, *w, ItemBinding{kBinding.item_id, "mallory"}).error(),
            Error::kInvalidCiphertext);
  const Encapsulation other = encapsulate(owner.public_key());
  EXPECT_EQ(unwrap_data_key(other.key, *w, kBinding).error(), Error::kInvalidCiphertext);
  for (std::size_t i = 0; i < w->size(); ++i) {
    WrappedKey t = *w;
    t[i] ^= 0x80;
    EXPECT_FALSE(unwrap_data_key(e.key, t, kBinding).ok()) << "byte " << i;
  }
  EXPECT_EQ(unwrap_data_key(e.key, std::span(*w).first(kWrappedKeySize - 1), kBinding).error(),
            Error::kMalformed);
}

// The whole path: owner encrypts an item, the cloud re-encrypts the capsule twice, the last
// holder opens the item; a tampered capsule makes the unwrap fail instead of giving a key.
TEST(Item, ReencryptedItemOpensForTheLastHolderAndTamperingIsCaught) {
  const SecretKey a = SecretKey::generate(), b = SecretKey::generate(), c = SecretKey::generate();
  const Encapsulation e = encapsulate(a.public_key());
  const DataKey dk = DataKey::generate();
  auto w = wrap_data_key(e.key, dk, kBinding);
  ASSERT_TRUE(w.ok());
  const std::string plain = random_payload(1000);
  const std::string payload = seal(dk, plain, 256);

  auto ab = make_rekey(a, b.public_key());
  auto bc = make_rekey(b, c.public_key());
  ASSERT_TRUE(ab.ok() && bc.ok());
  auto c2 = reencrypt(*ab, e.capsule);
  ASSERT_TRUE(c2.ok());
  auto c3 = reencrypt(*bc, *c2);
  ASSERT_TRUE(c3.ok());

  auto k = decapsulate(c, *c3);
  ASSERT_TRUE(k.ok());
  auto dk2 = unwrap_data_key(*k, *w, kBinding);
  ASSERT_TRUE(dk2.ok());
  std::string back;
  ASSERT_EQ(open(*dk2, payload, &back), Error::kOk);
  EXPECT_EQ(back, plain);

  const auto bytes = c3->encode();
  for (std::size_t i = 0; i < bytes.size(); i += 7) {
    auto t = bytes;
    t[i] ^= 0x04;
    auto tc = Ciphertext::decode(t);
    if (!tc.ok()) continue;
    auto tk = decapsulate(c, *tc);
    if (!tk.ok()) continue;
    EXPECT_EQ(unwrap_data_key(*tk, *w, kBinding).error(), Error::kInvalidCiphertext)
        << "byte " << i;
  }
}

TEST(Item, MetadataRoundTripsAndIsBoundToTheItem) {
  const DataKey dk = DataKey::generate();
  const std::string meta = R"({"name":"report.pdf","size":1000})";
  const std::vector<std::uint8_t> plain(meta.begin(), meta.end());
  auto sealed = seal_metadata(dk, kBinding, plain);
  ASSERT_TRUE(sealed.ok());
  auto back = open_metadata(dk, kBinding, *sealed);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, plain);
  EXPECT_EQ(open_metadata(dk, ItemBinding{"x", kBinding.owner}, *sealed).error(),
            Error::kInvalidCiphertext);
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    auto t = *sealed;
    t[i] ^= 0x10;
    EXPECT_FALSE(open_metadata(dk, kBinding, t).ok()) << "byte " << i;
  }
  EXPECT_FALSE(open_metadata(dk, kBinding, std::span(*sealed).first(20)).ok());
}

TEST(Item, RefreshMakesALevelOneCapsuleForTheOwnerAndKeepsThePayload) {
  const SecretKey owner = SecretKey::generate(), reader = SecretKey::generate();
  const Encapsulation e = encapsulate(owner.public_key());
  const DataKey dk = DataKey::generate();
  auto w = wrap_data_key(e.key, dk, kBinding);
  ASSERT_TRUE(w.ok());
  auto rk = make_rekey(owner, reader.public_key());
  ASSERT_TRUE(rk.ok());
  auto c2 = reencrypt(*rk, e.capsule);
  ASSERT_TRUE(c2.ok());

  const SecretKey new_owner_key = SecretKey::generate();
  auto fresh = refresh(reader, *c2, *w, kBinding, new_owner_key.public_key());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->capsule.level(), 1u);
  EXPECT_EQ(fresh->capsule.holder(), new_owner_key.public_key().fingerprint());
  auto k = decapsulate(new_owner_key, fresh->capsule);
  ASSERT_TRUE(k.ok());
  auto dk2 = unwrap_data_key(*k, fresh->wrapped_key, kBinding);
  ASSERT_TRUE(dk2.ok());
  EXPECT_TRUE(std::equal(dk2->bytes().begin(), dk2->bytes().end(), dk.bytes().begin()));
  // Someone who cannot read the item cannot refresh it.
  EXPECT_EQ(refresh(owner, *c2, *w, kBinding, owner.public_key()).error(), Error::kWrongHolder);
}

}  // namespace
}  // namespace mupre
