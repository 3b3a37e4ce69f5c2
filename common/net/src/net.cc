#include "hopbox/net.h"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hopbox::net {

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

}  // namespace

std::shared_ptr<grpc::Channel> tls_channel(const std::string& address, const std::string& root_pem,
                                           int max_receive_bytes) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = root_pem;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_receive_bytes);
  if (address.rfind("127.0.0.1:", 0) == 0 || address.rfind("localhost:", 0) == 0) {
    args.SetSslTargetNameOverride("localhost");
  }
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(ssl), args);
}

void write_port_file(const std::string& path, int port) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << port << "\n";
  std::filesystem::rename(tmp, path);
}

void wait_for_stop_signal() {
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  while (g_stop == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

}  // namespace hopbox::net
