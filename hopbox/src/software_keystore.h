// The fallback for machines without any token: the device's keys in a file of its state
// directory, encrypted under a key derived from a passphrase with Argon2id. WEAKER than a
// token: whoever copies the file can try passphrases offline, and the keys are in this
// process's memory while in use. The client says so wherever it is used.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include "keystore.h"

namespace hopbox {

class SoftwareKeyStore final : public KeyStore {
 public:
  // Opens DIR/software-keys.json, or prepares a new one; throws std::runtime_error for a
  // wrong passphrase ("wrong passphrase") or a damaged file.
  static std::unique_ptr<SoftwareKeyStore> open(const std::filesystem::path& dir,
                                                const std::string& passphrase);
  ~SoftwareKeyStore() override;

  void generate_device_keys(const std::string& key_label) override;
  bool has_device_keys(const std::string& key_label) override;
  void delete_device_keys(const std::string& key_label) override;
  Bytes signing_public_key(const std::string& key_label) override;
  Bytes sign(const std::string& key_label, std::span<const std::uint8_t> message) override;
  Bytes seal(const std::string& key_label, std::span<const std::uint8_t> plain) override;
  bool unseal(const std::string& key_label, std::span<const std::uint8_t> sealed,
              std::span<std::uint8_t> out) override;
  bool hardware_bound() const override { return false; }

 private:
  SoftwareKeyStore() = default;
  Bytes seal_with(const std::string& context, std::span<const std::uint8_t> plain) const;
  bool unseal_with(const std::string& context, std::span<const std::uint8_t> sealed,
                   std::span<std::uint8_t> out) const;
  void save() const;

  std::filesystem::path path_;
  std::uint8_t key_[32] = {};  // derived from the passphrase; wiped on destruction
  nlohmann::json doc_;
};

}  // namespace hopbox
