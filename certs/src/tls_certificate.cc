#include "certs/tls_certificate.h"

#include "openssl_util.h"

namespace hopbox::certs {

Bytes issue_tls_certificate(const std::string& common_name, const Bytes& subject_key,
                            const std::vector<std::string>& names, std::int64_t not_before,
                            std::int64_t not_after, const Bytes& issuer_der, const Signer& sign) {
  if (names.empty()) throw CertError("a TLS certificate needs at least one name");
  std::string san;
  for (const auto& n : names) {
    if (n.empty() || n.find_first_of(", \t") != std::string::npos) {
      throw CertError("TLS name \"" + n + "\" is not a host name or address");
    }
    const bool ip = n.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos &&
                    (n.find('.') != std::string::npos || n.find(':') != std::string::npos);
    if (!san.empty()) san += ',';
    san += ip ? "IP:" : "DNS:";
    san += n;
  }
  const detail::PkeyPtr key = detail::parse_spki(subject_key);
  detail::X509Ptr issuer;
  if (!issuer_der.empty()) issuer = detail::parse_der(issuer_der);
  detail::X509Ptr cert(X509_new());
  ASN1_INTEGER* serial = ASN1_INTEGER_new();
  bool ok =
      cert && serial && X509_set_version(cert.get(), 2) == 1 &&
      ASN1_INTEGER_set_int64(serial, not_before) == 1 &&
      X509_set_serialNumber(cert.get(), serial) == 1 &&
      ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) != nullptr &&
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) != nullptr &&
      X509_set_pubkey(cert.get(), key.get()) == 1 &&
      X509_NAME_add_entry_by_NID(X509_get_subject_name(cert.get()), NID_commonName, MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) == 1 &&
      X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer ? issuer.get() : cert.get())) ==
          1;
  ASN1_INTEGER_free(serial);
  if (!ok) throw CertError("cannot build the TLS certificate");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer.get() : cert.get(), cert.get(), nullptr, nullptr, 0);
  detail::add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  detail::add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  detail::add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
  detail::add_extension(cert.get(), &ctx, NID_subject_alt_name, san.c_str());
  detail::add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
  detail::add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
  return detail::sign_certificate(cert.get(), issuer.get(), sign);
}

}  // namespace hopbox::certs
