// Writes valid encodings of every object as starting corpora for the fuzz targets, so that
// the fuzzers begin past the length and flag checks: make_seeds DIR.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>

#include "certs/item_signature.h"
#include "certs/verify.h"
#include "mupre/item.h"
#include "mupre/shamir.h"

namespace {

namespace fs = std::filesystem;
using namespace mupre;
using namespace mupre::bls12_381;

template <class Bytes>
void write(const fs::path& dir, const std::string& name, const Bytes& bytes, int prefix = -1) {
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  if (prefix >= 0) out.put(static_cast<char>(prefix));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Certificate-side seeds: a chain, a certificate, a revocation list, an item signature.
void write_cert_seeds(const fs::path& dir, const std::vector<std::uint8_t>& mupre_key) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  const hopbox::certs::Bytes spki(der, der + n);
  OPENSSL_free(der);
  const hopbox::certs::Signer sign = [key](std::span<const std::uint8_t> m) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(ctx, nullptr, &len, m.data(), m.size());
    hopbox::certs::Bytes sig(len);
    EVP_DigestSign(ctx, sig.data(), &len, m.data(), m.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    return sig;
  };
  const std::int64_t now = std::time(nullptr);
  const auto root =
      hopbox::certs::issue_certificate({"seed root", spki, {}, 1, now, now + 60}, {}, sign);
  const auto device =
      hopbox::certs::issue_certificate({"seed", spki, mupre_key, 2, now, now + 60}, root, sign);
  write(dir, "chain", hopbox::certs::encode_chain({device, root}), 0);
  write(dir, "certificate", device, 1);
  write(dir, "revocation_list",
        hopbox::certs::sign_revocation_list({now, now + 60, {std::vector<std::uint8_t>(32, 7)}},
                                            sign),
        2);
  write(dir, "item_signature",
        hopbox::certs::encode_item_signature({{device}, sign(std::vector<std::uint8_t>(8))}), 3);
  EVP_PKEY_free(key);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const fs::path root = argv[1];

  const Scalar k = scalar_random_nonzero();
  std::vector<std::uint8_t> b(kGtSize);
  g1_compress(g1_mul_base(k), b.data());
  write(root / "points", "g1", std::span(b).first(kG1CompressedSize), 0);
  g2_compress(g2_mul_base(k), b.data());
  write(root / "points", "g2", std::span(b).first(kG2CompressedSize), 1);
  gt_compress(gt_pow_base(k), b.data());
  write(root / "points", "gt_torus", std::span(b).first(kGtCompressedSize), 2);
  gt_to_bytes(gt_pow_base(k), b.data());
  write(root / "points", "gt", b, 3);
  scalar_to_bytes(k, b.data());
  write(root / "points", "scalar", std::span(b).first(kScalarSize), 4);

  const fs::path objects = root / "scheme_objects";
  const SecretKey a = SecretKey::generate(), c = SecretKey::generate();
  write(objects, "public_key", a.public_key().encode());
  std::array<std::uint8_t, kSecretKeySize> sk;
  a.encode(sk);
  write(objects, "secret_key", sk);
  const Encapsulation e = encapsulate(a.public_key());
  write(objects, "capsule", e.capsule.encode());
  auto rk = make_rekey(a, c.public_key());
  if (!rk) return 1;
  write(objects, "rekey", rk->encode());
  auto level2 = reencrypt(*rk, e.capsule);
  if (!level2) return 1;
  write(objects, "ciphertext_level2", level2->encode());
  auto sharing = split(k, 2, 3);
  if (!sharing) return 1;
  std::array<std::uint8_t, kShareSize> share;
  sharing->shares[0].encode(share);
  write(objects, "share", share);
  write(objects, "commitments", sharing->commitments.encode());

  // Well-formed item objects under keys the fuzz target does not have.
  const ItemBinding binding{"fuzz-item", "fuzz-owner"};
  const DataKey dk = DataKey::generate();
  auto w = wrap_data_key(e.key, dk, binding);
  if (!w) return 1;
  write(root / "item", "wrapped_key", *w);
  const std::vector<std::uint8_t> meta = {'{', '}'};
  auto sealed = seal_metadata(dk, binding, meta);
  if (!sealed) return 1;
  write(root / "item", "metadata", *sealed);
  std::istringstream in(std::string(300, 'x'));
  std::ostringstream out;
  if (seal_payload(dk, binding, in, out, 128) != Error::kOk) return 1;
  write(root / "item", "payload", out.str());
  const auto pk = a.public_key().encode();
  write_cert_seeds(root / "certs", std::vector<std::uint8_t>(pk.begin(), pk.end()));
  return 0;
}
