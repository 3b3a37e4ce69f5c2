// Where a device's keys live, as the client needs them: a signing key that never leaves, and
// a sealing key for the mupre secret key. Two homes: a PKCS#11 token (token.h), or, on
// machines without one, a passphrase-protected file (software_keystore.h), which is weaker.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mupre/keys.h"

namespace hopbox {

using Bytes = std::vector<std::uint8_t>;

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // Creates the device's signing and sealing keys under `key_label`; throws if they exist.
  virtual void generate_device_keys(const std::string& key_label) = 0;
  virtual bool has_device_keys(const std::string& key_label) = 0;
  // Destroys the keys under `key_label` (those of a set-up that failed); absent ones are fine.
  virtual void delete_device_keys(const std::string& key_label) = 0;
  // The signing key's public half, SubjectPublicKeyInfo DER (ECDSA P-256).
  virtual Bytes signing_public_key(const std::string& key_label) = 0;
  // ECDSA P-256 over SHA-256(message), DER-encoded.
  virtual Bytes sign(const std::string& key_label, std::span<const std::uint8_t> message) = 0;
  // Authenticated encryption under the device's sealing key, bound to key_label.
  virtual Bytes seal(const std::string& key_label, std::span<const std::uint8_t> plain) = 0;
  // Unseals into `out` (exactly the plaintext's size); false if the blob is not authentic.
  virtual bool unseal(const std::string& key_label, std::span<const std::uint8_t> sealed,
                      std::span<std::uint8_t> out) = 0;
  // True for hardware-bound keys; false for the software fallback.
  virtual bool hardware_bound() const = 0;
};

// A mupre secret key kept sealed by a KeyStore: load_secret unseals it for one operation.
class SealedSecretKey final : public mupre::SecretKeySource {
 public:
  // Generates a new mupre key, seals it and forgets it. The sealed blob is what the client
  // stores (useless without the key store).
  static SealedSecretKey create(KeyStore& store, const std::string& key_label);
  // Binds a stored sealed blob and its public key. Throws std::invalid_argument on bad input.
  SealedSecretKey(KeyStore& store, std::string key_label, Bytes sealed,
                  const mupre::PublicKey& public_key);

  const mupre::PublicKey& public_key() const override { return public_key_; }
  mupre::Error load_secret(
      std::span<std::uint8_t, mupre::bls12_381::kScalarSize> out) const override;
  const Bytes& sealed() const { return sealed_; }

 private:
  KeyStore* store_;
  std::string key_label_;
  Bytes sealed_;
  mupre::PublicKey public_key_;
};

}  // namespace hopbox
