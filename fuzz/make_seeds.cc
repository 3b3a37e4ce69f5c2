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
#include "hopbox/v1/hopbox.pb.h"
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

// fuzz_service: byte 0 the RPC, byte 1 the caller (0 alice, 1 alice's second device, 2 bob,
// 3 none), then the request, as fuzz_service.cc reads them.
void write_service_seed(const fs::path& dir, const std::string& name, int rpc, int caller,
                        const google::protobuf::Message& m) {
  std::string bytes = {static_cast<char>(rpc), static_cast<char>(caller)};
  bytes += m.SerializeAsString();
  write(dir, name, bytes);
}

void write_service_seeds(const fs::path& dir, const std::vector<std::uint8_t>& capsule) {
  namespace v1 = hopbox::v1;
  v1::DownloadRequest download;
  download.set_owner("alice");
  download.set_item_id("doc");
  write_service_seed(dir, "download_shared", 29, 2, download);
  download.clear_owner();
  write_service_seed(dir, "download_own", 29, 1, download);
  v1::ListItemsRequest list;
  list.set_include_shared(true);
  write_service_seed(dir, "list_shared", 20, 2, list);
  v1::ListDevicesRequest devices;
  devices.set_user("alice");
  write_service_seed(dir, "list_devices", 5, 2, devices);
  v1::RevokeReKeyRequest revoke;
  revoke.set_rekey_id(2);
  write_service_seed(dir, "revoke", 24, 0, revoke);
  v1::InstallReKeyRequest install;
  install.set_kind(v1::REKEY_KIND_SHARE);
  install.mutable_policy()->set_scope(v1::AccessPolicy::SCOPE_LISTED_ITEMS);
  install.mutable_policy()->add_item_ids("doc");
  write_service_seed(dir, "install", 23, 0, install);
  v1::RefreshItemRequest refresh;
  refresh.set_item_id("doc");
  refresh.set_expected_version(1);
  refresh.set_capsule(std::string(capsule.begin(), capsule.end()));
  write_service_seed(dir, "refresh", 22, 0, refresh);
  v1::SendNotificationRequest note;
  note.set_to_device_id(1);
  note.mutable_access_request();
  write_service_seed(dir, "notify", 26, 2, note);
  v1::RequestRecoveryRequest recovery;
  recovery.set_user("alice");
  write_service_seed(dir, "request_recovery", 10, 3, recovery);
  // An upload: header, a payload message and a commit, each prefixed with its length.
  v1::UploadRequest header, payload, commit;
  header.mutable_header()->set_item_id("fuzzed");
  header.mutable_header()->set_capsule(std::string(capsule.begin(), capsule.end()));
  payload.set_payload(std::string(64, 'x'));
  commit.mutable_commit()->set_payload_sha256(std::string(32, '\0'));
  std::string upload = {static_cast<char>(30), 0};
  for (const auto* m : {&header, &payload, &commit}) {
    const std::string b = m->SerializeAsString();
    upload.push_back(static_cast<char>(b.size() >> 8));
    upload.push_back(static_cast<char>(b.size() & 0xff));
    upload += b;
  }
  write(dir, "upload", upload);
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
  write_service_seeds(root / "service", e.capsule.encode());
  return 0;
}
