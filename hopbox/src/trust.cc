#include "trust.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "certs/requests.h"
#include "client.h"
#include "client_internal.h"
#include "hopbox/exit_codes.h"
#include "hopbox/net.h"
#include "hopbox/private_files.h"

namespace hopbox {

namespace v1 = hopbox::v1;

namespace {

std::string read_pem(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ClientError("cannot read the CA root " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string string_of(const certs::Bytes& b) {
  return std::string(b.begin(), b.end());
}
certs::Bytes bytes_of(const std::string& s) {
  return certs::Bytes(s.begin(), s.end());
}

namespace fs = std::filesystem;

// 32 bytes per revoked certificate: a million revocations.
constexpr std::uintmax_t kMaxKeptRevocationList = 32u << 20;

// The kept list's bytes, or "" when there is none. Only a plain file of a list's size: never
// through a link, never a pipe that blocks, never a huge file.
std::string read_kept_list(const fs::path& path) {
  if (path.empty()) return "";
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return "";
  std::string bytes;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      static_cast<std::uintmax_t>(st.st_size) <= kMaxKeptRevocationList) {
    bytes.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
  }
  ::close(fd);
  return bytes;
}

// The CA's address, for the error that says it cannot be reached (one CA per command).
std::string g_ca_address;

// Every call to the CA ends within this: a CA that accepts the connection and then never
// answers (overloaded, stuck, a half-open link) is treated like one that is down.
constexpr std::chrono::seconds kCaDeadline{10};

void set_deadline(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + kCaDeadline);
}

void check_ca(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    throw ClientError(
        what + ": cannot reach the CA at " + g_ca_address +
            ": is `hopbox-ca serve` running there, and are --ca and --ca-root right? (" +
            s.error_message() + ")",
        exit_code::kUnavailable);
  }
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    throw ClientError(what + ": the CA at " + g_ca_address + " did not answer within " +
                          std::to_string(kCaDeadline.count()) +
                          " s (overloaded or stuck?): try again later",
                      exit_code::kUnavailable);
  }
  if (s.error_code() == grpc::StatusCode::INTERNAL || s.error_code() == grpc::StatusCode::UNKNOWN) {
    throw ClientError(what + ": the CA at " + g_ca_address + " failed (" + s.error_message() +
                          "); nothing was refused: try again",
                      exit_code::kUnavailable);
  }
  throw ClientError(what + ": " + s.error_message(), exit_code::kRefused);
}

}  // namespace

void Trust::check_issued(const certs::Bytes& cert, const std::string& identifier,
                         const certs::Bytes& signing_key, const certs::Bytes& encryption_key) {
  // Trust nothing the CA connection returned without checking it against the root.
  try {
    const auto d = certs::verify_device_chain({cert}, root_, {}, now_seconds());
    if (d.identifier != identifier || d.signing_key != signing_key ||
        d.encryption_key != encryption_key) {
      throw ClientError("the CA returned a certificate for other keys", 4);
    }
  } catch (const certs::CertError& e) {
    throw ClientError(std::string("the CA's certificate does not verify: ") + e.what(), 4);
  }
  revoked_.reset();
}

void Trust::check_replaced(const certs::Bytes& cert, const std::string& identifier) {
  try {
    // Revoked by now: its chain to the root and its identifier are what is checked.
    const auto d = certs::verify_device_chain({cert}, root_, {}, now_seconds());
    if (d.identifier != identifier) {
      throw ClientError("the CA names a certificate of \"" + d.identifier +
                            "\" as the primary it replaced for \"" + identifier + "\"",
                        4);
    }
  } catch (const certs::CertError& e) {
    throw ClientError(
        std::string("the CA's replaced primary certificate does not verify: ") + e.what(), 4);
  }
}

Trust::Trust(const std::string& ca, const std::string& root_pem_path,
             std::int64_t revocation_list_seen, std::function<void(std::int64_t)> on_newer_list,
             std::filesystem::path revocation_cache)
    : revocation_list_seen_(revocation_list_seen),
      on_newer_list_(std::move(on_newer_list)),
      revocation_cache_(std::move(revocation_cache)) {
  certs::CaAnchors anchors;
  try {
    anchors = certs::parse_ca_anchors(read_pem(root_pem_path));
  } catch (const certs::CertError& e) {
    throw ClientError("the CA root " + root_pem_path + ": " + e.what(), 2);
  }
  root_ = std::move(anchors.device_root);
  // Only the pinned TLS certificate: the device root (and so any device's key) must not be
  // able to vouch for whoever answers at the CA's address.
  g_ca_address = ca;
  stub_ = v1::CertificateAuthority::NewStub(net::tls_channel(ca, anchors.tls_anchor_pem));
}

