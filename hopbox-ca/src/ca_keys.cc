#include "ca_keys.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "certs/tls_certificate.h"
#include "certs/verify.h"
#include "hopbox/private_files.h"
#include "token.h"

namespace hopbox_ca {

namespace fs = std::filesystem;
namespace certs = hopbox::certs;

namespace {

constexpr std::int64_t kYear = 365 * 24 * 3600;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every file of the CA's folder is owner-only, secret or not: the folder is the CA's alone.
void write_file(const fs::path& p, const std::string& text) {
  hopbox::files::write_private_file(p, text);
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string private_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    throw std::runtime_error("cannot encode a private key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

Pkey read_private(const fs::path& p) {
  const std::string pem = read_text(p);
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Pkey key(bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr);
  BIO_free(bio);
  if (!key) throw std::runtime_error(p.string() + ": not a private key");
  return key;
}

Bytes spki(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  const int n = i2d_PUBKEY(key, &out);
  if (n <= 0) throw std::runtime_error("cannot encode a public key");
  Bytes b(out, out + n);
  OPENSSL_free(out);
  return b;
}

certs::Signer file_signer(EVP_PKEY* key) {
  return [key](std::span<const std::uint8_t> m) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    Bytes sig;
    if (ctx != nullptr && EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
        EVP_DigestSign(ctx, nullptr, &len, m.data(), m.size()) == 1) {
      sig.resize(len);
      if (EVP_DigestSign(ctx, sig.data(), &len, m.data(), m.size()) != 1) len = 0;
      sig.resize(len);
    }
    EVP_MD_CTX_free(ctx);
    if (sig.empty()) throw certs::CertError("the CA key cannot sign");
    return sig;
  };
}

certs::Signer token_signer(hopbox::Token* token, std::string label) {
  return [token, label](std::span<const std::uint8_t> m) { return token->sign(label, m); };
}

std::unique_ptr<hopbox::Token> open_token(const CaToken& t, const std::string& pin) {
  return hopbox::Token::open(t.module, t.token_label, pin);
}

}  // namespace

struct CaKeys::Key {
  Pkey file_key;
  std::unique_ptr<hopbox::Token> token;
  std::string key_label;
};

CaKeys::~CaKeys() = default;

void CaKeys::create(const fs::path& dir, const std::string& ca_name,
                    const std::vector<std::string>& tls_names, const std::optional<CaToken>& token,
                    const std::string& pin) {
  if (fs::exists(dir / "root.pem")) throw std::runtime_error(dir.string() + " already holds a CA");
  hopbox::files::make_private_dir(dir);
  hopbox::files::make_private_dir(dir / "tls");
  Key root;
  Bytes root_key;
  certs::Signer sign;
  if (token) {
    root.token = open_token(*token, pin);
    root.token->generate_device_keys(token->key_label);
    root_key = root.token->signing_public_key(token->key_label);
    sign = token_signer(root.token.get(), token->key_label);
  } else {
    root.file_key.reset(EVP_EC_gen("P-256"));
    if (!root.file_key) throw std::runtime_error("cannot make the CA key");
    root_key = spki(root.file_key.get());
    sign = file_signer(root.file_key.get());
  }
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  const Bytes root_der =
      certs::issue_certificate({ca_name, root_key, {}, 1, now - 60, now + 20 * kYear}, {}, sign);
  Pkey tls_key(EVP_EC_gen("P-256"));
  if (!tls_key) throw std::runtime_error("cannot make the TLS key");
  std::vector<std::string> names = {"localhost", "127.0.0.1"};
  names.insert(names.end(), tls_names.begin(), tls_names.end());
  // Self-signed, and pinned by clients beside the root: the root certifies devices only, so
  // that a device's key can never vouch for the CA's socket.
  const Bytes tls_der =
      certs::issue_tls_certificate("hopbox-ca TLS", spki(tls_key.get()), names, now - 60,
                                   now + 20 * kYear, {}, file_signer(tls_key.get()));
  write_file(dir / "tls" / "key.pem", private_pem(tls_key.get()));
  write_file(dir / "tls" / "cert.pem", certs::to_pem(tls_der));
  if (token) {
    write_file(dir / "ca-token.json", nlohmann::json{{"module", token->module},
                                                     {"token", token->token_label},
                                                     {"key_label", token->key_label}}
                                              .dump(2) +
                                          "\n");
  } else {
    write_file(dir / "ca-key.pem", private_pem(root.file_key.get()));
  }
  write_file(dir / "root.pem", certs::to_pem(root_der) + certs::to_pem(tls_der));
}

std::unique_ptr<CaKeys> CaKeys::load(const fs::path& dir, const std::function<std::string()>& pin) {
  std::unique_ptr<CaKeys> k(new CaKeys());
  k->key_ = std::make_unique<Key>();
  Bytes root_key;
  if (fs::exists(dir / "ca-token.json")) {
    const auto j = nlohmann::json::parse(read_text(dir / "ca-token.json"), nullptr, false);
    if (!j.is_object() || !j.contains("module") || !j.contains("token") ||
        !j.contains("key_label")) {
      throw std::runtime_error((dir / "ca-token.json").string() + " is damaged");
    }
    const CaToken t{j["module"], j["token"], j["key_label"]};
    k->key_->token = open_token(t, pin());
    k->key_->key_label = t.key_label;
    root_key = k->key_->token->signing_public_key(t.key_label);
  } else {
    k->key_->file_key = read_private(dir / "ca-key.pem");
    root_key = spki(k->key_->file_key.get());
  }
  certs::CaAnchors anchors;
  try {
    anchors = certs::parse_ca_anchors(read_text(dir / "root.pem"));
  } catch (const certs::CertError& e) {
    throw std::runtime_error((dir / "root.pem").string() + ": " + e.what());
  }
  k->root_der_ = anchors.device_root;
  if (certs::inspect_certificate(k->root_der_).signing_key != root_key) {
    throw std::runtime_error("root.pem does not belong to the CA's key");
  }
  k->tls_certificate_pem = read_text(dir / "tls" / "cert.pem");
  k->tls_private_key_pem = read_text(dir / "tls" / "key.pem");
  if (certs::from_pem(k->tls_certificate_pem) != certs::from_pem(anchors.tls_anchor_pem)) {
    throw std::runtime_error("tls/cert.pem is not the TLS certificate that root.pem pins");
  }
  return k;
}

bool CaKeys::in_token() const {
  return key_->token != nullptr;
}

certs::Signer CaKeys::signer() const {
  if (key_->token) return token_signer(key_->token.get(), key_->key_label);
  return file_signer(key_->file_key.get());
}

}  // namespace hopbox_ca
