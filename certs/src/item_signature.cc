#include "certs/item_signature.h"

#include <algorithm>

#include "openssl_util.h"

namespace hopbox::certs {

namespace {

constexpr char kItemLabel[] = "hopbox v1 item signature";
constexpr std::uint8_t kSignatureFormat = 0x01;

void put_field(Bytes& b, std::span<const std::uint8_t> v) {
  const auto n = static_cast<std::uint32_t>(v.size());
  for (int i = 3; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(n >> (8 * i)));
  b.insert(b.end(), v.begin(), v.end());
}
void put_field(Bytes& b, const std::string& s) {
  put_field(b, std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
}

}  // namespace

Bytes item_message(const ItemFacts& f) {
  if (f.payload_sha256.size() != 32) throw CertError("item: payload digest must be 32 bytes");
  Bytes m(kItemLabel, kItemLabel + sizeof kItemLabel);  // the label and its NUL
  put_field(m, f.owner);
  put_field(m, f.item_id);
  put_field(m, f.folder);
  put_field(m, f.capsule);
  put_field(m, f.wrapped_key);
  put_field(m, f.metadata);
  put_field(m, f.payload_header);
  put_field(m, f.payload_sha256);
  if (!f.sealed_name.empty()) put_field(m, f.sealed_name);  // a ninth field
  return m;
}

Bytes encode_item_signature(const ItemSignature& s) {
  const Bytes chain = encode_chain(s.chain);
  if (s.signature.empty() || s.signature.size() > 255) throw CertError("item signature: size");
  Bytes b;
  b.reserve(2 + s.signature.size() + chain.size());
  b.push_back(kSignatureFormat);
  b.push_back(static_cast<std::uint8_t>(s.signature.size()));
  b.insert(b.end(), s.signature.begin(), s.signature.end());
  b.insert(b.end(), chain.begin(), chain.end());
  return b;
}

ItemSignature decode_item_signature(std::span<const std::uint8_t> b) {
  if (b.empty()) throw CertError("the item is not signed");
  if (b.size() < 2 || b[0] != kSignatureFormat) {
    throw CertError("item signature: unknown format");
  }
  const std::size_t n = b[1];
  if (n == 0 || b.size() < 2 + n) throw CertError("item signature: truncated");
  ItemSignature s;
  s.signature.assign(b.begin() + 2, b.begin() + 2 + static_cast<long>(n));
  s.chain = decode_chain(b.subspan(2 + n));
  return s;
}

TrustedDevice verify_item(const ItemFacts& facts, const ItemSignature& s, const Bytes& root_der,
                          const RevocationList& revoked, std::int64_t now) {
  TrustedDevice signer = verify_device_chain(s.chain, root_der, revoked, now);
  if (signer.identifier != facts.owner) {
    throw CertError("the item's signer is a device of \"" + signer.identifier +
                    "\", not of its owner \"" + facts.owner + "\"");
  }
  if (!verify_signature(signer.signing_key, item_message(facts), s.signature)) {
    throw CertError(
        "the item's signature does not match its contents: it was altered, moved from another "
        "item, or made by someone else");
  }
  return signer;
}

}  // namespace hopbox::certs