std::pair<std::string, certs::Bytes> Trust::enroll(const std::string& identifier,
                                                   const std::string& code,
                                                   const certs::Bytes& signing_key,
                                                   const certs::Bytes& encryption_key,
                                                   const certs::Signer& sign) {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::EnrollRequest req;
  req.set_identifier(identifier);
  req.set_enrollment_code(code);
  req.set_signing_key(string_of(signing_key));
  req.set_encryption_key(string_of(encryption_key));
  req.set_proof(string_of(sign(certs::enrollment_proof_message(identifier, encryption_key))));
  v1::EnrollResponse resp;
  check_ca(stub_->Enroll(&ctx, req, &resp), "enrolling at the CA");
  const certs::Bytes cert = bytes_of(resp.certificate());
  check_issued(cert, resp.identifier(), signing_key, encryption_key);
  return {resp.identifier(), cert};
}

void Trust::confirm_enrollment(const certs::Bytes& certificate, const certs::Signer& sign) {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::ConfirmEnrollmentRequest req;
  req.set_certificate(string_of(certificate));
  req.set_signature(string_of(sign(certs::enrollment_complete_message(certificate))));
  v1::ConfirmEnrollmentResponse resp;
  check_ca(stub_->ConfirmEnrollment(&ctx, req, &resp), "confirming the enrollment at the CA");
}

Trust::PrimaryRecovery Trust::recover_primary(const std::vector<certs::Bytes>& own_chain,
                                              const certs::Signer& sign, bool announce_only) {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::RecoverPrimaryRequest req;
  req.set_announce_only(announce_only);
  req.set_requester_chain(string_of(certs::encode_chain(own_chain)));
  req.set_signature(string_of(sign(certs::recover_primary_message(own_chain.back()))));
  v1::RecoverPrimaryResponse resp;
  check_ca(stub_->RecoverPrimary(&ctx, req, &resp), "recovering at the CA");
  if (resp.certificate().empty()) return {{}, resp.not_before()};
  const certs::Bytes cert = bytes_of(resp.certificate());
  const auto mine = certs::inspect_certificate(own_chain.front());
  check_issued(cert, mine.identifier, mine.signing_key, mine.encryption_key);
  return {cert, 0};
}

std::vector<v1::ListPrimaryRecoveriesResponse::Announcement> Trust::primary_recoveries(
    const std::string& identifier) {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::ListPrimaryRecoveriesRequest req;
  req.set_identifier(identifier);
  v1::ListPrimaryRecoveriesResponse resp;
  check_ca(stub_->ListPrimaryRecoveries(&ctx, req, &resp), "listing recoveries waiting at the CA");
  return {resp.announcements().begin(), resp.announcements().end()};
}

int Trust::cancel_primary_recoveries(const std::vector<certs::Bytes>& own_chain,
                                     const certs::Signer& sign) {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::CancelPrimaryRecoveryRequest req;
  req.set_requester_chain(string_of(certs::encode_chain(own_chain)));
  const std::string identifier = certs::inspect_certificate(own_chain.front()).identifier;
  req.set_signature(string_of(sign(certs::cancel_primary_recovery_message(identifier))));
  v1::CancelPrimaryRecoveryResponse resp;
  check_ca(stub_->CancelPrimaryRecovery(&ctx, req, &resp), "cancelling the recovery at the CA");
  return resp.cancelled();
}

Trust::RecertificationChallenge Trust::begin_recertification(const std::string& identifier,
                                                             const certs::Bytes& signing_key,
                                                             const certs::Bytes& encryption_key,
                                                             const certs::Signer& sign) {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::BeginRecertificationRequest req;
  req.set_identifier(identifier);
  req.set_signing_key(string_of(signing_key));
  req.set_encryption_key(string_of(encryption_key));
  req.set_proof(string_of(sign(certs::recertification_proof_message(identifier, encryption_key))));
  v1::BeginRecertificationResponse resp;
  check_ca(stub_->BeginRecertification(&ctx, req, &resp), "asking the CA for its challenge");
  return {bytes_of(resp.capsule()), bytes_of(resp.ticket()), bytes_of(resp.signature()),
          resp.expires_at()};
}

