// Item authenticity (DESIGN.md): the uploading device signs what identifies and protects an
// item, so that the cloud can neither slip in an item of its own nor move one item's capsule
// into another. The signature travels with the signer's certificate chain.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "certs/certificate.h"
#include "certs/verify.h"

namespace hopbox::certs {

struct ItemFacts {
  std::string owner;
  std::string item_id;
  std::string folder;
  Bytes capsule;  // the level-1 capsule as uploaded (or as refreshed)
  Bytes wrapped_key;
  Bytes metadata;
  Bytes payload_header;
  Bytes payload_sha256;  // of the framed payload chunks, 32 bytes
  // The real name sealed with the owner's name key (issue 13); signed when not empty, so that
  // the cloud can neither move it to another item nor drop it.
  Bytes sealed_name;
};

// The exact bytes that are signed (docs/formats.md, "Item signature").
Bytes item_message(const ItemFacts& facts);

struct ItemSignature {
  std::vector<Bytes> chain;  // the signer's certificates, leaf first, without the root
  Bytes signature;           // DER ECDSA over item_message
};
Bytes encode_item_signature(const ItemSignature& s);
ItemSignature decode_item_signature(std::span<const std::uint8_t> bytes);  // throws CertError

// Verifies chain and signature, and that the signer belongs to the item's owner. Returns the
// signing device. Throws CertError saying why the item is not authentic.
TrustedDevice verify_item(const ItemFacts& facts, const ItemSignature& s, const Bytes& root_der,
                          const RevocationList& revoked, std::int64_t now);

}  // namespace hopbox::certs
