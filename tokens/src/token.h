// A device's keys in a PKCS#11 token (a TPM, a smart card; SoftHSM2 in tests): a
// non-extractable AES-256 key that seals the device's mupre secret key, and a non-extractable
// ECDSA P-256 key pair that signs (sessions at the service, certificates). Neither private key
// ever leaves the token; the mupre secret leaves it only sealed, and is unsealed for one
// operation into memory that mupre wipes (SealedSecretKey in keystore.h).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "keystore.h"

namespace hopbox {

// A PKCS#11 call failed; rv is the CK_RV, message says which call.
class TokenError : public std::runtime_error {
 public:
  TokenError(const std::string& what, unsigned long rv);
  // A message for the person as it is (no CK_RV appended): a wrong or locked PIN.
  static TokenError plain(const std::string& message, unsigned long rv);
  unsigned long rv() const { return rv_; }

 private:
  TokenError(unsigned long rv, const std::string& message) : std::runtime_error(message), rv_(rv) {}
  unsigned long rv_;
};

class Token final : public KeyStore {
 public:
  // Loads the module (dlopen), finds the token by label, opens a read-write session and logs
  // in as the user. Throws TokenError (wrong PIN: rv = CKR_PIN_INCORRECT, and the message says
  // "wrong PIN" and what the token reports of the tries left).
  static std::unique_ptr<Token> open(const std::string& module_path, const std::string& label,
                                     const std::string& pin);
  // Whether the module has an initialized token labelled `label`.
  static bool exists(const std::string& module_path, const std::string& label);
  // Initializes the module's first free token (one not yet initialized, as SoftHSM2 always
  // offers) as `label`, with the security officer's PIN and the user's PIN. Throws TokenError
  // if there is no free token or the module refuses.
  static void initialize(const std::string& module_path, const std::string& label,
                         const std::string& so_pin, const std::string& pin);
  ~Token() override;
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  // Creates the device's two keys under `key_label`; throws if they exist already.
  void generate_device_keys(const std::string& key_label) override;
  bool has_device_keys(const std::string& key_label) override;
  void delete_device_keys(const std::string& key_label) override;
  bool hardware_bound() const override { return true; }
  // The signing key's public half, SubjectPublicKeyInfo DER.
  Bytes signing_public_key(const std::string& key_label) override;
  // ECDSA P-256 over SHA-256(message), DER-encoded (as OpenSSL verifies it).
  Bytes sign(const std::string& key_label, std::span<const std::uint8_t> message) override;
  // AES-256-GCM under the device's sealing key: 12-byte IV, ciphertext, 16-byte tag.
  Bytes seal(const std::string& key_label, std::span<const std::uint8_t> plain) override;
  // Unseals into `out` (exactly the plaintext's size). False if the blob is not authentic.
  bool unseal(const std::string& key_label, std::span<const std::uint8_t> sealed,
              std::span<std::uint8_t> out) override;

  // For tests that prove the keys cannot leave: the CK_RV of reading CKA_VALUE of the sealing
  // key or the private signing key, and of wrapping it out under a fresh session key.
  unsigned long try_read_secret_value(const std::string& key_label, bool sealing_key);
  unsigned long try_wrap_out(const std::string& key_label, bool sealing_key);

 private:
  struct Impl;
  explicit Token(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hopbox
