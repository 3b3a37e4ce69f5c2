// Starts a real hopboxd process on loopback with its own data directory, and a client side
// that talks to it over TLS the way a device would (software keys stand in for the token:
// the PKCS#11 client is another component).
#pragma once

#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "hopbox/testing/process.h"
#include "hopbox/v1/hopbox.grpc.pb.h"
#include "mupre/item.h"

namespace hopboxd::test {

namespace fs = std::filesystem;
namespace v1 = hopbox::v1;

using hopbox::testing::read_all;

class TestServer {
 public:
  // extra: further hopboxd options, e.g. {"--cache-entries", "0"}.
  explicit TestServer(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    char tmpl[] = "/tmp/hopboxd-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    start();
  }
  ~TestServer() {
    process_.stop(SIGKILL);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  void start() { start_on("127.0.0.1:0", {}); }
  // Stops it if it runs (SIGTERM) and starts it again on the same port, so that clients
  // configured with it find it, with `more` options (a crash point, say) for this run only.
  void restart(const std::vector<std::string>& more = {}) {
    process_.stop(SIGTERM);
    start_on("127.0.0.1:" + std::to_string(port_), more);
  }
  // Restarts it on the same port with `extra` in place of the options it was made with (a
  // dishonest cloud, say, that no longer heeds the CA).
  void restart_replacing(std::vector<std::string> extra) {
    extra_ = std::move(extra);
    restart();
  }
  // For the next start(): files of at most `bytes` (a nearly full disk).
  void limit_file_size(rlim_t bytes) { process_.limit_file_size(bytes); }
  // For the next start(): run as this user and group when the test runs as root (-1: as the test).
  void run_as(int uid, int gid) { process_.run_as(uid, gid); }
  // SIGTERM: graceful; SIGKILL: a crash. Returns the exit status (or -signal).
  int stop(int sig) { return process_.stop(sig); }
  bool running() const { return process_.running(); }
  pid_t pid() const { return process_.pid(); }
  int port() const { return port_; }

  std::unique_ptr<v1::Hopbox::Stub> stub() const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = read_all(dir_ / "tls" / "cert.pem");
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetMaxReceiveMessageSize(8 << 20);
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_),
                                             grpc::SslCredentials(ssl), args);
    return v1::Hopbox::NewStub(channel);
  }
  const fs::path& dir() const { return dir_; }

 private:
  void start_on(const std::string& listen, const std::vector<std::string>& more) {
    std::vector<std::string> args = {"--data-dir", dir_.string(), "--listen",
                                     listen,       "--port-file", (dir_ / "port").string()};
    args.insert(args.end(), extra_.begin(), extra_.end());
    args.insert(args.end(), more.begin(), more.end());
    port_ = process_.start(HOPBOXD_BINARY, args, dir_ / "server.log", dir_ / "port");
  }

  std::vector<std::string> extra_;
  fs::path dir_;
  hopbox::testing::ChildProcess process_;
  int port_ = 0;
};

// A device: a signing key (P-256) and a mupre key, plus its session with the server.
struct TestDevice {
  std::shared_ptr<EVP_PKEY> signing;
  std::shared_ptr<mupre::SecretKey> key;
  std::int64_t id = 0;
  std::string token;

  TestDevice()
      : signing(EVP_EC_gen("P-256"), EVP_PKEY_free),
        key(std::make_shared<mupre::SecretKey>(mupre::SecretKey::generate())) {}

  v1::DeviceKeys keys() const {
    v1::DeviceKeys k;
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(signing.get(), &der);
    k.set_signing_key(std::string(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)));
    OPENSSL_free(der);
    const auto pk = key->public_key().encode();
    k.set_encryption_key(std::string(pk.begin(), pk.end()));
    return k;
  }

  std::string sign(const std::string& challenge) const {
    return sign_message(std::string("hopbox v1 session") + challenge);
  }

  // ECDSA P-256 / SHA-256 (DER) over msg, as a device's token signs.
  std::string sign_message(const std::string& msg) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, signing.get());
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(msg.data()),
                   msg.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(msg.data()), msg.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return sig;
  }

  grpc::Status login(v1::Hopbox::Stub& stub) {
    grpc::ClientContext c1;
    v1::BeginSessionRequest b;
    b.set_device_id(id);
    v1::BeginSessionResponse br;
    if (auto s = stub.BeginSession(&c1, b, &br); !s.ok()) return s;
    grpc::ClientContext c2;
    v1::CompleteSessionRequest r;
    r.set_device_id(id);
    r.set_challenge(br.challenge());
    r.set_signature(sign(br.challenge()));
    v1::CompleteSessionResponse rr;
    auto s = stub.CompleteSession(&c2, r, &rr);
    if (s.ok()) token = rr.token();
    return s;
  }

  void authorize(grpc::ClientContext& ctx) const {
    ctx.AddMetadata("authorization", "Bearer " + token);
  }
};

}  // namespace hopboxd::test
