// The listening socket's certificate: files given in configuration, or a self-signed
// certificate for "localhost" generated on first start and kept in the data directory.
#pragma once

#include <filesystem>
#include <string>

namespace hopboxd {

struct TlsFiles {
  std::string certificate_pem;
  std::string private_key_pem;
};

// Reads DIR/tls/{cert,key}.pem, creating them (EC P-256, ten years, SAN localhost and
// 127.0.0.1) when absent. Throws std::runtime_error on failure.
TlsFiles self_signed_tls(const std::filesystem::path& data_dir);
std::string read_text_file(const std::filesystem::path& p);

}  // namespace hopboxd
