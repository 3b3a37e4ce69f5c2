// Certificates for the services' own TLS sockets (CA:FALSE, serverAuth). hopbox-ca's is
// self-signed and pinned by its clients (in root.pem beside the device root, see
// certs/verify.h CaAnchors): the root that certifies devices never vouches for a TLS socket.
#pragma once

#include <string>
#include <vector>

#include "certs/certificate.h"

namespace hopbox::certs {

// names: DNS names or IP addresses (IPv4 dotted or IPv6), at least one. An empty issuer_der
// makes a self-signed certificate (then `sign` must use subject_key's key).
Bytes issue_tls_certificate(const std::string& common_name, const Bytes& subject_key,
                            const std::vector<std::string>& names, std::int64_t not_before,
                            std::int64_t not_after, const Bytes& issuer_der, const Signer& sign);

}  // namespace hopbox::certs
