#include "software_keystore.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include <fstream>
#include <optional>
#include <stdexcept>

#include "mupre/hex.h"
#include "state.h"

namespace hopbox {

namespace fs = std::filesystem;

namespace {

constexpr char kFile[] = "software-keys.json";
constexpr std::size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

// The hexadecimal string j[key]. The file is input: a missing key or another type is damage
// (std::runtime_error, as open() promises), never nlohmann's own exceptions.
Bytes unhex(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  std::optional<Bytes> v;
  if (it != j.end() && it->is_string()) v = mupre::from_hex(it->get_ref<const std::string&>());
  if (!v) throw std::runtime_error(std::string("software keystore: ") + key + " is damaged");
  return *v;
}

// A cost field of the key derivation: an unsigned integer only (converting a float that JSON
// allows, such as 1e300, would be undefined behaviour).
std::uint64_t cost(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number_unsigned()) {
    throw std::runtime_error(std::string("software keystore: ") + key + " is damaged");
  }
  return it->get<std::uint64_t>();
}

}  // namespace

SoftwareKeyStore::~SoftwareKeyStore() {
  sodium_memzero(key_, sizeof key_);
}

std::unique_ptr<SoftwareKeyStore> SoftwareKeyStore::open(const fs::path& dir,
                                                         const std::string& passphrase) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium unavailable");
  std::unique_ptr<SoftwareKeyStore> s(new SoftwareKeyStore());
  s->path_ = dir / kFile;
  Bytes salt(crypto_pwhash_SALTBYTES);
  unsigned long long ops = crypto_pwhash_OPSLIMIT_MODERATE;
  std::size_t mem = crypto_pwhash_MEMLIMIT_MODERATE;
  const bool exists = fs::exists(s->path_);
  if (exists) {
    std::ifstream in(s->path_);
    s->doc_ = nlohmann::json::parse(in, nullptr, false);
    const auto kdf = s->doc_.is_object() ? s->doc_.find("kdf") : s->doc_.end();
    const auto keys = s->doc_.is_object() ? s->doc_.find("keys") : s->doc_.end();
    if (kdf == s->doc_.end() || *kdf != "argon2id" || keys == s->doc_.end() || !keys->is_object()) {
      throw std::runtime_error("software keystore " + s->path_.string() + " is damaged");
    }
    salt = unhex(s->doc_, "salt");
    const std::uint64_t file_ops = cost(s->doc_, "opslimit");
    const std::uint64_t file_mem = cost(s->doc_, "memlimit");
    if (salt.size() != crypto_pwhash_SALTBYTES || file_ops > 64 ||
        file_mem > (std::uint64_t{4} << 30)) {
      throw std::runtime_error("software keystore " + s->path_.string() + " is damaged");
    }
    ops = file_ops;
    mem = static_cast<std::size_t>(file_mem);
  } else {
    randombytes_buf(salt.data(), salt.size());
    s->doc_ = {{"kdf", "argon2id"},
               {"warning", "keys protected by a passphrase only; weaker than a hardware token"},
               {"salt", mupre::to_hex(salt)},
               {"opslimit", ops},
               {"memlimit", mem},
               {"keys", nlohmann::json::object()}};
  }
  if (crypto_pwhash(s->key_, sizeof s->key_, passphrase.data(), passphrase.size(), salt.data(), ops,
                    mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("not enough memory for Argon2id");
  }
  if (exists) {
    const Bytes check = unhex(s->doc_, "check");
    std::uint8_t nothing[1];
    if (!s->unseal_with("check", check, std::span(nothing, 0))) {
      throw std::runtime_error("wrong passphrase for the software keystore");
    }
  } else {
    s->doc_["check"] = mupre::to_hex(s->seal_with("check", {}));
  }
  return s;
}

