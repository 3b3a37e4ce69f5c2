#include "tls.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "hopbox/private_files.h"

namespace hopboxd {

namespace fs = std::filesystem;

std::string read_text_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {

std::string pem_of(EVP_PKEY* key, X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (key != nullptr) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  if (cert != nullptr) PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

void write_private(const fs::path& p, const std::string& text) {
  hopbox::files::write_private_file(p, text);
}

}  // namespace

TlsFiles self_signed_tls(const fs::path& data_dir) {
  const fs::path dir = data_dir / "tls";
  const fs::path cert_path = dir / "cert.pem", key_path = dir / "key.pem";
  if (fs::exists(cert_path) && fs::exists(key_path)) {
    return {read_text_file(cert_path), read_text_file(key_path)};
  }
  hopbox::files::make_private_dir(dir);
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  if (key == nullptr || cert == nullptr) throw std::runtime_error("cannot create TLS key");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san =
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  if (X509_sign(cert, key, EVP_sha256()) == 0) throw std::runtime_error("cannot sign TLS cert");
  TlsFiles out{pem_of(nullptr, cert), pem_of(key, nullptr)};
  X509_free(cert);
  EVP_PKEY_free(key);
  write_private(key_path, out.private_key_pem);
  write_private(cert_path, out.certificate_pem);
  return out;
}

}  // namespace hopboxd
