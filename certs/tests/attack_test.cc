// Attacks on the certificate profile by an enrolled user, who holds a device's key and signs
// whatever they like with it (issue 12, item 5). Real OpenSSL X.509 throughout: the forged
// certificates are built and signed with OpenSSL directly, as an attacker would, since
// Hopbox's own issuing refuses to make them.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>
#include <vector>

#include "certs/tls_certificate.h"
#include "certs/verify.h"
#include "test_keys.h"

namespace hopbox::certs {
namespace {

using testing::fake_mupre_key;
using testing::Hierarchy;
using testing::now;
using testing::TestKey;

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr parse(const Bytes& der) {
  const unsigned char* p = der.data();
  return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

Bytes der_of(X509* cert) {
  unsigned char* out = nullptr;
  const int n = i2d_X509(cert, &out);
  Bytes b(out, out + n);
  OPENSSL_free(out);
  return b;
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate as an attacker signs it: `basic_constraints` in OpenSSL's syntax, the device-keys
// extension (so that it passes for a device), names unique per serial. `issuer` null:
// self-signed by `subject`.
Bytes forge(const std::string& cn, long serial, const TestKey& subject, const Bytes& issuer_der,
            const TestKey& issuer_key, const std::string& basic_constraints) {
  X509Ptr issuer = issuer_der.empty() ? nullptr : parse(issuer_der);
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.data()),
                             static_cast<int>(cn.size()), -1, 0);
  const std::string tag = "forged" + std::to_string(serial);
  X509_NAME_add_entry_by_NID(name, NID_serialNumber, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(tag.data()),
                             static_cast<int>(tag.size()), -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer.get()) : name);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), subject.pkey());
  X509* ctx_issuer = issuer ? issuer.get() : cert.get();
  add_ext(cert.get(), ctx_issuer, NID_basic_constraints, basic_constraints);
  const bool ca = basic_constraints.find("CA:TRUE") != std::string::npos;
  add_ext(cert.get(), ctx_issuer, NID_key_usage,
          ca ? "critical,digitalSignature,keyCertSign" : "critical,digitalSignature");
  add_ext(cert.get(), ctx_issuer, NID_subject_key_identifier, "hash");
  if (issuer) {
    add_ext(cert.get(), ctx_issuer, NID_authority_key_identifier, "keyid:always");
    // docs/formats.md: SEQUENCE { INTEGER 1, OCTET STRING (50) }
    Bytes value = {0x30, 0x37, 0x02, 0x01, 0x01, 0x04, 0x32};
    const Bytes key = fake_mupre_key(static_cast<std::uint8_t>(serial));
    value.insert(value.end(), key.begin(), key.end());
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, value.data(), static_cast<int>(value.size()));
    ASN1_OBJECT* oid = OBJ_txt2obj(kDeviceKeysOid, 1);
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, 0, os);
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OBJECT_free(oid);
    ASN1_OCTET_STRING_free(os);
  }
  EXPECT_GT(X509_sign(cert.get(), issuer_key.pkey(), EVP_sha256()), 0);
  return der_of(cert.get());
}

