// hopboxd: the Hopbox cloud storage service.
//
//   hopboxd --data-dir DIR [--listen 127.0.0.1:7443] [--tls-cert F --tls-key F]
//           [--cache-entries N] [--threads N] [--port-file F]
//           [--ca HOST:PORT --ca-root PEM [--revocation-refresh SECONDS]]
//           [--max-rekeys-per-key N] [--max-watches-per-device N] [--max-challenges-per-device N]
//           [--crash-at STEP (tests only)]
//
// With --ca, devices register only with a certificate chain to the CA's root for their account,
// and devices whose certificates the CA revoked are refused (the list is polled).
//
// Embedded storage by default: DIR/hopbox.db (SQLite, WAL) and DIR/payloads/. TLS always; a
// self-signed certificate for localhost is made in DIR/tls/ when none is given. SIGTERM or
// SIGINT stop it gracefully: no new calls, running ones finish (bounded), the database closes.
// One hopboxd per data folder (a lock on DIR/server.lock) and per port (no SO_REUSEPORT).
#include <grpcpp/grpcpp.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "crash_points.h"
#include "hopbox/exit_codes.h"
#include "hopbox/net.h"
#include "hopbox/version.h"
#include "payload_store.h"
#include "reencryptor.h"
#include "service.h"
#include "sqlite_store.h"
#include "tls.h"

