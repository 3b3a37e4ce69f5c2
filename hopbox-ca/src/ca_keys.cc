#include "ca_keys.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

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

void write_file(const fs::path& p, const std::string& text, bool secret) {
  const fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (secret) fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write);
    out << text;
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, p);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

std::string private_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    BIO_free(bio);
    throw std::runtime_error("cannot encode a private key");
  }
  return bio_text(bio);
}

Bytes spki(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  const int n = i2d_PUBKEY(key, &out);
  if (n <= 0) throw std::runtime_error("cannot encode a public key");
  Bytes b(out, out + n);
  OPENSSL_free(out);
  return b;
}

certs::Signer signer_for(EVP_PKEY* key) {
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

// A server certificate (CA:FALSE, serverAuth) for the CA's own TLS socket, issued by the root.
std::string tls_certificate(EVP_PKEY* root_key, const Bytes& root_der, EVP_PKEY* tls_key,
                            const std::vector<std::string>& names) {
  const unsigned char* p = root_der.data();
  X509* root = d2i_X509(nullptr, &p, static_cast<long>(root_der.size()));
  X509* cert = X509_new();
  std::string san = "DNS:localhost,IP:127.0.0.1";
  for (const auto& n : names) {
    const bool ip = n.find_first_not_of("0123456789.:") == std::string::npos;
    san += (ip ? ",IP:" : ",DNS:") + n;
  }
  bool ok = root != nullptr && cert != nullptr && X509_set_version(cert, 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert), -60) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert), 5 * kYear) != nullptr &&
            X509_set_pubkey(cert, tls_key) == 1 &&
            X509_set_issuer_name(cert, X509_get_subject_name(root)) == 1;
  X509_NAME* name = X509_get_subject_name(cert);
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                        reinterpret_cast<const unsigned char*>("hopbox-ca"), -1, -1,
                                        0) == 1;
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, root, cert, nullptr, nullptr, 0);
  const std::pair<int, std::string> exts[] = {{NID_basic_constraints, "critical,CA:FALSE"},
                                              {NID_ext_key_usage, "serverAuth"},
                                              {NID_subject_alt_name, san},
                                              {NID_authority_key_identifier, "keyid:always"}};
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* e = ok ? X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()) : nullptr;
    ok = e != nullptr && X509_add_ext(cert, e, -1) == 1;
    X509_EXTENSION_free(e);
  }
  ok = ok && X509_sign(cert, root_key, EVP_sha256()) > 0;
  BIO* bio = BIO_new(BIO_s_mem());
  ok = ok && bio != nullptr && PEM_write_bio_X509(bio, cert) == 1;
  X509_free(cert);
  X509_free(root);
  if (!ok) {
    BIO_free(bio);
    throw std::runtime_error("cannot make the TLS certificate");
  }
  return bio_text(bio);
}

}  // namespace

struct CaKeys::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

CaKeys::~CaKeys() = default;

void CaKeys::create(const fs::path& dir, const std::string& ca_name,
                    const std::vector<std::string>& tls_names) {
  if (fs::exists(dir / "ca-key.pem") || fs::exists(dir / "root.pem")) {
    throw std::runtime_error(dir.string() + " already holds a CA");
  }
  fs::create_directories(dir / "tls");
  Key root, tls;
  root.pkey = EVP_EC_gen("P-256");
  tls.pkey = EVP_EC_gen("P-256");
  if (root.pkey == nullptr || tls.pkey == nullptr) throw std::runtime_error("cannot make keys");
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  const Bytes root_der = certs::issue_certificate(
      {ca_name, spki(root.pkey), {}, 1, now - 60, now + 20 * kYear}, {}, signer_for(root.pkey));
  const std::string tls_pem = tls_certificate(root.pkey, root_der, tls.pkey, tls_names);
  write_file(dir / "tls" / "key.pem", private_pem(tls.pkey), true);
  write_file(dir / "tls" / "cert.pem", tls_pem, false);
  write_file(dir / "root.pem", certs::to_pem(root_der), false);
  write_file(dir / "ca-key.pem", private_pem(root.pkey), true);
}

std::unique_ptr<CaKeys> CaKeys::load(const fs::path& dir) {
  std::unique_ptr<CaKeys> k(new CaKeys());
  k->key_ = std::make_unique<Key>();
  const std::string key_pem = read_text(dir / "ca-key.pem");
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  k->key_->pkey = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (k->key_->pkey == nullptr)
    throw std::runtime_error((dir / "ca-key.pem").string() + ": damaged");
  k->root_der_ = certs::from_pem(read_text(dir / "root.pem"));
  if (certs::inspect_certificate(k->root_der_).signing_key != spki(k->key_->pkey)) {
    throw std::runtime_error("root.pem does not belong to ca-key.pem");
  }
  k->tls_certificate_pem = read_text(dir / "tls" / "cert.pem");
  k->tls_private_key_pem = read_text(dir / "tls" / "key.pem");
  return k;
}

certs::Signer CaKeys::signer() const {
  return signer_for(key_->pkey);
}

}  // namespace hopbox_ca
