#include "state.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "hopbox/private_files.h"

namespace hopbox {

namespace fs = std::filesystem;

namespace {
constexpr char kFile[] = "device.json";
}

void write_file_atomically(const fs::path& path, const std::string& bytes) {
  files::write_private_file(path, bytes);
}

bool state_exists(const fs::path& dir) {
  return fs::exists(dir / kFile);
}

void remove_state(const fs::path& dir) {
  std::error_code ec;
  fs::remove(dir / kFile, ec);
}

DeviceState load_state(const fs::path& dir) {
  std::ifstream in(dir / kFile);
  if (!in) {
    throw std::runtime_error("no device state in " + dir.string() + " (run `hopbox init` or " +
                             "`hopbox device add` first)");
  }
  try {
    const auto j = nlohmann::json::parse(in);
    DeviceState s;
    s.server = j.at("server");
    s.server_ca = j.at("server_ca");
    s.module = j.at("module");
    s.token_label = j.at("token_label");
    s.key_label = j.at("key_label");
    s.user = j.at("user");
    s.device_name = j.value("device_name", "");
    s.device_id = j.value("device_id", std::int64_t{0});
    s.sealed_key = j.at("sealed_key");
    s.public_key = j.at("public_key");
    s.session_token = j.value("session_token", "");
    s.session_expires = j.value("session_expires", std::int64_t{0});
    s.ca = j.value("ca", "");
    s.ca_root = j.value("ca_root", "");
    s.certificate_chain = j.value("certificate_chain", "");
    s.revocation_list_issued_at = j.value("revocation_list_issued_at", std::int64_t{0});
    s.recovering_via = j.value("recovering_via", "");
    s.recovery_not_before = j.value("recovery_not_before", std::int64_t{0});
    s.recovery_certificate = j.value("recovery_certificate", "");
    s.recovery_replaced = j.value("recovery_replaced", "");
    s.replaced_primaries = j.value("replaced_primaries", std::vector<std::string>{});
    s.pinned_item_signatures =
        j.value("pinned_item_signatures", std::map<std::string, std::string>{});
    s.rebuild_lost_device = j.value("rebuild_lost_device", std::int64_t{0});
    s.rebuild_taken_over = j.value("rebuild_taken_over", true);
    s.rebuild_keep_devices = j.value("rebuild_keep_devices", true);
    s.rebuild_refresh_items = j.value("rebuild_refresh_items", true);
    s.rebuild_keep_recovery_users =
        j.value("rebuild_keep_recovery_users", std::vector<std::string>{});
    s.rebuild_keep_threshold = j.value("rebuild_keep_threshold", false);
    s.init_pending = j.value("init_pending", false);
    if (j.contains("recovery_keys")) {
      for (const auto& [user, k] : j.at("recovery_keys").items()) {
        s.recovery_keys[user] = {k.at("sealed_key"), k.at("public_key"), k.at("device_id")};
      }
    }
    if (j.contains("invitations")) {
      for (const auto& [nonce, inv] : j.at("invitations").items()) {
        s.invitations[nonce] = {inv.at("user"), inv.at("expires_at")};
      }
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error((dir / kFile).string() + " is damaged: " + e.what());
  }
}

void save_state(const fs::path& dir, const DeviceState& s) {
  files::make_private_dir(dir);
  nlohmann::json j = {{"server", s.server},
                      {"server_ca", s.server_ca},
                      {"module", s.module},
                      {"token_label", s.token_label},
                      {"key_label", s.key_label},
                      {"user", s.user},
                      {"device_name", s.device_name},
                      {"device_id", s.device_id},
                      {"sealed_key", s.sealed_key},
                      {"public_key", s.public_key},
                      {"session_token", s.session_token},
                      {"session_expires", s.session_expires},
                      {"ca", s.ca},
                      {"ca_root", s.ca_root},
                      {"certificate_chain", s.certificate_chain},
                      {"revocation_list_issued_at", s.revocation_list_issued_at},
                      {"recovering_via", s.recovering_via},
                      {"recovery_not_before", s.recovery_not_before},
                      {"recovery_certificate", s.recovery_certificate},
                      {"recovery_replaced", s.recovery_replaced},
                      {"replaced_primaries", s.replaced_primaries},
                      {"pinned_item_signatures", s.pinned_item_signatures},
                      {"rebuild_lost_device", s.rebuild_lost_device},
                      {"rebuild_taken_over", s.rebuild_taken_over},
                      {"rebuild_keep_devices", s.rebuild_keep_devices},
                      {"rebuild_refresh_items", s.rebuild_refresh_items},
                      {"rebuild_keep_recovery_users", s.rebuild_keep_recovery_users},
                      {"rebuild_keep_threshold", s.rebuild_keep_threshold},
                      {"init_pending", s.init_pending}};
  nlohmann::json keys = nlohmann::json::object();
  for (const auto& [user, k] : s.recovery_keys) {
    keys[user] = {
        {"sealed_key", k.sealed_key}, {"public_key", k.public_key}, {"device_id", k.device_id}};
  }
  j["recovery_keys"] = keys;
  nlohmann::json invitations = nlohmann::json::object();
  for (const auto& [nonce, inv] : s.invitations) {
    invitations[nonce] = {{"user", inv.user}, {"expires_at", inv.expires_at}};
  }
  j["invitations"] = invitations;
  write_file_atomically(dir / kFile, j.dump(2) + "\n");
}

}  // namespace hopbox
