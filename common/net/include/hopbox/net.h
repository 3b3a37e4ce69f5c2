// What every Hopbox process does with its sockets: TLS channels to a service trusting one
// root certificate, and a server's start-up and shutdown chores.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
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

}  // namespace hopbox::net
