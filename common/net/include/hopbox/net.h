// What every Hopbox process does with its sockets: TLS channels to a service trusting one
// root certificate, and a server's start-up and shutdown chores.
#pragma once

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace hopbox::net {

// A TLS channel to `address` (host:port) trusting only `root_pem`. Loopback addresses are
// checked against the name "localhost", which local certificates carry.
std::shared_ptr<grpc::Channel> tls_channel(const std::string& address, const std::string& root_pem,
                                           int max_receive_bytes = 4 << 20);

// Writes the bound port to `path` atomically, for the scripts and tests that wait for it.
void write_port_file(const std::string& path, int port);

// Blocks until SIGTERM or SIGINT arrives.
void wait_for_stop_signal();

// A usage error in a server's command line (exit code 2).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Checks a --listen value: HOST:PORT (or [IPv6]:PORT), PORT a number from 1 to 65535, or 0
// (any free port) only when `any_port_ok` (the caller learns the port from --port-file).
// Throws UsageError naming the value.
void check_listen_address(const std::string& address, bool any_port_ok);

// Listens on `address` without SO_REUSEPORT, which gRPC sets by default and which lets a second
// server share a port already taken instead of failing.
void add_exclusive_listening_port(grpc::ServerBuilder& builder, const std::string& address,
                                  std::shared_ptr<grpc::ServerCredentials> credentials, int* port);

// Why listening on `address` failed, as far as a plain bind() tells (in use, not local, ...).
std::string listen_failure(const std::string& address);

// An exclusive lock (flock) on DIR/server.lock for as long as the object lives, so that a second
// server cannot work on the same data folder. Throws std::runtime_error naming the folder when
// another process holds it.
class DataDirLock {
 public:
  explicit DataDirLock(const std::filesystem::path& dir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace hopbox::net
