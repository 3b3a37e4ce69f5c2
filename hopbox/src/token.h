// A device's keys in a PKCS#11 token (a TPM, a smart card; SoftHSM2 in tests): a
// non-extractable AES-256 key that seals the device's mupre secret key, and a non-extractable
// ECDSA P-256 key pair that signs (sessions at the service, certificates). Neither private key
// ever leaves the token; the mupre secret leaves it only sealed, and is unsealed for one
// operation into memory that mupre wipes (TokenSecretKey below).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "mupre/keys.h"

namespace hopbox {

using Bytes = std::vector<std::uint8_t>;

// A PKCS#11 call failed; rv is the CK_RV, message says which call.
class TokenError : public std::runtime_error {
 public:
  TokenError(const std::string& what, unsigned long rv);
  unsigned long rv() const { return rv_; }

 private:
  unsigned long rv_;
};

class Token {
 public:
  // Loads the module (dlopen), finds the token by label, opens a read-write session and logs
  // in as the user. Throws TokenError (wrong PIN: rv = CKR_PIN_INCORRECT).
  static std::unique_ptr<Token> open(const std::string& module_path, const std::string& label,
                                     const std::string& pin);
  ~Token();
  Token(const Token&) = delete;
  Token& operator=(const Token&) = delete;

  // Creates the device's two keys under `key_label`; throws if they exist already.
  void generate_device_keys(const std::string& key_label);
  bool has_device_keys(const std::string& key_label);
  // The signing key's public half, SubjectPublicKeyInfo DER.
  Bytes signing_public_key(const std::string& key_label);
  // ECDSA P-256 over SHA-256(message), DER-encoded (as OpenSSL verifies it).
  Bytes sign(const std::string& key_label, std::span<const std::uint8_t> message);
  // AES-256-GCM under the device's sealing key: 12-byte IV, ciphertext, 16-byte tag.
  Bytes seal(const std::string& key_label, std::span<const std::uint8_t> plain);
  // Unseals into `out` (exactly the plaintext's size). False if the blob is not authentic.
  bool unseal(const std::string& key_label, std::span<const std::uint8_t> sealed,
              std::span<std::uint8_t> out);

  // For tests that prove the keys cannot leave: the CK_RV of reading CKA_VALUE of the sealing
  // key or the private signing key, and of wrapping it out under a fresh session key.
  unsigned long try_read_secret_value(const std::string& key_label, bool sealing_key);
  unsigned long try_wrap_out(const std::string& key_label, bool sealing_key);

 private:
  struct Impl;
  explicit Token(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A mupre secret key that lives sealed by a token: load_secret unseals it for one operation.
class TokenSecretKey final : public mupre::SecretKeySource {
 public:
  // Generates a new mupre key, seals it under the device's token key and forgets it. The
  // sealed blob is what the client stores (it is useless without the token).
  static TokenSecretKey create(Token& token, const std::string& key_label);
  // Binds a stored sealed blob and its public key. Throws std::invalid_argument on bad input.
  TokenSecretKey(Token& token, std::string key_label, Bytes sealed,
                 const mupre::PublicKey& public_key);

  const mupre::PublicKey& public_key() const override { return public_key_; }
  mupre::Error load_secret(
      std::span<std::uint8_t, mupre::bls12_381::kScalarSize> out) const override;
  const Bytes& sealed() const { return sealed_; }

 private:
  Token* token_;
  std::string key_label_;
  Bytes sealed_;
  mupre::PublicKey public_key_;
};

}  // namespace hopbox
