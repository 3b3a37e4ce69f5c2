#include "hopbox/net.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

namespace hopbox::net {

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

// Host and port text of HOST:PORT or [HOST]:PORT; empty port when there is no colon.
std::pair<std::string, std::string> split_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return {address, ""};
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return {host, address.substr(colon + 1)};
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

void check_listen_address(const std::string& address, bool any_port_ok) {
  const auto [host, port] = split_address(address);
  const std::string what = "--listen \"" + address + "\": ";
  if (host.empty() || address.find(':') == std::string::npos) {
    throw UsageError(what + "give HOST:PORT, e.g. 127.0.0.1:7443");
  }
  const bool digits = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(port) > 65535) {
    throw UsageError(what + "the port must be a number from 1 to 65535");
  }
  if (std::stoi(port) == 0 && !any_port_ok) {
    throw UsageError(what + "port 0 means any free port; give --port-file to learn which");
  }
}

void add_exclusive_listening_port(grpc::ServerBuilder& builder, const std::string& address,
                                  std::shared_ptr<grpc::ServerCredentials> credentials, int* port) {
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(address, std::move(credentials), port);
}

std::string listen_failure(const std::string& address) {
  const auto [host, port] = split_address(address);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return "cannot listen on " + address + ": unknown host " + host;
  }
  int error = 0;
  for (const addrinfo* a = found; a != nullptr && error == 0; a = a->ai_next) {
    const int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (s < 0) continue;
    if (bind(s, a->ai_addr, a->ai_addrlen) != 0) error = errno;
    close(s);
  }
  freeaddrinfo(found);
  switch (error) {
    case EADDRINUSE:
      return "cannot listen on " + address + ": port " + port +
             " is in use by another process (another server running there?)";
    case EADDRNOTAVAIL:
      return "cannot listen on " + address + ": " + host + " is not an address of this machine";
    case EACCES:
      return "cannot listen on " + address +
             ": permission denied (ports below 1024 need "
             "privileges)";
    case 0:
      return "cannot listen on " + address;
    default:
      return "cannot listen on " + address + ": " + std::strerror(error);
  }
}

DataDirLock::DataDirLock(const std::filesystem::path& dir) {
  const auto path = dir / "server.lock";
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open " + path.string() + ": " + std::strerror(errno));
  }
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    char pid[32] = {};
    const ssize_t n = pread(fd_, pid, sizeof pid - 1, 0);
    close(fd_);
    fd_ = -1;
    if (e != EWOULDBLOCK) {
      throw std::runtime_error("cannot lock " + path.string() + ": " + std::strerror(e));
    }
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw std::runtime_error("the data folder " + dir.string() + " is in use: another process" +
                             (holder.empty() ? "" : " (pid " + holder + ")") + " holds " +
                             path.string() + "; one server per data folder");
  }
  // The holder's pid, for the message above; the lock itself is what counts.
  const std::string me = std::to_string(getpid()) + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, me.data(), me.size(), 0) < 0) {
    // Informational only.
  }
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) close(fd_);
}

}  // namespace hopbox::net
