#include "certs/verify.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "openssl_util.h"

namespace hopbox::certs {

namespace {

constexpr std::uint8_t kListMagic[] = {'H', 'B', 'R', 'L', 0x02};
constexpr std::size_t kMaxRevoked = 1'000'000;
// root -> primary -> end device
constexpr int kMaxChainWithRoot = 3;

void put_u64(Bytes& b, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u32(Bytes& b, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get_be(std::span<const std::uint8_t> b) {
  std::uint64_t v = 0;
  for (const auto x : b) v = v << 8 | x;
  return v;
}

struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * p) const { sk_X509_pop_free(p, X509_free); }
};

std::string utc(std::int64_t t) {
  const auto tt = static_cast<time_t>(t);
  struct tm tm = {};
  char buf[32] = "?";
  if (gmtime_r(&tt, &tm) != nullptr) std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

bool self_signed(X509* cert) {
  // Not X509_check_issued: a TLS certificate lacks keyCertSign yet signs itself.
  return X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) == 0 &&
         X509_verify(cert, X509_get0_pubkey(cert)) == 1;
}

}  // namespace

bool RevocationList::contains(const Bytes& fingerprint) const {
  return std::find(revoked.begin(), revoked.end(), fingerprint) != revoked.end();
}

Bytes sign_revocation_list(const RevocationList& list, const Signer& sign) {
  if (list.revoked.size() > kMaxRevoked) throw CertError("revocation list: too many entries");
  if (list.next_update <= list.issued_at) {
    throw CertError("revocation list: next_update must follow issued_at");
  }
  Bytes b(std::begin(kListMagic), std::end(kListMagic));
  put_u64(b, static_cast<std::uint64_t>(list.issued_at));
  put_u64(b, static_cast<std::uint64_t>(list.next_update));
  put_u32(b, static_cast<std::uint32_t>(list.revoked.size()));
  for (const auto& f : list.revoked) {
    if (f.size() != 32) throw CertError("revocation list: fingerprints are 32 bytes");
    b.insert(b.end(), f.begin(), f.end());
  }
  const Bytes sig = sign(b);
  if (sig.empty() || sig.size() > 255) throw CertError("revocation list: bad signature");
  b.push_back(static_cast<std::uint8_t>(sig.size()));
  b.insert(b.end(), sig.begin(), sig.end());
  return b;
}

RevocationList open_revocation_list(std::span<const std::uint8_t> b, const Bytes& root_der) {
  constexpr std::size_t kHead = sizeof kListMagic + 8 + 8 + 4;
  constexpr std::size_t kVersion = sizeof kListMagic - 1;
  if (b.size() < kHead + 1 ||
      !std::equal(std::begin(kListMagic), std::begin(kListMagic) + kVersion, b.begin())) {
    throw CertError("revocation list: not a Hopbox revocation list");
  }
  if (b[kVersion] != kListMagic[kVersion]) {
    throw CertError("revocation list: version " + std::to_string(b[kVersion]) +
                    " refused (version 2, with a validity period, is required; update hopbox-ca)");
  }
  RevocationList list;
  list.issued_at = static_cast<std::int64_t>(get_be(b.subspan(sizeof kListMagic, 8)));
  list.next_update = static_cast<std::int64_t>(get_be(b.subspan(sizeof kListMagic + 8, 8)));
  const std::uint64_t count = get_be(b.subspan(sizeof kListMagic + 16, 4));
  if (count > kMaxRevoked || b.size() < kHead + 32 * count + 1) {
    throw CertError("revocation list: truncated");
  }
  const std::size_t signed_len = kHead + 32 * count;
  const std::size_t sig_len = b[signed_len];
  if (b.size() != signed_len + 1 + sig_len) throw CertError("revocation list: bad length");
  const auto root = detail::parse_der(root_der);
  if (!verify_signature(detail::spki_of(root.get()), b.first(signed_len),
                        b.subspan(signed_len + 1))) {
    throw CertError("revocation list: the CA's signature does not verify");
  }
  if (list.next_update <= list.issued_at) {
    throw CertError("revocation list: its validity period is empty");
  }
  for (std::size_t i = 0; i < count; ++i) {
    const auto f = b.subspan(kHead + 32 * i, 32);
    list.revoked.emplace_back(f.begin(), f.end());
  }
  return list;
}

void check_revocation_list_current(const RevocationList& list, std::int64_t last_seen_issued_at,
                                   std::int64_t now) {
  if (now >= list.next_update) {
    throw CertError("revocation list expired at " + utc(list.next_update) + " (issued " +
                    utc(list.issued_at) +
                    "): without a current list no key is trusted; the CA must sign a new one");
  }
  if (list.issued_at < last_seen_issued_at) {
    throw CertError("revocation list issued " + utc(list.issued_at) +
                    " is older than one already seen (issued " + utc(last_seen_issued_at) +
                    "): a replayed list is refused, it could hide a revocation");
  }
}

CaAnchors parse_ca_anchors(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) throw CertError("cannot read the CA's certificates");
  std::vector<detail::X509Ptr> found;
  while (found.size() < 8) {
    detail::X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    if (!cert) break;
    found.push_back(std::move(cert));
  }
  BIO_free(bio);
  ERR_clear_error();  // the end of the text reads as an error
  CaAnchors out;
  int roots = 0, tls = 0;
  for (const auto& c : found) {
    const bool ca = X509_check_ca(c.get()) != 0;
    const bool has_eku = (X509_get_extension_flags(c.get()) & EXFLAG_XKUSAGE) != 0;
    const bool server_auth = has_eku && (X509_get_extended_key_usage(c.get()) & XKU_SSL_SERVER);
    if (!self_signed(c.get())) continue;
    if (ca && !has_eku && detail::device_encryption_key(c.get()).empty()) {
      ++roots;
      out.device_root = detail::der_of(c.get());
    } else if (!ca && server_auth) {
      ++tls;
      out.tls_anchor_pem = to_pem(detail::der_of(c.get()));
    }
  }
  if (roots != 1 || tls != 1) {
    throw CertError(
        "the CA's root file must hold its device root and its self-signed TLS certificate, one "
        "each (hopbox-ca init writes both into root.pem); found " +
        std::to_string(roots) + " and " + std::to_string(tls) +
        (roots == 1 && tls == 0 ? ": a root.pem from before hopbox-ca kept its TLS identity apart"
                                : ""));
  }
  return out;
}

