// The software keystore's file (hopbox/src/software_keystore.h), read by SoftwareKeyStore::open
// with the passphrase the seeds were made with, then its keys read back by use. A damaged file
// must throw std::runtime_error (the contract the client catches), nothing else, and never
// crash; whatever opens must seal and unseal to the same bytes.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "software_keystore.h"

namespace {

namespace fs = std::filesystem;

// Shared with make_seeds.
constexpr char kPassphrase[] = "fuzz passphrase";
constexpr char kLabel[] = "fuzz";

const fs::path& directory() {
  static const fs::path dir = [] {
    char tmpl[] = "/tmp/hopbox-fuzz-keystore-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    return fs::path(tmpl);
  }();
  return dir;
}

// Argon2id as costly as the file asks would make most executions seconds long: files asking
// more than the seeds' cost (opslimit 1..2, memlimit up to 64 KiB) are skipped. The checks that
// run before the derivation are reached anyway by inputs that fail them.
bool too_costly(const std::string& text) {
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return false;
  const auto ops = doc.find("opslimit");
  const auto mem = doc.find("memlimit");
  if (ops == doc.end() || mem == doc.end()) return false;
  return ops->is_number_unsigned() && mem->is_number_unsigned() &&
         (ops->get<std::uint64_t>() > 2 || mem->get<std::uint64_t>() > (64 << 10));
}

void use(hopbox::SoftwareKeyStore& keys) {
  const std::uint8_t message[] = {'f', 'u', 'z', 'z'};
  if (keys.has_device_keys(kLabel)) {
    (void)keys.signing_public_key(kLabel);
    (void)keys.sign(kLabel, message);
  }
  const auto sealed = keys.seal(kLabel, message);
  std::uint8_t out[sizeof message];
  if (!keys.unseal(kLabel, sealed, out) || !std::equal(out, out + sizeof out, message)) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (too_costly(text)) return 0;
  {
    std::ofstream out(directory() / "software-keys.json", std::ios::binary | std::ios::trunc);
    out << text;
  }
  try {
    auto keys = hopbox::SoftwareKeyStore::open(directory(), kPassphrase);
    use(*keys);
  } catch (const std::runtime_error&) {
    // A damaged file or a wrong passphrase: refused as the contract says.
  }
  return 0;
}
