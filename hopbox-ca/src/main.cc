// hopbox-ca: the Hopbox certification authority and its operator's command line.
//
//   hopbox-ca init   --data-dir DIR [--name NAME] [--tls-name HOST]...
//                    [--module PKCS11.so --token LABEL]   (root key in a token; PIN from
//                                                          $HOPBOX_CA_PIN or --pin-file)
//   hopbox-ca serve  --data-dir DIR [--listen 127.0.0.1:7444] [--port-file F]
//                    [--recovery-wait-seconds 86400] [--revocation-list-seconds 86400]
//   hopbox-ca invite --data-dir DIR IDENTIFIER [--valid-hours 72] [--json]
//   hopbox-ca list   --data-dir DIR [--json]
//   hopbox-ca revoke --data-dir DIR (IDENTIFIER | --serial N)
//   hopbox-ca reset  --data-dir DIR IDENTIFIER   (an enrollment the cloud never registered)
//
// DIR holds the CA's key (owner-only), root.pem (what clients are configured with: the device
// root and the CA's self-signed TLS certificate), the TLS key and certificate, and ca.db. Nothing
// of the CA runs inside hopboxd.
#include <grpcpp/grpcpp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ca_keys.h"
#include "ca_service.h"
#include "ca_store.h"
#include "hopbox/exit_codes.h"
#include "hopbox/net.h"
#include "hopbox/version.h"
#include "identifier.h"

namespace {

namespace exit_code = hopbox::exit_code;

namespace fs = std::filesystem;
using namespace hopbox_ca;

std::string hex(const Bytes& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  for (const auto x : b) {
    s += kHex[x >> 4];
    s += kHex[x & 15];
  }
  return s;
}

// 12 characters of Crockford's base32 (60 bits), grouped for reading aloud.
std::string new_enrollment_code() {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  unsigned char r[12];
  if (RAND_bytes(r, sizeof r) != 1) throw std::runtime_error("no randomness");
  std::string code;
  for (std::size_t i = 0; i < sizeof r; ++i) {
    if (i > 0 && i % 4 == 0) code += '-';
    code += kAlphabet[r[i] & 31];
  }
  return code;
}

std::string g_pin_file;

// The token PIN, only asked for when the CA's key lives in a token.
std::string token_pin() {
  if (!g_pin_file.empty()) {
    std::ifstream in(g_pin_file);
    std::string pin;
    std::getline(in, pin);
    if (!in && pin.empty()) throw std::runtime_error("cannot read " + g_pin_file);
    return pin;
  }
  if (const char* p = std::getenv("HOPBOX_CA_PIN")) return p;
  throw std::runtime_error("the CA key is in a token: set HOPBOX_CA_PIN or pass --pin-file");
}

int serve(const fs::path& dir, const std::string& listen, const std::string& port_file,
          std::int64_t recovery_wait_seconds, std::int64_t revocation_list_seconds) {
  if (!fs::exists(dir / "root.pem")) {
    throw std::runtime_error(dir.string() + " holds no CA: run `hopbox-ca init` first");
  }
  // The keys are only read; the lock comes before the store, which a second server would
  // share. The operator's commands (invite, list, revoke) still work beside the server.
  const auto keys = CaKeys::load(dir, token_pin);
  const hopbox::net::DataDirLock lock(dir);
  CaStore store((dir / "ca.db").string());
  const IdentifierPolicy policy;
  CaService service(store, *keys, policy, 5, recovery_wait_seconds, revocation_list_seconds);
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({keys->tls_private_key_pem, keys->tls_certificate_pem});
  grpc::ServerBuilder builder;
  int port = 0;
  hopbox::net::add_exclusive_listening_port(builder, listen, grpc::SslServerCredentials(ssl),
                                            &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(1 << 20);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    spdlog::error("{}", hopbox::net::listen_failure(listen));
    return exit_code::kFailed;
  }
  if (!port_file.empty()) hopbox::net::write_port_file(port_file, port);
  spdlog::info("hopbox-ca listening on {} (port {}), data in {}", listen, port, dir.string());
  hopbox::net::wait_for_stop_signal();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  spdlog::info("stopped");
  return exit_code::kOk;
}

int invite(const fs::path& dir, const std::string& raw, int hours, bool json) {
  CaStore store((dir / "ca.db").string());
  const IdentifierPolicy policy;
  std::string id;
  try {
    id = policy.normalize(raw);
  } catch (const IdentifierRefused& e) {
    std::cerr << "hopbox-ca: \"" << raw << "\" refused: " << e.what() << "\n";
    return exit_code::kRefused;
  }
  if (const auto other = store.confusable_with(id, policy.skeleton(id))) {
    std::cerr << "hopbox-ca: \"" << id << "\" refused: a reader could mistake it for the "
              << "existing identifier \"" << *other << "\"\n";
    return exit_code::kRefused;
  }
  if (store.is_certified(id)) {
    std::cerr << "hopbox-ca: \"" << id << "\" is certified already (if its `hopbox init` never "
              << "completed, `hopbox-ca reset " << id << "` frees it)\n";
    return exit_code::kRefused;
  }
  const std::string code = new_enrollment_code();
  const std::int64_t expires = unix_now() + std::int64_t{hours} * 3600;
  store.put_invite(id, policy.skeleton(id), hash_code(code), expires);
  if (json) {
    std::cout << nlohmann::json{{"identifier", id}, {"code", code}, {"expires_at", expires}}.dump()
              << "\n";
  } else {
    std::cout << "identifier:      " << id << "\nenrollment code: " << code
              << "\nvalid for:       " << hours << " hours (give it to the user in person)\n";
  }
  return exit_code::kOk;
}

int list(const fs::path& dir, bool json) {
  CaStore store((dir / "ca.db").string());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : store.certificates()) {
    if (json) {
      out.push_back({{"serial", c.serial},
                     {"identifier", c.identifier},
                     {"fingerprint", hex(c.fingerprint)},
                     {"issued_at", c.issued_at},
                     {"revoked_at", c.revoked_at}});
    } else {
      std::cout << c.serial << "  " << c.identifier << "  " << hex(c.fingerprint).substr(0, 16)
                << (c.revoked_at ? "  revoked" : "") << "\n";
    }
  }
  if (json) std::cout << out.dump() << "\n";
  return exit_code::kOk;
}