TrustedDevice verify_device_chain(const std::vector<Bytes>& leaf_first, const Bytes& root_der,
                                  const RevocationList& revoked, std::int64_t now) {
  if (leaf_first.empty()) throw CertError("no certificate chain: the key is not certified");
  const auto root = detail::parse_der(root_der);
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  if (!store || !untrusted || X509_STORE_add_cert(store.get(), root.get()) != 1) {
    throw CertError("cannot set up chain verification");
  }
  std::vector<detail::X509Ptr> certs;
  for (const auto& der : leaf_first) certs.push_back(detail::parse_der(der));
  for (std::size_t i = 1; i < certs.size(); ++i) {
    if (X509_up_ref(certs[i].get()) != 1 || !sk_X509_push(untrusted.get(), certs[i].get())) {
      throw CertError("cannot set up chain verification");
    }
  }
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), certs[0].get(), untrusted.get()) != 1) {
    throw CertError("cannot set up chain verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now));
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  if (X509_verify_cert(ctx.get()) != 1) {
    throw CertError(std::string("certificate chain rejected: ") +
                    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  // The chain OpenSSL built ends at our root. It may be no longer than root -> primary ->
  // device whatever its certificates allow (roots and devices certified before path lengths
  // were set allow any length); every certificate below the root must be a device of the
  // leaf's user, and none may be revoked.
  STACK_OF(X509)* built = X509_STORE_CTX_get0_chain(ctx.get());
  const int n = sk_X509_num(built);
  if (n > kMaxChainWithRoot) {
    throw CertError("certificate chain rejected: too long (" + std::to_string(n - 1) +
                    " certificates below the root); only the primary device certifies, and what it "
                    "certifies cannot certify further");
  }
  TrustedDevice out;
  out.identifier = detail::common_name(certs[0].get());
  for (int i = 0; i + 1 < n; ++i) {
    X509* c = sk_X509_value(built, i);
    if (detail::common_name(c) != out.identifier) {
      throw CertError("certificate chain rejected: a device of \"" + detail::common_name(c) +
                      "\" certified a key for \"" + out.identifier + "\"");
    }
    if (detail::device_encryption_key(c).empty()) {
      throw CertError("certificate chain rejected: a device certificate lacks its mupre key");
    }
    if (revoked.contains(detail::sha256(detail::der_of(c)))) {
      throw CertError(std::string("certificate chain rejected: ") +
                      (i == 0 ? "the device's certificate" : "a certificate in its chain") +
                      " was revoked");
    }
  }
  out.signing_key = detail::spki_of(certs[0].get());
  out.encryption_key = detail::device_encryption_key(certs[0].get());
  out.leaf_fingerprint = detail::sha256(leaf_first[0]);
  return out;
}

std::string safety_number(const TrustedDevice& d) {
  Bytes m;
  const std::string label = "hopbox v1 safety number";
  m.insert(m.end(), label.begin(), label.end());
  put_u32(m, static_cast<std::uint32_t>(d.identifier.size()));
  m.insert(m.end(), d.identifier.begin(), d.identifier.end());
  m.insert(m.end(), d.encryption_key.begin(), d.encryption_key.end());
  m.insert(m.end(), d.signing_key.begin(), d.signing_key.end());
  const Bytes h = detail::sha256(m);
  std::string out;
  for (std::size_t g = 0; g < 5; ++g) {
    const std::uint64_t v = get_be(std::span(h).subspan(5 * g, 5)) % 100000;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%05u", static_cast<unsigned>(v));
    if (g) out += ' ';
    out += buf;
  }
  return out;
}

}  // namespace hopbox::certs
