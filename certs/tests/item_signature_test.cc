#include "certs/item_signature.h"

#include <gtest/gtest.h>

#include "test_keys.h"

namespace hopbox::certs {
namespace {

using testing::Hierarchy;
using testing::now;

ItemFacts sample_item() {
  return {"alice",          "report.pdf",    "work",
          Bytes(371, 0x11), Bytes(74, 0x22), Bytes(60, 0x33),
          Bytes(30, 0x44),  Bytes(32, 0x55), {}};
}

ItemSignature sign_on_secondary(const Hierarchy& h, const ItemFacts& f) {
  return {{h.secondary, h.primary}, h.secondary_key.signer()(item_message(f))};
}

TEST(ItemSignature, SignedBySecondaryVerifiesForOwner) {
  Hierarchy h;
  const ItemFacts f = sample_item();
  const ItemSignature s = decode_item_signature(encode_item_signature(sign_on_secondary(h, f)));
  EXPECT_EQ(verify_item(f, s, h.root, {}, now()).signing_key, h.secondary_key.spki());
}

TEST(ItemSignature, EveryChangedFactIsRejected) {
  Hierarchy h;
  const ItemFacts f = sample_item();
  const ItemSignature s = sign_on_secondary(h, f);
  std::vector<ItemFacts> changed(8, f);
  changed[0].owner = "bob";
  changed[1].item_id = "other.pdf";
  changed[2].folder = "private";
  changed[3].capsule[100] ^= 1;
  changed[4].wrapped_key[0] ^= 1;
  changed[5].metadata.push_back(0);
  changed[6].payload_header[29] ^= 1;
  changed[7].payload_sha256[31] ^= 1;
  for (std::size_t i = 0; i < changed.size(); ++i) {
    EXPECT_THROW(verify_item(changed[i], s, h.root, {}, now()), CertError) << "fact " << i;
  }
}

TEST(ItemSignature, SealedNameIsSignedAndCannotBeChangedAddedOrDropped) {
  Hierarchy h;
  ItemFacts named = sample_item();
  named.sealed_name = Bytes(60, 0x66);
  const ItemSignature s = sign_on_secondary(h, named);
  EXPECT_NO_THROW(verify_item(named, s, h.root, {}, now()));
  ItemFacts changed = named;
  changed.sealed_name[10] ^= 1;
  EXPECT_THROW(verify_item(changed, s, h.root, {}, now()), CertError);
  EXPECT_THROW(verify_item(sample_item(), s, h.root, {}, now()), CertError);  // dropped
  // An item signed without one does not take one the cloud adds.
  const ItemSignature plain = sign_on_secondary(h, sample_item());
  EXPECT_THROW(verify_item(named, plain, h.root, {}, now()), CertError);
}

TEST(ItemSignature, SignerOfAnotherUserIsRejected) {
  Hierarchy alice, bob_like;
  ItemFacts f = sample_item();
  // A valid signature by a device whose chain says "alice", on an item claimed for "bob".
  f.owner = "bob";
  const ItemSignature s = sign_on_secondary(alice, f);
  EXPECT_THROW(verify_item(f, s, alice.root, {}, now()), CertError);
}

TEST(ItemSignature, UnsignedOrMalformedBlobIsRejected) {
  EXPECT_THROW(decode_item_signature(Bytes{}), CertError);
  EXPECT_THROW(decode_item_signature(Bytes{0x02, 0x01, 0x00}), CertError);
  EXPECT_THROW(decode_item_signature(Bytes{0x01, 0x40, 0x00}), CertError);
}

}  // namespace
}  // namespace hopbox::certs
