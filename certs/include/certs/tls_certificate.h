// Certificates for the services' own TLS sockets (CA:FALSE, serverAuth), issued by a root so
// that a client configured with that root checks the socket too.
#pragma once

#include <string>
#include <vector>

#include "certs/certificate.h"

namespace hopbox::certs {

// names: DNS names or IP addresses (IPv4 dotted or IPv6), at least one.
Bytes issue_tls_certificate(const std::string& common_name, const Bytes& subject_key,
                            const std::vector<std::string>& names, std::int64_t not_before,
                            std::int64_t not_after, const Bytes& issuer_der, const Signer& sign);

}  // namespace hopbox::certs