// Plain OpenSSL verification trusting `root` only, without Hopbox's own checks: what any other
// X.509 verifier given the device root would decide. purpose 0: none; host: checked if given.
int plain_x509_verify(const Bytes& root, const std::vector<Bytes>& leaf_first, int purpose = 0,
                      const std::string& host = "") {
  X509_STORE* store = X509_STORE_new();
  X509Ptr root_cert = parse(root);
  X509_STORE_add_cert(store, root_cert.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  std::vector<X509Ptr> certs;
  for (const auto& der : leaf_first) certs.push_back(parse(der));
  for (std::size_t i = 1; i < certs.size(); ++i) sk_X509_push(untrusted, certs[i].get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, certs[0].get(), untrusted);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  if (purpose != 0) X509_STORE_CTX_set_purpose(ctx, purpose);
  if (!host.empty()) X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  const int error = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  return error;
}

std::string what_refuses(const std::vector<Bytes>& chain, const Bytes& root) {
  try {
    verify_device_chain(chain, root, {}, now());
  } catch (const CertError& e) {
    return e.what();
  }
  return "";
}

TEST(ChainAttack, APrimaryCannotCertifyAnotherIdentifierForAnyX509Verifier) {
  Hierarchy h;
  TestKey mallory;
  // alice's primary key signs a certificate naming bob.
  const Bytes for_bob = forge("bob", 40, mallory, h.primary, h.primary_key, "critical,CA:FALSE");
  EXPECT_NE(what_refuses({for_bob, h.primary}, h.root), "");
  // The primary's name constraints make plain OpenSSL refuse it as well, while alice's own
  // secondary passes the same verifier.
  EXPECT_EQ(plain_x509_verify(h.root, {for_bob, h.primary}), X509_V_ERR_PERMITTED_VIOLATION);
  EXPECT_EQ(plain_x509_verify(h.root, {h.secondary, h.primary}), X509_V_OK);
}

TEST(ChainAttack, ADeviceIssuedCaTrueCertificateCannotCertify) {
  Hierarchy h;
  TestKey rogue_key, victim_key;
  // alice's primary makes itself a CA:TRUE sub-device, whose key then certifies another key.
  const Bytes rogue = forge("alice", 41, rogue_key, h.primary, h.primary_key, "critical,CA:TRUE");
  const Bytes below = forge("alice", 42, victim_key, rogue, rogue_key, "critical,CA:FALSE");
  EXPECT_EQ(verify_device_chain({rogue, h.primary}, h.root, {}, now()).identifier, "alice");
  EXPECT_NE(what_refuses({below, rogue, h.primary}, h.root), "");
  EXPECT_EQ(plain_x509_verify(h.root, {below, rogue, h.primary}), X509_V_ERR_PATH_LENGTH_EXCEEDED);
}

TEST(ChainAttack, AChainLongerThanRootPrimaryDeviceIsRefusedEvenWithoutPathLengths) {
  // Certificates as they were issued before path lengths: every one CA:TRUE, no limit.
  TestKey root_key, primary_key, middle_key, leaf_key;
  const Bytes root = forge("Old CA", 50, root_key, {}, root_key, "critical,CA:TRUE");
  const Bytes primary = forge("alice", 51, primary_key, root, root_key, "critical,CA:TRUE");
  const Bytes middle = forge("alice", 52, middle_key, primary, primary_key, "critical,CA:TRUE");
  const Bytes leaf = forge("alice", 53, leaf_key, middle, middle_key, "critical,CA:TRUE");
  EXPECT_EQ(verify_device_chain({middle, primary}, root, {}, now()).identifier, "alice");
  EXPECT_EQ(plain_x509_verify(root, {leaf, middle, primary}), X509_V_OK);  // X.509 allows it
  EXPECT_NE(what_refuses({leaf, middle, primary}, root).find("too long"), std::string::npos)
      << what_refuses({leaf, middle, primary}, root);
}

TEST(ChainAttack, HopboxIssuingRefusesWhatTheProfileForbids) {
  Hierarchy h;
  TestKey other;
  const std::int64_t t = now();
  // A secondary cannot certify, and a primary certifies its own identifier only.
  EXPECT_THROW(issue_certificate({"alice", other.spki(), fake_mupre_key(9), 60, t - 60, t + 60},
                                 h.secondary, h.secondary_key.signer()),
               CertError);
  EXPECT_THROW(issue_certificate({"bob", other.spki(), fake_mupre_key(9), 61, t - 60, t + 60},
                                 h.primary, h.primary_key.signer()),
               CertError);
}

TEST(ChainAttack, DeviceCertificatesAreBoundedAndNeverServeTls) {
  Hierarchy h;
  const X509Ptr root = parse(h.root), primary = parse(h.primary), secondary = parse(h.secondary);
  EXPECT_EQ(X509_get_pathlen(root.get()), 1);
  EXPECT_NE(X509_check_ca(primary.get()), 0);
  EXPECT_EQ(X509_get_pathlen(primary.get()), 0);
  EXPECT_EQ(X509_check_ca(secondary.get()), 0);
  for (X509* device : {primary.get(), secondary.get()}) {
    // Only Hopbox's own extended key usage: neither a TLS server nor a TLS client.
    EXPECT_NE(X509_get_extension_flags(device) & EXFLAG_XKUSAGE, 0u);
    EXPECT_EQ(X509_get_extended_key_usage(device) & (XKU_SSL_SERVER | XKU_SSL_CLIENT), 0u);
    EXPECT_NE(X509_get_ext_by_NID(device, NID_ext_key_usage, -1), -1);
  }
  // A TLS certificate for "localhost" made with certs' own issuing function and alice's
  // primary key: even a TLS stack that trusted the device root would refuse it.
  TestKey tls_key;
  const std::int64_t t = now();
  const Bytes tls = issue_tls_certificate("hopbox-ca", tls_key.spki(), {"localhost"}, t - 60,
                                          t + 3600, h.primary, h.primary_key.signer());
  EXPECT_EQ(plain_x509_verify(h.root, {tls, h.primary}, X509_PURPOSE_SSL_SERVER, "localhost"),
            X509_V_ERR_INVALID_PURPOSE);
}

TEST(CaAnchorsAttack, TheDeviceRootIsNeverTheTlsAnchor) {
  Hierarchy h;
  TestKey tls_key;
  const std::int64_t t = now();
  const Bytes tls = issue_tls_certificate("hopbox-ca TLS", tls_key.spki(), {"localhost"}, t - 60,
                                          t + 3600, {}, tls_key.signer());
  const CaAnchors anchors = parse_ca_anchors(to_pem(h.root) + to_pem(tls));
  EXPECT_EQ(anchors.device_root, h.root);
  EXPECT_EQ(from_pem(anchors.tls_anchor_pem), tls);
  // Either order; but a file without the TLS certificate (the root alone, as before) or with a
  // device certificate in its place is refused, not used for both purposes.
  EXPECT_EQ(parse_ca_anchors(to_pem(tls) + to_pem(h.root)).device_root, h.root);
  EXPECT_THROW(parse_ca_anchors(to_pem(h.root)), CertError);
  EXPECT_THROW(parse_ca_anchors(to_pem(h.root) + to_pem(h.primary)), CertError);
  EXPECT_THROW(parse_ca_anchors(to_pem(tls)), CertError);
}

TEST(RevocationListAttack, AnOlderListReplayedAfterANewerOneIsRefused) {
  Hierarchy h;
  const std::int64_t t = now();
  const RevocationList older = open_revocation_list(
      sign_revocation_list({t - 600, t + 3600, {}}, h.root_key.signer()), h.root);
  const RevocationList newer = open_revocation_list(
      sign_revocation_list({t - 60, t + 3600, {Bytes(32, 1)}}, h.root_key.signer()), h.root);
  EXPECT_NO_THROW(check_revocation_list_current(older, 0, t));
  EXPECT_NO_THROW(check_revocation_list_current(newer, older.issued_at, t));
  EXPECT_NO_THROW(check_revocation_list_current(newer, newer.issued_at, t));  // the same again
  try {
    check_revocation_list_current(older, newer.issued_at, t);
    FAIL() << "an older list was accepted after a newer one";
  } catch (const CertError& e) {
    EXPECT_NE(std::string(e.what()).find("older"), std::string::npos) << e.what();
  }
}

TEST(RevocationListAttack, AnExpiredListFailsClosed) {
  Hierarchy h;
  const std::int64_t t = now();
  const RevocationList stale = open_revocation_list(
      sign_revocation_list({t - 7200, t - 3600, {}}, h.root_key.signer()), h.root);
  try {
    check_revocation_list_current(stale, 0, t);
    FAIL() << "an expired list was accepted";
  } catch (const CertError& e) {
    EXPECT_NE(std::string(e.what()).find("expired"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sign_revocation_list({t, t, {}}, h.root_key.signer()), CertError);
}

TEST(RevocationListAttack, AListWithoutAValidityPeriodIsRefused) {
  Hierarchy h;
  // Version 1, validly signed by the root: magic, issued_at, count 0, then the signature.
  Bytes v1 = {'H', 'B', 'R', 'L', 0x01, 0, 0, 0, 0, 0x69, 0x55, 0xb9, 0, 0, 0, 0, 0};
  const Bytes sig = h.root_key.signer()(v1);
  v1.push_back(static_cast<std::uint8_t>(sig.size()));
  v1.insert(v1.end(), sig.begin(), sig.end());
  EXPECT_THROW(open_revocation_list(v1, h.root), CertError);
}

}  // namespace
}  // namespace hopbox::certs