Trust::Recertification Trust::complete_recertification(const std::string& identifier,
                                                       const certs::Bytes& signing_key,
                                                       const certs::Bytes& encryption_key,
                                                       const certs::Bytes& ticket,
                                                       const certs::Bytes& answer,
                                                       bool announce_only) {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::CompleteRecertificationRequest req;
  req.set_identifier(identifier);
  req.set_signing_key(string_of(signing_key));
  req.set_encryption_key(string_of(encryption_key));
  req.set_ticket(string_of(ticket));
  req.set_answer(string_of(answer));
  req.set_announce_only(announce_only);
  v1::CompleteRecertificationResponse resp;
  check_ca(stub_->CompleteRecertification(&ctx, req, &resp), "answering the CA's challenge");
  Recertification out{bytes_of(resp.certificate()), resp.not_before(),
                      bytes_of(resp.replaced_certificate())};
  if (!out.certificate.empty()) {
    check_issued(out.certificate, identifier, signing_key, encryption_key);
    check_replaced(out.replaced, identifier);
  }
  return out;
}

void Trust::revoke(const certs::Bytes& certificate, const std::vector<certs::Bytes>& own_chain,
                   const certs::Signer& sign) {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::RevokeDeviceRequest req;
  req.set_certificate(string_of(certificate));
  req.set_requester_chain(string_of(certs::encode_chain(own_chain)));
  req.set_signature(string_of(sign(certs::revocation_message(certificate))));
  v1::RevokeDeviceResponse resp;
  check_ca(stub_->RevokeDevice(&ctx, req, &resp), "revoking the device's certificate at the CA");
  // Keep a list that holds this revocation now, while the CA answers: a list kept from before
  // would go on trusting the revoked device whenever the CA cannot be reached later.
  revoked_.reset();
  revocations();
}

const certs::RevocationList& Trust::revocations() {
  if (revoked_ && now_seconds() < revoked_->next_update) return *revoked_;
  revoked_ = fetch_revocations();
  return *revoked_;
}

bool Trust::revokes_any(const std::vector<certs::Bytes>& chain) {
  const certs::RevocationList& list = revocations();
  return std::any_of(chain.begin(), chain.end(), [&](const certs::Bytes& c) {
    return list.contains(certs::inspect_certificate(c).fingerprint);
  });
}

certs::RevocationList Trust::revocations_for(const std::string& identifier) {
  certs::RevocationList list = revocations();
  std::erase_if(list.revoked, [&](const certs::Bytes& f) {
    return std::any_of(tolerated_.begin(), tolerated_.end(), [&](const Tolerated& t) {
      return t.identifier == identifier && t.fingerprint == f;
    });
  });
  return list;
}

certs::RevocationList Trust::fetch_revocations() {
  grpc::ClientContext ctx;
  set_deadline(ctx);
  v1::GetRevocationListResponse resp;
  const grpc::Status s = stub_->GetRevocationList(&ctx, v1::GetRevocationListRequest(), &resp);
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE ||
      s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return cached_revocations("cannot reach the CA at " + g_ca_address + " (" + s.error_message() +
                              ")");
  }
  check_ca(s, "fetching the CA's revocation list (needed to trust any key)");
  certs::RevocationList list;
  try {
    list = certs::open_revocation_list(bytes_of(resp.revocation_list()), root_);
    certs::check_revocation_list_current(list, revocation_list_seen_, now_seconds());
  } catch (const certs::CertError& e) {
    throw ClientError(std::string("the CA's revocation list: ") + e.what(), 4);
  }
  // Current by the check above (not older than any list seen), so it replaces the kept one.
  if (!revocation_cache_.empty()) {
    try {
      files::write_private_file(revocation_cache_, resp.revocation_list());
    } catch (const std::exception& e) {
      // Only the offline fallback is lost; this run has its list.
      std::cerr << "WARNING: could not keep the CA's revocation list for use offline: " << e.what()
                << "\n";
    }
  }
  note_seen(list);
  return list;
}

void Trust::note_seen(const certs::RevocationList& list) {
  if (list.issued_at > revocation_list_seen_) {
    revocation_list_seen_ = list.issued_at;
    if (on_newer_list_) on_newer_list_(list.issued_at);
  }
}