int main(int argc, char** argv) {
  // Past a file size limit a write fails (EFBIG) and the upload is refused, instead of the
  // signal ending every client's session.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"hopboxd: the Hopbox cloud storage service"};
  std::string data_dir, listen = "127.0.0.1:7443", tls_cert, tls_key, port_file;
  std::size_t cache_entries = 10000;
  unsigned threads = 0;
  app.add_option("--data-dir", data_dir, "directory for the database and payloads")->required();
  app.add_option("--listen", listen, "address:port to listen on");
  app.add_option("--tls-cert", tls_cert, "PEM certificate chain (default: self-signed)");
  app.add_option("--tls-key", tls_key, "PEM private key for --tls-cert");
  app.add_option("--cache-entries", cache_entries, "re-encrypted capsules kept in memory");
  app.add_option("--threads", threads, "re-encryption threads (default: one per CPU)");
  app.add_option("--port-file", port_file, "write the bound port here once listening");
  std::string ca, ca_root;
  int revocation_refresh = 30;
  app.add_option("--ca", ca, "hopbox-ca address: require certified devices, honour revocations");
  app.add_option("--ca-root", ca_root, "the CA's root.pem (its device root and TLS certificate)")
      ->check(CLI::ExistingFile);
  app.add_option("--revocation-refresh", revocation_refresh, "seconds between revocation checks")
      ->check(CLI::Range(1, 86400));
  hopboxd::ServiceLimits limits;
  app.add_option("--recovery-request-seconds", limits.recovery_request_seconds,
                 "how long a new device may wait for its recovery (default: a week)")
      ->check(CLI::Range(1, 365 * 24 * 3600));
  app.add_option("--recovery-wait-seconds", limits.recovery_wait_seconds,
                 "waiting period of a recovery, during which the account's devices can cancel "
                 "it (default: a day)")
      ->check(CLI::Range(0, 30 * 24 * 3600));
  app.add_option("--max-rekeys-per-key", limits.max_rekeys_per_key,
                 "re-encryption keys that may start at one device key (default: 4096)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  app.add_option("--max-watches-per-device", limits.max_watches_per_device,
                 "concurrent inbox watch streams per device (default: 4)")
      ->check(CLI::Range(1, 64));
  app.add_option("--max-challenges-per-device", limits.max_challenges_per_device,
                 "outstanding sign-in challenges per device; the oldest make way (default: 16)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1024}));
  std::string crash_at;
  app.add_option("--crash-at", crash_at,
                 "for tests only: die as by kill -9 at this step (docs/testing.md, \"Crash "
                 "points\")")
      ->check([](const std::string& name) {
        return hopboxd::is_crash_point(name) ? std::string() : "no crash point " + name;
      });
  app.set_version_flag("--version", "hopboxd " HOPBOX_VERSION);
  namespace exit_code = hopbox::exit_code;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; any other parse error is a usage error.
    return app.exit(e) == 0 ? exit_code::kOk : exit_code::kUsage;
  }
  if (!crash_at.empty()) hopboxd::arm_crash_point(crash_at);
  if (ca.empty() != ca_root.empty()) {
    std::fprintf(stderr, "hopboxd: --ca and --ca-root go together\n");
    return exit_code::kUsage;
  }
  try {
    hopbox::net::check_listen_address(listen, !port_file.empty());
  } catch (const hopbox::net::UsageError& e) {
    std::fprintf(stderr, "hopboxd: %s\n", e.what());
    return exit_code::kUsage;
  }
  // logfmt: one event per line, key=value, for log collectors. Messages never carry secrets.
  spdlog::set_pattern(R"(time=%Y-%m-%dT%H:%M:%S.%e%z level=%l msg="%v")");

  try {
    namespace fs = std::filesystem;
    fs::create_directories(data_dir);
    // Before anything touches the folder: a second hopboxd would collect the first's
    // in-progress uploads as garbage.
    const hopbox::net::DataDirLock lock(data_dir);
    hopboxd::TlsFiles tls;
    if (!tls_cert.empty() || !tls_key.empty()) {
      if (tls_cert.empty() || tls_key.empty()) {
        spdlog::error("--tls-cert and --tls-key go together");
        return exit_code::kUsage;
      }
      tls = {hopboxd::read_text_file(tls_cert), hopboxd::read_text_file(tls_key)};
    } else {
      tls = hopboxd::self_signed_tls(data_dir);
    }
    const std::string database = (fs::path(data_dir) / "hopbox.db").string();
    hopboxd::SqliteStore store(database);
    if (!store.writable()) {
      spdlog::warn(
          "the database {} cannot be written (read-only): serving reads only, every write is "
          "refused as UNAVAILABLE until it can be written and hopboxd restarts",
          database);
    }
    hopboxd::PayloadStore payloads(fs::path(data_dir) / "payloads");
    // A read-only database may be an older copy: payloads it does not name may be newer items'.
    if (store.writable()) payloads.collect_garbage(store.all_payload_digests());
    hopboxd::Reencryptor reencryptor(cache_entries, threads);
    std::unique_ptr<hopboxd::CertificatePolicy> certificates;
    if (!ca.empty()) {
      certificates = std::make_unique<hopboxd::CertificatePolicy>(
          ca, hopboxd::read_text_file(ca_root), revocation_refresh);
    }
    hopboxd::HopboxService service(store, payloads, reencryptor, limits, certificates.get());

    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.certificate_pem});
    grpc::ServerBuilder builder;
    int port = 0;
    hopbox::net::add_exclusive_listening_port(builder, listen, grpc::SslServerCredentials(ssl),
                                              &port);
    builder.RegisterService(&service);
    builder.SetMaxReceiveMessageSize(8 << 20);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    if (!server || port == 0) {
      spdlog::error("{}", hopbox::net::listen_failure(listen));
      return exit_code::kFailed;
    }
    if (!port_file.empty()) hopbox::net::write_port_file(port_file, port);
    spdlog::info("hopboxd listening on {} (port {}), data in {}", listen, port, data_dir);
    // What clients need to trust this service (hopbox setup/init --server-ca).
    spdlog::info("clients: --server {}:{} --server-ca {}", listen.substr(0, listen.rfind(':')),
                 port,
                 tls_cert.empty() ? (fs::absolute(data_dir) / "tls" / "cert.pem").string()
                                  : fs::absolute(tls_cert).string());
    hopbox::net::wait_for_stop_signal();
    spdlog::info("stopping");
    service.shutdown();
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    spdlog::info("stopped");
    return exit_code::kOk;
  } catch (const std::exception& e) {
    spdlog::error("hopboxd: {}", e.what());
    return exit_code::kFailed;
  }
}
