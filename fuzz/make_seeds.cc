// Writes valid encodings of every object as starting corpora for the fuzz targets, so that
// the fuzzers begin past the length and flag checks: make_seeds DIR.
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <ctime>

#include <nlohmann/json.hpp>

#include "access.h"
#include "certs/item_signature.h"
#include "certs/verify.h"
#include "fixed_keys.h"
#include "hopbox/threshold.h"
#include "hopbox/v1/hopbox.pb.h"
#include "mupre/hex.h"
#include "mupre/item.h"
#include "mupre/shamir.h"
#include "pairing_code.h"

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

// A P-256 key's SubjectPublicKeyInfo and private key, DER.
struct P256 {
  std::vector<std::uint8_t> spki, private_der;
};
P256 p256() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  unsigned char* der = nullptr;
  const int n = i2d_PUBKEY(key, &der);
  P256 out{{der, der + n}, {}};
  OPENSSL_free(der);
  der = nullptr;
  const int m = i2d_PrivateKey(key, &der);
  out.private_der.assign(der, der + m);
  OPENSSL_free(der);
  EVP_PKEY_free(key);
  return out;
}

// Item objects under the fixed keys fuzz_item opens with: the wrapped key, metadata, and
// payloads of several chunks (64 bytes each), so that the framing after the first
// authenticated chunk is reached.
void write_item_seeds(const fs::path& dir) {
  namespace fuzz = hopbox::fuzz;
  write(dir, "wrapped_key", fuzz::kWrappedDataKey);
  const std::vector<std::uint8_t> meta = {'{', '}'};
  auto sealed = seal_metadata(fuzz::data_key(), fuzz::kItemBinding, meta);
  if (!sealed) std::abort();
  write(dir, "metadata", *sealed);
  for (const std::size_t size : {std::size_t{0}, std::size_t{64}, std::size_t{300}}) {
    std::istringstream in(std::string(size, 'x'));
    std::ostringstream out;
    if (seal_payload(fuzz::data_key(), fuzz::kItemBinding, in, out, 64) != Error::kOk) std::abort();
    write(dir, "payload_" + std::to_string(size), out.str());
  }
}

void write_pairing_seeds(const fs::path& dir, const PublicKey& pk) {
  const std::string code = hopbox::pairing::encode(p256().spki, pk.encode());
  write(dir, "code", code);
  std::string upper = code;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  write(dir, "code_upper_case", upper);
}