certs::RevocationList Trust::cached_revocations(const std::string& unreachable) {
  const std::string what =
      "the CA's revocation list is needed to trust any key, and " + unreachable + "; ";
  const std::string bytes = read_kept_list(revocation_cache_);
  if (bytes.empty()) {
    throw ClientError(what +
                          "this device has no copy of an earlier list: start `hopbox-ca serve` "
                          "there, or check --ca",
                      exit_code::kUnavailable);
  }
  certs::RevocationList list;
  try {
    // Read from disk, so checked as if it came from the network: signature, age, expiry.
    list = certs::open_revocation_list(bytes_of(bytes), root_);
    certs::check_revocation_list_current(list, revocation_list_seen_, now_seconds());
  } catch (const certs::CertError& e) {
    // Fail closed: past its validity a list may miss a revocation made since.
    throw ClientError(what + "the copy this device kept is not usable: " + e.what() +
                          ". Nothing is trusted until the CA can be reached again.",
                      exit_code::kUnavailable);
  }
  // Signed, so as good a high-water mark as a fetched list: a kept file newer than
  // device.json (written before a crash) raises it.
  note_seen(list);
  if (!offline_warned_) {
    offline_warned_ = true;
    std::cerr << "WARNING: " << unreachable << "; trusting keys by the CA's revocation list of "
              << internal::format_time(list.issued_at) << ", valid until "
              << internal::format_time(list.next_update) << "\n";
  }
  return list;
}

certs::TrustedDevice Trust::verify_device(const v1::DeviceKeys& keys, const std::string& user) {
  return verify_keys(keys, user, /*replaced_leaf_allowed=*/false);
}

certs::TrustedDevice Trust::verify_primary(const v1::DeviceKeys& keys, const std::string& user) {
  certs::TrustedDevice d = verify_keys(keys, user, /*replaced_leaf_allowed=*/false);
  if (certs::decode_chain(bytes_of(keys.certificate_chain())).size() != 1) {
    throw ClientError("the service returned as \"" + user +
                          "\"'s primary a key that a device certified, not the CA: the cloud "
                          "may be presenting another key as the primary",
                      4);
  }
  return d;
}

certs::TrustedDevice Trust::verify_replaced_primary(const v1::DeviceKeys& keys,
                                                    const std::string& user) {
  return verify_keys(keys, user, /*replaced_leaf_allowed=*/true);
}

certs::TrustedDevice Trust::verify_keys(const v1::DeviceKeys& keys, const std::string& user,
                                        bool replaced_leaf_allowed) {
  try {
    const auto chain = certs::decode_chain(bytes_of(keys.certificate_chain()));
    certs::RevocationList revoked = revocations_for(user);
    if (!replaced_leaf_allowed && !chain.empty()) {
      // A replaced primary's key is the lost (perhaps stolen) device's: never trusted again.
      const certs::Bytes leaf = certs::inspect_certificate(chain.front()).fingerprint;
      if (revocations().contains(leaf)) revoked.revoked.push_back(leaf);
    }
    certs::TrustedDevice d = certs::verify_device_chain(chain, root_, revoked, now_seconds());
    if (d.identifier != user) {
      throw ClientError("the service returned a key certified for \"" + d.identifier +
                            "\" as a key of \"" + user + "\"",
                        4);
    }
    if (d.encryption_key != bytes_of(keys.encryption_key()) ||
        d.signing_key != bytes_of(keys.signing_key())) {
      throw ClientError("the service returned a key for \"" + user +
                            "\" that their certificate does not vouch for: the cloud may be "
                            "substituting a key of its own",
                        4);
    }
    return d;
  } catch (const certs::CertError& e) {
    throw ClientError(
        "the key the service returned for \"" + user + "\" is not trusted: " + e.what(), 4);
  }
}

certs::Bytes Trust::item_signature_digest(const certs::Bytes& signature_blob) {
  certs::Bytes digest(crypto_hash_sha256_BYTES);
  crypto_hash_sha256(digest.data(), signature_blob.data(), signature_blob.size());
  return digest;
}

certs::TrustedDevice Trust::verify_item(const certs::ItemFacts& facts,
                                        const certs::Bytes& signature_blob) {
  try {
    certs::RevocationList revoked = revocations_for(facts.owner);
    if (!pinned_.empty()) {
      const certs::Bytes digest = item_signature_digest(signature_blob);
      std::erase_if(revoked.revoked, [&](const certs::Bytes& f) {
        return std::any_of(pinned_.begin(), pinned_.end(), [&](const PinnedSignature& p) {
          return p.identifier == facts.owner && p.fingerprint == f && p.blob_digest == digest;
        });
      });
    }
    return certs::verify_item(facts, certs::decode_item_signature(signature_blob), root_, revoked,
                              now_seconds());
  } catch (const certs::CertError& e) {
    throw ClientError(
        "refusing " + facts.owner + "/" + facts.item_id + ": it is not authentic: " + e.what(), 4);
  }
}

}  // namespace hopbox
