// The certificate-side decoders that take bytes from the cloud or the network: certificate
// chains, certificates, revocation lists and item signatures. The first byte picks the
// decoder. Never crash; never accept a list or an item signature under a root whose key the
// fuzzer does not have (any success is a bug).
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <ctime>

#include "certs/item_signature.h"
#include "certs/verify.h"

namespace {

using hopbox::certs::Bytes;
namespace certs = hopbox::certs;

// A root made at start-up: its private key is gone once the root is issued.
const Bytes& root() {
  static const Bytes r = [] {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(key, &der);
    const Bytes spki(der, der + n);
    OPENSSL_free(der);
    const std::int64_t now = std::time(nullptr);
    Bytes out =
        certs::issue_certificate({"fuzz root", spki, {}, 1, now - 60, now + 3600}, {},
                                 [key](std::span<const std::uint8_t> m) {
                                   EVP_MD_CTX* ctx = EVP_MD_CTX_new();
                                   std::size_t len = 0;
                                   EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
                                   EVP_DigestSign(ctx, nullptr, &len, m.data(), m.size());
                                   Bytes sig(len);
                                   EVP_DigestSign(ctx, sig.data(), &len, m.data(), m.size());
                                   sig.resize(len);
                                   EVP_MD_CTX_free(ctx);
                                   return sig;
                                 });
    EVP_PKEY_free(key);
    return out;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> in(data + 1, size - 1);
  try {
    switch (data[0] % 4) {
      case 0:
        for (const auto& c : certs::decode_chain(in)) certs::inspect_certificate(c);
        break;
      case 1:
        certs::inspect_certificate(in);
        break;
      case 2:
        certs::open_revocation_list(in, root());
        std::abort();  // accepted a list the fuzzer could not have signed
      case 3: {
        const auto s = certs::decode_item_signature(in);
        certs::verify_item({"o", "i", "", {}, {}, {}, {}, Bytes(32), {}}, s, root(), {},
                           std::time(nullptr));
        std::abort();  // accepted a chain to a root whose key is gone
      }
    }
  } catch (const certs::CertError&) {
  }
  return 0;
}
