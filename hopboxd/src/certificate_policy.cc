#include "certificate_policy.h"

#include <grpcpp/grpcpp.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "certs/requests.h"
#include "hopbox/net.h"

namespace hopboxd {

namespace certs = hopbox::certs;
namespace v1 = hopbox::v1;

namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool CertificatePolicy::is_ca_challenge(const std::string& user, const CertBytes& encryption_key,
                                        const CertBytes& capsule, std::int64_t expires_at,
                                        const CertBytes& signature, std::int64_t now) const {
  if (expires_at < now) return false;
  return certs::verify_root_signature(
      root_, certs::recertification_challenge_message(user, encryption_key, capsule, expires_at),
      signature);
}

CertificatePolicy::CertificatePolicy(const std::string& ca, const std::string& root_pem,
                                     int refresh_seconds) {
  certs::CaAnchors anchors = certs::parse_ca_anchors(root_pem);
  root_ = std::move(anchors.device_root);
  // The CA's socket is checked against its pinned TLS certificate only, never the device root.
  stub_ = v1::CertificateAuthority::NewStub(hopbox::net::tls_channel(ca, anchors.tls_anchor_pem));
  if (!refresh())
    spdlog::warn(
        "the CA at {} is not reachable yet; certified devices are refused until its revocation "
        "list arrives",
        ca);
  poller_ = std::thread([this, refresh_seconds] { poll(refresh_seconds); });
}

CertificatePolicy::~CertificatePolicy() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  poller_.join();
}

void CertificatePolicy::poll(int refresh_seconds) {
  std::unique_lock lock(mu_);
  while (!stop_cv_.wait_for(lock, std::chrono::seconds(refresh_seconds), [&] { return stop_; })) {
    lock.unlock();
    refresh();
    lock.lock();
  }
}

bool CertificatePolicy::refresh() {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetRevocationListResponse resp;
  const grpc::Status s = stub_->GetRevocationList(&ctx, v1::GetRevocationListRequest(), &resp);
  if (!s.ok()) {
    spdlog::warn("revocation list: the CA did not answer ({})", s.error_message());
    return false;
  }
  try {
    const auto& b = resp.revocation_list();
    certs::RevocationList list = certs::open_revocation_list(
        std::span(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()), root_);
    std::lock_guard lock(mu_);
    certs::check_revocation_list_current(list, list_.issued_at, now_seconds());
    list_ = std::move(list);
    return true;
  } catch (const certs::CertError& e) {
    spdlog::error("revocation list refused: {}", e.what());
    return false;
  }
}

std::optional<std::string> CertificatePolicy::stale_list_locked() const {
  if (now_seconds() < list_.next_update) return std::nullopt;
  return list_.next_update == 0
             ? "no revocation list from the CA yet: certified devices are refused until one "
               "arrives"
             : "the CA's revocation list expired and no newer one arrived: certified devices "
               "are refused until one does";
}

std::optional<std::string> CertificatePolicy::refuse_device(const CertBytes& certificate_chain,
                                                            RevokedIssuer revoked_issuer) const {
  std::lock_guard lock(mu_);
  if (auto stale = stale_list_locked()) {
    spdlog::warn("refusing a certified device: {}", *stale);
    return stale;  // fail closed: the list we lack may revoke it
  }
  // Every authenticated call asks: parse a chain once, not on every call.
  const std::string key(certificate_chain.begin(), certificate_chain.end());
  auto it = fingerprints_.find(key);
  if (it == fingerprints_.end()) {
    std::vector<CertBytes> chain;
    try {
      chain = certs::decode_chain(certificate_chain);
    } catch (const certs::CertError&) {
      // Registration checked it; a damaged chain is not trusted.
      return "the device's certificate chain is damaged";
    }
    std::vector<CertBytes> prints;
    for (const auto& c : chain) {
      CertBytes h(SHA256_DIGEST_LENGTH);
      SHA256(c.data(), c.size(), h.data());
      prints.push_back(std::move(h));
    }
    if (fingerprints_.size() >= kMaxCachedChains) fingerprints_.clear();
    it = fingerprints_.emplace(key, std::move(prints)).first;
  }
  const auto& prints = it->second;
  const std::size_t checked = revoked_issuer == RevokedIssuer::kTolerated ? 1 : prints.size();
  for (std::size_t i = 0; i < checked && i < prints.size(); ++i) {
    if (list_.contains(prints[i])) return "the device's certificate was revoked";
  }
  return std::nullopt;
}

std::optional<std::string> CertificatePolicy::refuse_registration(
    const std::string& user, const CertBytes& signing_key, const CertBytes& encryption_key,
    const CertBytes& certificate_chain) const {
  try {
    certs::RevocationList list;
    {
      std::lock_guard lock(mu_);
      if (auto stale = stale_list_locked()) return stale;
      list = list_;
    }
    const auto device = certs::verify_device_chain(certs::decode_chain(certificate_chain), root_,
                                                   list, now_seconds());
    if (device.identifier != user) return "the certificate names another user";
    if (device.signing_key != signing_key || device.encryption_key != encryption_key) {
      return "the certificate certifies other keys";
    }
    return std::nullopt;
  } catch (const certs::CertError& e) {
    return e.what();
  }
}

}  // namespace hopboxd