Bytes SoftwareKeyStore::seal_with(const std::string& context,
                                  std::span<const std::uint8_t> plain) const {
  const std::string ad = "hopbox v1 software keystore " + context;
  Bytes out(kNonce + plain.size() + kTag);
  randombytes_buf(out.data(), kNonce);
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kNonce, nullptr, plain.data(), plain.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, out.data(), key_);
  return out;
}

bool SoftwareKeyStore::unseal_with(const std::string& context, std::span<const std::uint8_t> sealed,
                                   std::span<std::uint8_t> out) const {
  if (sealed.size() != kNonce + out.size() + kTag) return false;
  const std::string ad = "hopbox v1 software keystore " + context;
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             out.data(), nullptr, nullptr, sealed.data() + kNonce, sealed.size() - kNonce,
             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), sealed.data(),
             key_) == 0;
}

void SoftwareKeyStore::save() const {
  write_file_atomically(path_, doc_.dump(2) + "\n");
}

bool SoftwareKeyStore::has_device_keys(const std::string& key_label) {
  return doc_["keys"].contains(key_label);
}

void SoftwareKeyStore::delete_device_keys(const std::string& key_label) {
  if (!has_device_keys(key_label)) return;
  doc_["keys"].erase(key_label);
  save();
}

void SoftwareKeyStore::generate_device_keys(const std::string& key_label) {
  if (has_device_keys(key_label)) throw std::runtime_error("keys " + key_label + " exist already");
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) throw std::runtime_error("cannot make a P-256 key");
  unsigned char* der = nullptr;
  const int n = i2d_PrivateKey(key, &der);
  unsigned char* pub = nullptr;
  const int m = i2d_PUBKEY(key, &pub);
  EVP_PKEY_free(key);
  if (n <= 0 || m <= 0) throw std::runtime_error("cannot encode the P-256 key");
  const Bytes sealed =
      seal_with("signing " + key_label, std::span(der, static_cast<std::size_t>(n)));
  OPENSSL_cleanse(der, static_cast<std::size_t>(n));
  OPENSSL_free(der);
  doc_["keys"][key_label] = {
      {"signing", mupre::to_hex(sealed)},
      {"public", mupre::to_hex(std::span(pub, static_cast<std::size_t>(m)))}};
  OPENSSL_free(pub);
  save();
}

Bytes SoftwareKeyStore::signing_public_key(const std::string& key_label) {
  if (!has_device_keys(key_label)) throw std::runtime_error("no keys " + key_label);
  return unhex(doc_["keys"][key_label], "public");
}

Bytes SoftwareKeyStore::sign(const std::string& key_label, std::span<const std::uint8_t> message) {
  if (!has_device_keys(key_label)) throw std::runtime_error("no keys " + key_label);
  const Bytes sealed = unhex(doc_["keys"][key_label], "signing");
  if (sealed.size() <= kNonce + kTag) throw std::runtime_error("software keystore is damaged");
  Bytes der(sealed.size() - kNonce - kTag);
  if (!unseal_with("signing " + key_label, sealed, der)) {
    throw std::runtime_error("software keystore is damaged");
  }
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size()));
  sodium_memzero(der.data(), der.size());
  if (key == nullptr) throw std::runtime_error("software keystore is damaged");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::size_t len = 0;
  Bytes sig;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len, message.data(), message.size()) == 1) {
    sig.resize(len);
    if (EVP_DigestSign(ctx, sig.data(), &len, message.data(), message.size()) != 1) sig.clear();
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (sig.empty()) throw std::runtime_error("signing failed");
  return sig;
}

Bytes SoftwareKeyStore::seal(const std::string& key_label, std::span<const std::uint8_t> plain) {
  return seal_with("seal " + key_label, plain);
}

bool SoftwareKeyStore::unseal(const std::string& key_label, std::span<const std::uint8_t> sealed,
                              std::span<std::uint8_t> out) {
  return unseal_with("seal " + key_label, sealed, out);
}

}  // namespace hopbox
