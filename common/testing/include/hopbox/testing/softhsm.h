// SoftHSM2, a real PKCS#11 module, configured in a test's own folder: SOFTHSM2_CONF points at
// DIR/softhsm2.conf and tokens live in DIR/tokens, so tests never touch the machine's tokens.
#pragma once

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace hopbox::testing {

inline void configure_softhsm(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir / "tokens");
  std::ofstream(dir / "softhsm2.conf") << "directories.tokendir = " << (dir / "tokens").string()
                                       << "\nobjectstore.backend = file\nlog.level = ERROR\n";
  setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
}

// Initializes a token with this label and user PIN in the configured SoftHSM2.
inline void init_softhsm_token(const std::string& label, const std::string& pin) {
  const std::string cmd = "softhsm2-util --init-token --free --label " + label + " --pin " + pin +
                          " --so-pin 99999999 >/dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("softhsm2-util failed for " + label);
}

}  // namespace hopbox::testing
