// Helpers shared by the client's translation units (client.cc: Protocol 1; recovery.cc:
// Protocol 2). Not part of the client's interface.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "keystore.h"
#include "state.h"

namespace hopbox::internal {

// Device certificates (issued by a device for another) are valid this long.
inline constexpr std::int64_t kDeviceCertificateSeconds = 5LL * 365 * 24 * 3600;

std::int64_t random_serial();  // positive, never zero, from the OS's randomness
std::int64_t now_seconds();
// "2026-11-28 10:00 UTC": a time to show a person.
std::string format_time(std::int64_t unix_seconds);
Bytes bytes_of(const std::string& s);
std::string string_of(std::span<const std::uint8_t> b);
// Hexadecimal from the device state; throws ClientError naming `what`.
Bytes unhex(const std::string& s, const char* what);
// Throws ClientError (exit code 1 when unreachable, 3 when refused) unless s is OK.
void check(const grpc::Status& s, const std::string& what);
// A new device's keys made in its key store; the state to save.
DeviceState make_device_keys(const std::filesystem::path& dir, const std::string& pin,
                             DeviceState base, std::unique_ptr<KeyStore>& keys);

}  // namespace hopbox::internal