// The software keystore's file, written here from the format software_keystore.cc reads (an
// encoder of its own, so the seeds also check that reading), with the cheapest Argon2id it
// accepts: fuzz_software_keystore skips costly ones. Passphrase and label as that fuzzer's.
void write_keystore_seed(const fs::path& dir) {
  constexpr char kPassphrase[] = "fuzz passphrase";
  constexpr unsigned long long kOps = 1;
  constexpr std::size_t kMem = crypto_pwhash_MEMLIMIT_MIN;
  std::vector<std::uint8_t> salt(crypto_pwhash_SALTBYTES);
  randombytes_buf(salt.data(), salt.size());
  std::uint8_t key[32];
  if (crypto_pwhash(key, sizeof key, kPassphrase, sizeof kPassphrase - 1, salt.data(), kOps, kMem,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    std::abort();
  }
  const auto seal = [&key](const std::string& context, std::span<const std::uint8_t> plain) {
    const std::string ad = "hopbox v1 software keystore " + context;
    constexpr std::size_t nonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    std::vector<std::uint8_t> out(nonce + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    randombytes_buf(out.data(), nonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        out.data() + nonce, nullptr, plain.data(), plain.size(),
        reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, out.data(), key);
    return mupre::to_hex(out);
  };
  const P256 signing = p256();
  const nlohmann::json doc = {{"kdf", "argon2id"},
                              {"salt", mupre::to_hex(salt)},
                              {"opslimit", kOps},
                              {"memlimit", kMem},
                              {"check", seal("check", {})},
                              {"keys",
                               {{"fuzz",
                                 {{"signing", seal("signing fuzz", signing.private_der)},
                                  {"public", mupre::to_hex(signing.spki)}}}}}};
  write(dir, "keystore", doc.dump(2));
}

// An R3 set-up as the cloud returns it, sealed under the keys fuzz_r3 opens with: the fixed
// protector's shares for its recovery key, every sealed re-encryption key under the fixed s_i.
void write_r3_seed(const fs::path& dir, const SecretKey& primary) {
  namespace fuzz = hopbox::fuzz;
  namespace threshold = hopbox::threshold;
  const SecretKey other = SecretKey::generate();
  const std::vector<std::pair<std::string, const PublicKey*>> protectors = {
      {fuzz::kProtector, &fuzz::recovery_key().public_key()}, {"dave", &other.public_key()}};
  hopbox::v1::ThresholdRecovery config;
  config.set_user(fuzz::kProtectedUser);
  config.set_threshold(2);
  const auto secret = bls12_381::scalar_from_u64(0x5e);
  auto sharing = split(secret, 2, 2);
  if (!sharing) std::abort();
  const auto commitments = sharing->commitments.encode();
  for (const auto& [user, key] : protectors) {
    auto* p = config.add_protectors();
    p->set_user(user);
    p->set_recovery_key_device(7);
    auto rk = make_rekey(primary, *key);
    if (!rk) std::abort();
    const auto sealed_rekey = threshold::seal(
        fuzz::r3_sealing_key(), threshold::associated_data("rekey", fuzz::kProtectedUser, user),
        rk->encode());
    p->set_sealed_rekey(std::string(sealed_rekey.begin(), sealed_rekey.end()));
    p->set_commitments(std::string(commitments.begin(), commitments.end()));
  }
  // Every protector's secret is the same here: each one's shares are the split's.
  for (std::size_t j = 0; j < protectors.size(); ++j) {
    std::vector<std::uint8_t> mine(protectors.size() * kShareSize);
    for (std::size_t i = 0; i < protectors.size(); ++i) {
      sharing->shares[j].encode(std::span(mine).subspan(i * kShareSize).first<kShareSize>());
    }
    const Encapsulation e = encapsulate(*protectors[j].second);
    const auto capsule = e.capsule.encode();
    const auto sealed = threshold::seal(
        e.key.bytes(),
        threshold::associated_data("shares", fuzz::kProtectedUser, protectors[j].first), mine);
    auto* p = config.mutable_protectors(static_cast<int>(j));
    p->set_shares_capsule(std::string(capsule.begin(), capsule.end()));
    p->set_shares_sealed(std::string(sealed.begin(), sealed.end()));
  }
  write(dir, "setup", config.SerializeAsString());
}

// Each kind of notification a device acts on; the access request sealed for the fixed owner.
void write_notification_seeds(const fs::path& dir, const PublicKey& pk) {
  namespace fuzz = hopbox::fuzz;
  hopbox::v1::Notification n;
  n.set_notification_id(1);
  n.set_from_device_id(2);
  n.set_from_user(fuzz::kRequester);
  n.mutable_pairing_request()->set_device_name("laptop");
  n.mutable_pairing_request()->set_pairing_code(hopbox::pairing::encode(p256().spki, pk.encode()));
  write(dir, "pairing_request", n.SerializeAsString());
  n.mutable_access_request()->set_message("please");
  n.mutable_access_request()->set_sealed_item(
      hopbox::access::seal(fuzz::owner_primary_key().public_key(), fuzz::kRequester,
                           fuzz::kProtectedUser, {"docs/2026", "report.txt"}));
  write(dir, "access_request", n.SerializeAsString());
  n.mutable_access_request()->clear_sealed_item();
  write(dir, "access_request_everything", n.SerializeAsString());
  auto* r = n.mutable_recovery_request();
  r->set_device_id(3);
  r->set_device_name("new phone");
  const auto encoded = pk.encode();
  r->mutable_keys()->set_encryption_key(std::string(encoded.begin(), encoded.end()));
  write(dir, "recovery_request", n.SerializeAsString());
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

  write_item_seeds(root / "item");
  const auto pk = a.public_key().encode();
  write_cert_seeds(root / "certs", std::vector<std::uint8_t>(pk.begin(), pk.end()));
  write_service_seeds(root / "service", e.capsule.encode());
  write_pairing_seeds(root / "pairing_code", a.public_key());
  write_keystore_seed(root / "software_keystore");
  write_r3_seed(root / "r3", a);
  write_notification_seeds(root / "notification", a.public_key());
  return 0;
}
