// The CA's own keys. The root signing key lives in a PKCS#11 token when one is configured
// (DIR/ca-token.json names it; the key never leaves the token), otherwise in DIR/ca-key.pem
// (PKCS#8, owner-only). DIR/tls/ holds the listening socket's key and its self-signed
// certificate. DIR/root.pem, what clients are configured with, holds the self-signed device
// root and that TLS certificate (certs::CaAnchors): one file to hand out and check, yet the
// root that certifies devices never vouches for the CA's socket.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "certs/certificate.h"

namespace hopbox_ca {

using Bytes = hopbox::certs::Bytes;

struct CaToken {
  std::string module;       // PKCS#11 module path
  std::string token_label;  // the token holding the root key
  std::string key_label = "hopbox-ca/root";
};

class CaKeys {
 public:
  // Creates the root key (in `token` when given, opened with `pin`), DIR/root.pem and
  // DIR/tls/{cert,key}.pem (a TLS key of its own, never the root's). Refuses if a CA exists in DIR.
  // tls_names: further DNS names or IP addresses for the TLS certificate (localhost and 127.0.0.1
  // are always included).
  static void create(const std::filesystem::path& dir, const std::string& ca_name,
                     const std::vector<std::string>& tls_names, const std::optional<CaToken>& token,
                     const std::string& pin);
  // Loads them; `pin` is asked only when the key is in a token. Throws std::runtime_error
  // naming the file that is missing or damaged.
  static std::unique_ptr<CaKeys> load(const std::filesystem::path& dir,
                                      const std::function<std::string()>& pin);
  ~CaKeys();

  const Bytes& root_der() const { return root_der_; }
  bool in_token() const;
  hopbox::certs::Signer signer() const;
  std::string tls_certificate_pem;
  std::string tls_private_key_pem;

 private:
  CaKeys() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  Bytes root_der_;
};

}  // namespace hopbox_ca
