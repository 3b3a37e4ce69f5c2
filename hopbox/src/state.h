// A device's state directory: what the client remembers between runs. Nothing in it is
// secret on its own: the mupre key is stored sealed by the token, and the session token is
// short-lived. Still, the folder is 0700 and its files 0600 from their creation, written
// atomically (a fresh temporary file, fsync, rename).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hopbox {

// A dedicated recovery key this device holds to protect another user (DESIGN.md, R2/R3).
struct RecoveryKeyState {
  std::string sealed_key;      // hex, sealed by this device's token like its own key
  std::string public_key;      // hex
  std::int64_t device_id = 0;  // its node at the service
};

// An invitation this device sent asking a user to protect the account (R2/R3): only an answer
// naming one of these installs a recovery key.
struct InvitationState {
  std::string user;             // the invited recovery user
  std::int64_t expires_at = 0;  // unix seconds
};

struct DeviceState {
  std::string server;       // host:port
  std::string server_ca;    // PEM file that the service's TLS certificate chains to
  std::string module;       // PKCS#11 module path
  std::string token_label;  // the token holding this device's keys
  std::string key_label;    // the device's keys' label inside the token
  std::string user;         // the account's identifier
  std::string device_name;
  std::int64_t device_id = 0;  // 0 until the service registered the device
  std::string sealed_key;      // hex: the mupre secret key sealed by the token
  std::string public_key;      // hex: the mupre public key encoding
  std::string session_token;
  std::int64_t session_expires = 0;
  std::string ca;                 // host:port of hopbox-ca; empty: no CA (keys unverified)
  std::string ca_root;            // PEM file of the CA's root certificate
  std::string certificate_chain;  // hex: this device's chain, leaf first (docs/formats.md)
  // Issue time of the newest CA revocation list accepted: an older one is a replay.
  std::int64_t revocation_list_issued_at = 0;
  std::map<std::string, RecoveryKeyState> recovery_keys;  // by protected user
  std::map<std::string, InvitationState> invitations;     // by nonce (hex)
  std::string recovering_via;            // a new device recovering the account: the recovery users
  std::int64_t recovery_not_before = 0;  // and the end of its waiting period (unix seconds)
  // The CA's answer (hex DER: the new primary certificate, the one it replaced). The
  // certificate is kept until the service made this device the primary (R2/R3: asked again,
  // the CA would replace this device's own certificate instead), the replaced one until the
  // rebuild after it is done.
  std::string recovery_certificate;
  std::string recovery_replaced;
  // Certificates of this account's primaries that a recovery replaced (hex SHA-256): revoked
  // for everyone else, but what they signed before the loss is still this account's own.
  std::vector<std::string> replaced_primaries;
  // After a recovery that left the items as they were (`recover --no-refresh`): the item
  // signatures a replaced primary made that the recovery found (hex SHA-256 of the signature
  // blob -> that primary's certificate, hex SHA-256). Trusted still, and nothing else it signs.
  std::map<std::string, std::string> pinned_item_signatures;
  // The lost primary's device id from just before this device asks the service to take over
  // until the rebuild that follows (re-certifying devices, making keys anew, refreshing items)
  // is done: `recover` resumes it, asking the service again unless it answered.
  std::int64_t rebuild_lost_device = 0;
  bool rebuild_taken_over = true;
  // And the options it began with: a resumed rebuild is never weaker.
  bool rebuild_keep_devices = true;
  bool rebuild_refresh_items = true;
  std::vector<std::string> rebuild_keep_recovery_users;
  bool rebuild_keep_threshold = false;
  // `init` has not finished: set when its keys are made, cleared once the cloud registered the
  // device (and, with a CA, the CA was told). Running the same `init` again resumes it.
  bool init_pending = false;
};

// Throws std::runtime_error with a message naming the file on failure.
// The CA's last signed revocation list, in the state folder: used while the CA is unreachable.
inline constexpr char kRevocationCacheFile[] = "revocations.bin";

DeviceState load_state(const std::filesystem::path& dir);
void save_state(const std::filesystem::path& dir, const DeviceState& s);
bool state_exists(const std::filesystem::path& dir);
// Removes the state file (a set-up rolled back); nothing if absent.
void remove_state(const std::filesystem::path& dir);

// Writes bytes to path atomically (a crash leaves either the old file or the new one), owner-only
// (0600) from creation on.
void write_file_atomically(const std::filesystem::path& path, const std::string& bytes);

}  // namespace hopbox
