#include "certs/certificate.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include "openssl_util.h"

namespace hopbox::certs {

using detail::X509Ptr;

namespace {

constexpr std::size_t kEncryptionKeySize = 50;
constexpr std::size_t kMaxCertificate = 16 * 1024;
constexpr std::size_t kMaxChain = 16;

// SEQUENCE { INTEGER 1, OCTET STRING (50 bytes) }: the device-keys extension's value.
Bytes device_keys_value(const Bytes& key) {
  Bytes v = {0x30, 0x37, 0x02, 0x01, 0x01, 0x04, 0x32};
  v.insert(v.end(), key.begin(), key.end());
  return v;
}

ASN1_OBJECT* device_keys_object() {
  static ASN1_OBJECT* obj = OBJ_txt2obj(kDeviceKeysOid, 1);
  return obj;
}

}  // namespace

void detail::add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr || X509_add_ext(cert, ext, -1) != 1) {
    X509_EXTENSION_free(ext);
    throw CertError(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid));
  }
  X509_EXTENSION_free(ext);
}

namespace {

void add_device_keys(X509* cert, const Bytes& key) {
  const Bytes value = device_keys_value(key);
  ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
  X509_EXTENSION* ext = nullptr;
  const bool ok = os != nullptr &&
                  ASN1_OCTET_STRING_set(os, value.data(), static_cast<int>(value.size())) == 1 &&
                  (ext = X509_EXTENSION_create_by_OBJ(nullptr, device_keys_object(), 0, os)) &&
                  X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(os);
  if (!ok) throw CertError("cannot add the device-keys extension");
}

// nameConstraints, critical: permitted directoryName CN=identifier, so that to any X.509
// verifier (not only Hopbox's, which checks the identifier itself) the certificates below a
// primary name its user only.
void add_identifier_constraint(X509* cert, const std::string& identifier) {
  X509_NAME* name = X509_NAME_new();
  GENERAL_NAME* base = GENERAL_NAME_new();
  GENERAL_SUBTREE* subtree = GENERAL_SUBTREE_new();
  NAME_CONSTRAINTS* nc = NAME_CONSTRAINTS_new();
  bool ok = name && base && subtree && nc &&
            X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(identifier.data()),
                                       static_cast<int>(identifier.size()), -1, 0) == 1;
  if (ok) {
    GENERAL_NAME_set0_value(base, GEN_DIRNAME, name);
    name = nullptr;
    GENERAL_NAME_free(subtree->base);
    subtree->base = base;
    base = nullptr;
    nc->permittedSubtrees = sk_GENERAL_SUBTREE_new_null();
    ok =
        nc->permittedSubtrees != nullptr && sk_GENERAL_SUBTREE_push(nc->permittedSubtrees, subtree);
    if (ok) subtree = nullptr;
  }
  ok = ok && X509_add1_ext_i2d(cert, NID_name_constraints, nc, 1, X509V3_ADD_DEFAULT) == 1;
  NAME_CONSTRAINTS_free(nc);
  GENERAL_SUBTREE_free(subtree);
  GENERAL_NAME_free(base);
  X509_NAME_free(name);
  if (!ok) throw CertError("cannot add the name constraints");
}

X509_NAME* make_name(const std::string& cn, const Bytes& encryption_key) {
  X509_NAME* name = X509_NAME_new();
  bool ok = name != nullptr &&
            X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(cn.data()),
                                       static_cast<int>(cn.size()), -1, 0) == 1;
  // Devices of one user share the CN; the key's fingerprint tells them apart (chain building
  // matches issuer names).
  if (ok && !encryption_key.empty()) {
    static constexpr char kHex[] = "0123456789abcdef";
    const Bytes h = detail::sha256(encryption_key);
    std::string s;
    for (std::size_t i = 0; i < 8; ++i) {
      s += kHex[h[i] >> 4];
      s += kHex[h[i] & 15];
    }
    ok = X509_NAME_add_entry_by_NID(name, NID_serialNumber, MBSTRING_UTF8,
                                    reinterpret_cast<const unsigned char*>(s.data()),
                                    static_cast<int>(s.size()), -1, 0) == 1;
  }
  if (!ok) {
    X509_NAME_free(name);
    throw CertError("cannot build the certificate's name");
  }
  return name;
}

// Puts `signature` (DER ECDSA by an external signer) into a certificate whose algorithm fields
// were already set by a provisional signature.
X509Ptr with_signature(X509* cert, const Bytes& signature) {
  const ASN1_BIT_STRING* sig = nullptr;
  const X509_ALGOR* alg = nullptr;
  X509_get0_signature(&sig, &alg, cert);
  // X509_get0_signature hands out the certificate's own field; OpenSSL has no setter.
  auto* writable = const_cast<ASN1_BIT_STRING*>(sig);
  if (ASN1_BIT_STRING_set(writable, const_cast<std::uint8_t*>(signature.data()),
                          static_cast<int>(signature.size())) != 1) {
    throw CertError("cannot set the certificate's signature");
  }
  writable->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  writable->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  return detail::parse_der(detail::der_of(cert));
}

}  // namespace

