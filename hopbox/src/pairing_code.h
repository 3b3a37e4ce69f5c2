// The pairing code a new device shows and its account's primary approves (docs/formats.md):
// "HBP1-" and the hexadecimal of the signing key's length (one byte), the signing key
// (SubjectPublicKeyInfo DER) and the mupre public key. It arrives from another device, through
// the service: untrusted input.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mupre/keys.h"

namespace hopbox::pairing {

struct Keys {
  std::vector<std::uint8_t> spki;
  std::vector<std::uint8_t> public_key;  // mupre::kPublicKeySize bytes, not yet decoded
};

// REQUIRES: spki of at most 255 bytes.
std::string encode(const std::vector<std::uint8_t>& spki,
                   const std::array<std::uint8_t, mupre::kPublicKeySize>& public_key);

// True when `code` starts with "HBP1-" (it means to be a pairing code, damaged or not).
bool has_prefix(const std::string& code);

// The keys, or nullopt unless `code` is "HBP1-" and hexadecimal of exactly one length byte, that
// many bytes and a public key's size.
std::optional<Keys> decode(const std::string& code);

}  // namespace hopbox::pairing