int revoke(const fs::path& dir, const std::string& identifier, std::int64_t serial) {
  CaStore store((dir / "ca.db").string());
  int n = 0;
  for (const auto& c : store.certificates()) {
    if ((serial != 0 && c.serial == serial) ||
        (!identifier.empty() && c.identifier == identifier)) {
      n += store.revoke(c.fingerprint, c.identifier, unix_now(), "revoked by the operator") ? 1 : 0;
    }
  }
  if (n == 0) {
    std::cerr << "hopbox-ca: no valid certificate matches\n";
    return exit_code::kRefused;
  }
  std::cout << "revoked " << n << " certificate(s)\n";
  return exit_code::kOk;
}

// Only on the CA's machine (its database), never over the network: a reset revokes the
// identifier's certificate, which an enrolled user must not be able to ask for.
int reset(const fs::path& dir, const std::string& raw) {
  CaStore store((dir / "ca.db").string());
  const IdentifierPolicy policy;
  std::string id;
  try {
    id = policy.normalize(raw);
  } catch (const IdentifierRefused& e) {
    std::cerr << "hopbox-ca: \"" << raw << "\" refused: " << e.what() << "\n";
    return exit_code::kUsage;
  }
  switch (store.reset_identity(id, unix_now())) {
    case ResetOutcome::kReset:
      std::cout << "reset \"" << id << "\": its certificate is revoked; `hopbox-ca invite " << id
                << "` gives a new enrollment code\n";
      return exit_code::kOk;
    case ResetOutcome::kNotEnrolled:
      std::cerr << "hopbox-ca: \"" << id << "\" is not enrolled (nothing to reset)\n";
      return exit_code::kRefused;
    case ResetOutcome::kConfirmed:
      std::cerr << "hopbox-ca: \"" << id << "\" completed its enrollment (the cloud registered "
                << "its primary): an account in use is recovered, never reset\n";
      return exit_code::kRefused;
  }
  return exit_code::kFailed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hopbox-ca: the Hopbox certification authority"};
  app.require_subcommand(1);
  std::string dir;
  auto add_dir = [&](CLI::App* c) {
    c->add_option("--data-dir", dir, "the CA's directory (keys, root.pem, ca.db)")->required();
  };
  std::string name = "Hopbox CA", listen = "127.0.0.1:7444", port_file, identifier;
  CaToken token;
  app.add_option("--pin-file", g_pin_file, "file holding the CA token's PIN ($HOPBOX_CA_PIN)");
  std::vector<std::string> tls_names;
  int hours = 72;
  std::int64_t serial = 0;
  bool json = false;

  auto* init = app.add_subcommand("init", "create the CA's keys and root certificate");
  add_dir(init);
  init->add_option("--name", name, "the root certificate's name");
  init->add_option("--tls-name", tls_names, "extra host names or addresses for TLS");
  init->add_option("--module", token.module, "PKCS#11 module: keep the root key in a token")
      ->check(CLI::ExistingFile);
  init->add_option("--token", token.token_label, "label of that token");
  auto* srv = app.add_subcommand("serve", "run the CA service");
  add_dir(srv);
  srv->add_option("--listen", listen, "address:port to listen on");
  srv->add_option("--port-file", port_file, "write the bound port here once listening");
  // As long as hopboxd's own period, or a stolen secondary could skip the cloud's (issue 12).
  std::int64_t recovery_wait_seconds = 24 * 3600;
  srv->add_option("--recovery-wait-seconds", recovery_wait_seconds,
                  "how long a secondary's recovery of the primary (R1) waits, announced and "
                  "cancellable, before the CA completes it (0: at once)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{365} * 24 * 3600));
  // Long enough to ride out a CA outage, short enough that a revocation reaches everyone.
  std::int64_t revocation_list_seconds = 24 * 3600;
  srv->add_option("--revocation-list-seconds", revocation_list_seconds,
                  "how long each signed revocation list is valid: while the CA is unreachable, "
                  "devices and the cloud keep using their last one until then, and then refuse")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{30} * 24 * 3600));
  auto* inv = app.add_subcommand("invite", "print a one-time enrollment code for an identifier");
  add_dir(inv);
  inv->add_option("identifier", identifier, "the user's identifier")->required();
  inv->add_option("--valid-hours", hours, "how long the code is valid")->check(CLI::Range(1, 720));
  inv->add_flag("--json", json, "machine-readable output");
  auto* ls = app.add_subcommand("list", "list issued certificates");
  add_dir(ls);
  ls->add_flag("--json", json, "machine-readable output");
  auto* rv = app.add_subcommand("revoke", "revoke an identifier's certificates, or one serial");
  add_dir(rv);
  rv->add_option("identifier", identifier, "revoke every certificate of this identifier");
  rv->add_option("--serial", serial, "revoke this certificate");
  auto* rs = app.add_subcommand(
      "reset",
      "free an identifier whose enrollment never completed (`hopbox init` failed after the CA "
      "certified it): revokes its certificate so that `invite` works again; refused once the "
      "enrolled device confirmed that the cloud registered it");
  add_dir(rs);
  rs->add_option("identifier", identifier, "the identifier to reset")->required();
  app.set_version_flag("--version", "hopbox-ca " HOPBOX_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; any other parse error is a usage error.
    return app.exit(e) == 0 ? exit_code::kOk : exit_code::kUsage;
  }
  spdlog::set_pattern(R"(time=%Y-%m-%dT%H:%M:%S.%e%z level=%l msg="%v")");

  try {
    if (init->parsed()) {
      if (token.module.empty() != token.token_label.empty()) {
        std::cerr << "hopbox-ca init: --module and --token go together\n";
        return exit_code::kUsage;
      }
      const bool in_token = !token.module.empty();
      CaKeys::create(dir, name, tls_names, in_token ? std::optional(token) : std::nullopt,
                     in_token ? token_pin() : "");
      std::cout << "CA created in " << dir << "; give clients " << (fs::path(dir) / "root.pem")
                << " (the device root and the CA's TLS certificate)\n";
      return exit_code::kOk;
    }
    if (srv->parsed()) {
      try {
        hopbox::net::check_listen_address(listen, !port_file.empty());
      } catch (const hopbox::net::UsageError& e) {
        std::cerr << "hopbox-ca serve: " << e.what() << "\n";
        return exit_code::kUsage;
      }
      return serve(dir, listen, port_file, recovery_wait_seconds, revocation_list_seconds);
    }
    if (inv->parsed()) return invite(dir, identifier, hours, json);
    if (ls->parsed()) return list(dir, json);
    if (rs->parsed()) return reset(dir, identifier);
    if (identifier.empty() == (serial == 0)) {
      std::cerr << "hopbox-ca revoke: give an identifier or --serial\n";
      return exit_code::kUsage;
    }
    return revoke(dir, identifier, serial);
  } catch (const std::exception& e) {
    std::cerr << "hopbox-ca: " << e.what() << "\n";
    return exit_code::kFailed;
  }
}
