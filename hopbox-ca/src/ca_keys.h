// The CA's own keys, in its data directory: the root signing key (PKCS#8 PEM, owner-only), the
// self-signed root certificate that clients are configured with, and the TLS certificate of
// the listening socket, issued by the root so that one file (root.pem) lets clients check both.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "certs/certificate.h"

namespace hopbox_ca {

using Bytes = hopbox::certs::Bytes;

class CaKeys {
 public:
  // Creates DIR/ca-key.pem, DIR/root.pem and DIR/tls/{cert,key}.pem. Refuses if they exist.
  // tls_names: DNS names or IP addresses for the TLS certificate (localhost and 127.0.0.1
  // are always included).
  static void create(const std::filesystem::path& dir, const std::string& ca_name,
                     const std::vector<std::string>& tls_names);
  // Loads them; throws std::runtime_error naming the file that is missing or damaged.
  static std::unique_ptr<CaKeys> load(const std::filesystem::path& dir);
  ~CaKeys();

  const Bytes& root_der() const { return root_der_; }
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