namespace detail {

Bytes sign_certificate(X509* cert, X509* issuer, const Signer& sign) {
  // A provisional signature by a throwaway key fills in the algorithm fields; the real one
  // comes from `sign` over the to-be-signed part and replaces it.
  PkeyPtr throwaway(EVP_EC_gen("P-256"));
  if (!throwaway || X509_sign(cert, throwaway.get(), EVP_sha256()) <= 0) {
    throw CertError("cannot prepare the certificate for signing");
  }
  unsigned char* tbs = nullptr;
  const int tbs_len = i2d_re_X509_tbs(cert, &tbs);
  if (tbs_len <= 0) throw CertError("cannot encode the certificate for signing");
  const Bytes tbs_bytes(tbs, tbs + tbs_len);
  OPENSSL_free(tbs);
  X509Ptr signed_cert = with_signature(cert, sign(tbs_bytes));
  EVP_PKEY* issuer_key = X509_get0_pubkey(issuer != nullptr ? issuer : signed_cert.get());
  if (X509_verify(signed_cert.get(), issuer_key) != 1) {
    throw CertError("the signer's key does not match the issuer's certificate");
  }
  return der_of(signed_cert.get());
}

X509Ptr parse_der(std::span<const std::uint8_t> der) {
  if (der.empty() || der.size() > kMaxCertificate) throw CertError("certificate: bad size");
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != der.data() + der.size()) throw CertError("certificate: not valid DER");
  return cert;
}

PkeyPtr parse_spki(std::span<const std::uint8_t> spki) {
  if (spki.empty() || spki.size() > 1024) throw CertError("public key: bad size");
  const unsigned char* p = spki.data();
  PkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!key || p != spki.data() + spki.size()) throw CertError("public key: not valid DER");
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) throw CertError("public key: not EC");
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_group_name(key.get(), group, sizeof group, &len) != 1 ||
      std::string(group) != "prime256v1") {
    throw CertError("public key: not P-256");
  }
  return key;
}

Bytes der_of(X509* cert) {
  unsigned char* out = nullptr;
  const int n = i2d_X509(cert, &out);
  if (n <= 0) throw CertError("cannot encode certificate");
  Bytes b(out, out + n);
  OPENSSL_free(out);
  return b;
}

Bytes spki_of(X509* cert) {
  unsigned char* out = nullptr;
  const int n = i2d_PUBKEY(X509_get0_pubkey(cert), &out);
  if (n <= 0) throw CertError("certificate: no public key");
  Bytes b(out, out + n);
  OPENSSL_free(out);
  return b;
}

Bytes sha256(std::span<const std::uint8_t> data) {
  Bytes h(SHA256_DIGEST_LENGTH);
  SHA256(data.data(), data.size(), h.data());
  return h;
}

std::string common_name(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0 || X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0) {
    throw CertError("certificate: subject needs exactly one common name");
  }
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
}

Bytes device_encryption_key(X509* cert) {
  const int i = X509_get_ext_by_OBJ(cert, device_keys_object(), -1);
  if (i < 0) return {};
  if (X509_get_ext_by_OBJ(cert, device_keys_object(), i) >= 0) {
    throw CertError("certificate: two device-keys extensions");
  }
  const ASN1_OCTET_STRING* os = X509_EXTENSION_get_data(X509_get_ext(cert, i));
  const std::uint8_t* p = ASN1_STRING_get0_data(os);
  const Bytes value(p, p + ASN1_STRING_length(os));
  const Bytes prefix = {0x30, 0x37, 0x02, 0x01, 0x01, 0x04, 0x32};
  if (value.size() != prefix.size() + kEncryptionKeySize ||
      !std::equal(prefix.begin(), prefix.end(), value.begin())) {
    throw CertError("certificate: the device-keys extension is malformed or of another version");
  }
  return Bytes(value.begin() + static_cast<long>(prefix.size()), value.end());
}

}  // namespace detail

