// A real hopbox-ca process on loopback with its own data directory, and its operator's CLI.
#pragma once

#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "certs/verify.h"
#include "hopbox/testing/process.h"
#include "hopbox/v1/ca.grpc.pb.h"

namespace hopbox_ca::test {

namespace fs = std::filesystem;

class TestCa {
 public:
  // init_args: further `hopbox-ca init` options (e.g. a token for the root key); serve_args:
  // further `hopbox-ca serve` options (e.g. "--recovery-wait-seconds", "3600").
  explicit TestCa(const std::string& init_args = "",
                  const std::vector<std::string>& serve_args = {}) {
    char tmpl[] = "/tmp/hopbox-ca-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    if (operator_cli("init --data-dir " + data() + " " + init_args).first != 0) {
      throw std::runtime_error("hopbox-ca init failed: " + last_operator_error());
    }
    port_ = process_.start(HOPBOX_CA_BINARY, serve_command("127.0.0.1:0", serve_args),
                           dir_ / "ca.log", dir_ / "port");
  }
  // Stops the server at once, as an outage would; its data stays.
  void stop() { process_.stop(SIGKILL); }
  // Serves the same data on the same port again, with these `serve` options.
  void restart(const std::vector<std::string>& serve_args = {}) {
    process_.stop(SIGKILL);
    port_ = process_.start(HOPBOX_CA_BINARY, serve_command(address(), serve_args), dir_ / "ca.log",
                           dir_ / "port");
  }
  ~TestCa() {
    process_.stop(SIGKILL);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // Runs `hopbox-ca ARGS`; exit code and standard output (standard error goes to the log).
  std::pair<int, std::string> operator_cli(const std::string& args) const {
    return hopbox::testing::run_capture(std::string(HOPBOX_CA_BINARY) + " " + args + " 2>>" +
                                        (dir_ / "operator.log").string());
  }
  // The operator invites `identifier`; returns the enrollment code ("" if refused).
  std::string invite(const std::string& identifier) const {
    const auto [code, out] =
        operator_cli("invite --json --data-dir " + data() + " '" + identifier + "'");
    if (code != 0) return "";
    return nlohmann::json::parse(out).at("code").get<std::string>();
  }
  std::string last_operator_error() const {
    return hopbox::testing::read_all(dir_ / "operator.log");
  }

  std::string data() const { return (dir_ / "data").string(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // The device root and the CA's TLS certificate (certs::CaAnchors), as clients get it.
  fs::path root_pem() const { return dir_ / "data" / "root.pem"; }
  std::unique_ptr<hopbox::v1::CertificateAuthority::Stub> stub() const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs =
        hopbox::certs::parse_ca_anchors(hopbox::testing::read_all(root_pem())).tls_anchor_pem;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return hopbox::v1::CertificateAuthority::NewStub(
        grpc::CreateCustomChannel(address(), grpc::SslCredentials(ssl), args));
  }

 private:
  std::vector<std::string> serve_command(const std::string& listen,
                                         const std::vector<std::string>& serve_args) const {
    std::vector<std::string> args = {
        "serve", "--data-dir", data(), "--listen", listen, "--port-file", (dir_ / "port").string()};
    args.insert(args.end(), serve_args.begin(), serve_args.end());
    // Tests' R1 completes at once unless a test asks for the waiting period.
    if (std::find(serve_args.begin(), serve_args.end(), "--recovery-wait-seconds") ==
        serve_args.end()) {
      args.insert(args.end(), {"--recovery-wait-seconds", "0"});
    }
    return args;
  }

  fs::path dir_;
  hopbox::testing::ChildProcess process_;
  int port_ = 0;
};

}  // namespace hopbox_ca::test
