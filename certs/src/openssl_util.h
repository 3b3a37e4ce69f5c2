// RAII for the OpenSSL objects this library touches, and small shared helpers.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <span>
#include <string>

#include "certs/certificate.h"

namespace hopbox::certs::detail {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

X509Ptr parse_der(std::span<const std::uint8_t> der);    // throws CertError
PkeyPtr parse_spki(std::span<const std::uint8_t> spki);  // P-256 only; throws CertError
Bytes der_of(X509* cert);
Bytes spki_of(X509* cert);
Bytes sha256(std::span<const std::uint8_t> data);
std::string common_name(X509* cert);
// Adds one extension in OpenSSL's configuration syntax; throws CertError.
void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value);
// Signs `cert` (all fields set) with an external signer for `issuer`'s key (null: self-signed),
// checks the result against that key, and returns its DER.
Bytes sign_certificate(X509* cert, X509* issuer, const Signer& sign);
// The mupre key of the device-keys extension; empty if absent. Throws if malformed.
Bytes device_encryption_key(X509* cert);

}  // namespace hopbox::certs::detail