Bytes issue_certificate(const IssueRequest& r, const Bytes& issuer_der, const Signer& sign) {
  if (r.identifier.empty() || r.identifier.size() > 255)
    throw CertError("identifier: 1..255 bytes");
  if (!r.encryption_key.empty() && r.encryption_key.size() != kEncryptionKeySize) {
    throw CertError("encryption key: must be 50 bytes");
  }
  if (r.not_after <= r.not_before) throw CertError("validity: not_after must follow not_before");
  const detail::PkeyPtr subject_key = detail::parse_spki(r.signing_key);
  X509Ptr issuer;
  if (!issuer_der.empty()) issuer = detail::parse_der(issuer_der);

  X509Ptr cert(X509_new());
  X509_NAME* name = make_name(r.identifier, r.encryption_key);
  ASN1_INTEGER* serial = ASN1_INTEGER_new();
  bool ok =
      cert && serial && X509_set_version(cert.get(), 2) == 1 &&
      ASN1_INTEGER_set_int64(serial, r.serial) == 1 &&
      X509_set_serialNumber(cert.get(), serial) == 1 &&
      X509_set_subject_name(cert.get(), name) == 1 &&
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer.get()) : name) == 1 &&
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), r.not_before) != nullptr &&
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), r.not_after) != nullptr &&
      X509_set_pubkey(cert.get(), subject_key.get()) == 1;
  ASN1_INTEGER_free(serial);
  X509_NAME_free(name);
  if (!ok) throw CertError("cannot build the certificate");

  // The issuer decides the profile: nothing (a root), the root (a primary device, which may
  // certify end devices of its own identifier only), or a device (an end device).
  const bool is_root = !issuer;
  const bool issued_by_root = issuer && detail::device_encryption_key(issuer.get()).empty();
  if (!is_root && r.encryption_key.empty()) {
    throw CertError("a device certificate needs the device's mupre key");
  }
  if (issuer && X509_check_ca(issuer.get()) == 0) {
    throw CertError(issued_by_root ? "the issuer's certificate is not a CA"
                                   : "only the primary device certifies devices; this one cannot");
  }
  if (issuer && !issued_by_root && detail::common_name(issuer.get()) != r.identifier) {
    throw CertError("a device certifies only devices of its own identifier");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer.get() : cert.get(), cert.get(), nullptr, nullptr, 0);
  if (is_root) {
    // root -> primary -> end device: one certificate between the root and a leaf at most.
    detail::add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:1");
    detail::add_extension(cert.get(), &ctx, NID_key_usage,
                          "critical,digitalSignature,keyCertSign,cRLSign");
  } else if (issued_by_root) {
    detail::add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    detail::add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_identifier_constraint(cert.get(), r.identifier);
  } else {
    detail::add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
    detail::add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  }
  // Only Hopbox's own purpose: a device certificate never authenticates a TLS server or client.
  if (!is_root) {
    detail::add_extension(cert.get(), &ctx, NID_ext_key_usage,
                          (std::string("critical,") + kDeviceUsageOid).c_str());
  }
  detail::add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  if (issuer) detail::add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  if (!r.encryption_key.empty()) add_device_keys(cert.get(), r.encryption_key);

  return detail::sign_certificate(cert.get(), issuer.get(), sign);
}

CertificateInfo inspect_certificate(std::span<const std::uint8_t> der) {
  X509Ptr cert = detail::parse_der(der);
  CertificateInfo info;
  info.identifier = detail::common_name(cert.get());
  info.signing_key = detail::spki_of(cert.get());
  info.encryption_key = detail::device_encryption_key(cert.get());
  info.fingerprint = detail::sha256(der);
  std::int64_t serial = 0;
  ASN1_INTEGER_get_int64(&serial, X509_get0_serialNumber(cert.get()));
  info.serial = serial;
  struct tm t = {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &t) == 1) info.not_after = timegm(&t);
  return info;
}

Bytes encode_chain(const std::vector<Bytes>& leaf_first) {
  Bytes out;
  for (const auto& c : leaf_first) out.insert(out.end(), c.begin(), c.end());
  return out;
}

std::vector<Bytes> decode_chain(std::span<const std::uint8_t> bytes) {
  std::vector<Bytes> chain;
  const unsigned char* p = bytes.data();
  const unsigned char* end = bytes.data() + bytes.size();
  while (p < end) {
    if (chain.size() == kMaxChain) throw CertError("certificate chain: too long");
    const unsigned char* start = p;
    X509Ptr cert(d2i_X509(nullptr, &p, end - p));
    if (!cert) throw CertError("certificate chain: not a sequence of DER certificates");
    chain.emplace_back(start, p);
  }
  return chain;
}

std::string to_pem(const Bytes& der) {
  X509Ptr cert = detail::parse_der(der);
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || PEM_write_bio_X509(bio, cert.get()) != 1) {
    BIO_free(bio);
    throw CertError("cannot write PEM");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pem;
}

Bytes from_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr cert(bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr);
  BIO_free(bio);
  if (!cert) throw CertError("not a PEM certificate");
  return detail::der_of(cert.get());
}

bool verify_signature(const Bytes& spki, std::span<const std::uint8_t> message,
                      std::span<const std::uint8_t> signature) {
  detail::PkeyPtr key;
  try {
    key = detail::parse_spki(spki);
  } catch (const CertError&) {
    return false;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok =
      ctx != nullptr && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
      EVP_DigestVerify(ctx, signature.data(), signature.size(), message.data(), message.size()) ==
          1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace hopbox::certs
