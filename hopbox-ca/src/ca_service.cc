#include "ca_service.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <functional>

#include "certs/requests.h"
#include "certs/verify.h"
#include "mupre/keys.h"
#include "mupre/pre.h"

namespace hopbox_ca {

namespace certs = hopbox::certs;
namespace v1 = hopbox::v1;
using grpc::Status;
using grpc::StatusCode;

namespace {

constexpr std::int64_t kYear = 365 * 24 * 3600;
// Clients fetch a list per run and hopboxd every few seconds; a day bounds how long a
// withheld or replayed list can hide a revocation.

Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}
std::string string_of(const Bytes& b) {
  return std::string(b.begin(), b.end());
}
// A new key pair asked for: bounded sizes, a valid mupre key, and a proof by the signing key
// over `message`. OK fills the two keys.
Status check_key_proof(const std::string& signing_key, const std::string& encryption_key,
                       const std::string& proof, const std::function<Bytes(const Bytes&)>& message,
                       Bytes& signing_out, Bytes& encryption_out) {
  if (signing_key.size() > 512 || proof.size() > 128) {
    return Status(StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
  }
  encryption_out = bytes_of(encryption_key);
  if (!mupre::PublicKey::decode(encryption_out)) {
    return Status(StatusCode::INVALID_ARGUMENT, "encryption_key: not a mupre public key");
  }
  signing_out = bytes_of(signing_key);
  if (!certs::verify_signature(signing_out, message(encryption_out), bytes_of(proof))) {
    return Status(StatusCode::PERMISSION_DENIED, "proof: not a signature by signing_key");
  }
  return Status::OK;
}

}  // namespace

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Bytes hash_code(const std::string& code) {
  // Codes are typed by people: ignore case, spaces and dashes.
  std::string canon;
  for (const char c : code) {
    if (c == '-' || c == ' ') continue;
    canon += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  Bytes h(SHA256_DIGEST_LENGTH);
  SHA256(reinterpret_cast<const unsigned char*>(canon.data()), canon.size(), h.data());
  return h;
}

CaService::CaService(CaStore& store, const CaKeys& keys, const IdentifierPolicy& policy,
                     std::int64_t certificate_years, std::int64_t recovery_wait_seconds,
                     std::int64_t revocation_list_seconds)
    : store_(store),
      keys_(keys),
      policy_(policy),
      certificate_years_(certificate_years),
      recovery_wait_seconds_(recovery_wait_seconds),
      revocation_list_seconds_(revocation_list_seconds) {}

Status CaService::GetRoot(grpc::ServerContext*, const v1::GetRootRequest*,
                          v1::GetRootResponse* resp) {
  resp->set_root_certificate(string_of(keys_.root_der()));
  return Status::OK;
}

Status CaService::Enroll(grpc::ServerContext*, const v1::EnrollRequest* req,
                         v1::EnrollResponse* resp) {
  try {
    if (req->identifier().size() > 1024 || req->enrollment_code().size() > 64) {
      return Status(StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
    }
    Bytes signing_key, encryption_key;
    const Status proven = check_key_proof(
        req->signing_key(), req->encryption_key(), req->proof(),
        [&](const Bytes& key) { return certs::enrollment_proof_message(req->identifier(), key); },
        signing_key, encryption_key);
    if (!proven.ok()) return proven;
    std::string id;
    try {
      id = policy_.normalize(req->identifier());
    } catch (const IdentifierRefused& e) {
      return Status(StatusCode::FAILED_PRECONDITION, e.what());
    }
    if (const auto other = store_.confusable_with(id, policy_.skeleton(id))) {
      // The requester learns only that the name is refused; the operator learns why.
      spdlog::warn("enrollment of \"{}\" refused: confusable with \"{}\"", id, *other);
      return Status(StatusCode::FAILED_PRECONDITION,
                    "identifier refused by the CA's policy; ask the CA operator");
    }
    const std::int64_t now = unix_now();
    Bytes cert;
    const auto outcome = store_.enroll(
        id, hash_code(req->enrollment_code()), now,
        [&](const Bytes& der) {
          const auto info = certs::inspect_certificate(der);
          return info.signing_key == signing_key && info.encryption_key == encryption_key;
        },
        [&](std::int64_t serial) {
          return certs::issue_certificate(
              {id, signing_key, encryption_key, serial, now - 60, now + certificate_years_ * kYear},
              keys_.root_der(), keys_.signer());
        },
        cert);
    switch (outcome) {
      case EnrollOutcome::kIssued:
        break;
      case EnrollOutcome::kResumed:
        spdlog::info("enrollment of \"{}\" resumed (the certificate issued before)", id);
        resp->set_identifier(id);
        resp->set_certificate(string_of(cert));
        return Status::OK;
      case EnrollOutcome::kAlreadyCertified:
        return Status(StatusCode::ALREADY_EXISTS,
                      "\"" + id +
                          "\" has a certificate already; a new device is approved by the "
                          "user's primary device, a lost one is recovered");
      case EnrollOutcome::kNoInvite:
      case EnrollOutcome::kWrongCode:
        spdlog::warn("enrollment of \"{}\" refused: {}", id,
                     outcome == EnrollOutcome::kNoInvite ? "no open invitation" : "wrong code");
        return Status(StatusCode::PERMISSION_DENIED,
                      "the enrollment code is not valid for this identifier");
      case EnrollOutcome::kExpired:
        return Status(StatusCode::PERMISSION_DENIED,
                      "the enrollment code has expired; ask the CA operator for a new one");
    }
    spdlog::info("certified \"{}\" (primary device)", id);
    resp->set_identifier(id);
    resp->set_certificate(string_of(cert));
    return Status::OK;
  } catch (const std::exception& e) {
    spdlog::error("enroll: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not complete the enrollment");
  }
}

Status CaService::ConfirmEnrollment(grpc::ServerContext*, const v1::ConfirmEnrollmentRequest* req,
                                    v1::ConfirmEnrollmentResponse*) {
  try {
    if (req->certificate().size() > 4096 || req->signature().size() > 128) {
      return Status(StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
    }
    const Bytes cert = bytes_of(req->certificate());
    certs::CertificateInfo info;
    try {
      info = certs::inspect_certificate(cert);
    } catch (const certs::CertError& e) {
      return Status(StatusCode::INVALID_ARGUMENT, std::string("certificate: ") + e.what());
    }
    if (!certs::verify_signature(info.signing_key, certs::enrollment_complete_message(cert),
                                 bytes_of(req->signature()))) {
      return Status(StatusCode::PERMISSION_DENIED, "signature: does not verify");
    }
    if (!store_.confirm_enrollment(info.identifier, info.fingerprint, unix_now())) {
      return Status(StatusCode::PERMISSION_DENIED,
                    "not the identifier's current certificate from this CA");
    }
    spdlog::info("enrollment of \"{}\" confirmed: the cloud registered it", info.identifier);
    return Status::OK;
  } catch (const std::exception& e) {
    spdlog::error("confirm enrollment: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not record the confirmation");
  }
}

Status CaService::GetRevocationList(grpc::ServerContext*, const v1::GetRevocationListRequest*,
                                    v1::GetRevocationListResponse* resp) {
  try {
    const std::int64_t now = unix_now();
    resp->set_revocation_list(string_of(certs::sign_revocation_list(
        {now, now + revocation_list_seconds_, store_.revoked_fingerprints()}, keys_.signer())));
    return Status::OK;
  } catch (const std::exception& e) {
    spdlog::error("revocation list: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not sign its revocation list");
  }
}

Status CaService::RevokeDevice(grpc::ServerContext*, const v1::RevokeDeviceRequest* req,
                               v1::RevokeDeviceResponse*) {
  try {
    const Bytes target = bytes_of(req->certificate());
    const certs::CertificateInfo info = certs::inspect_certificate(target);
    const auto chain = certs::decode_chain(bytes_of(req->requester_chain()));
    const auto revoked = certs::RevocationList{0, 0, store_.revoked_fingerprints()};
    certs::TrustedDevice requester;
    try {
      requester = certs::verify_device_chain(chain, keys_.root_der(), revoked, unix_now());
    } catch (const certs::CertError& e) {
      return Status(StatusCode::PERMISSION_DENIED, std::string("requester: ") + e.what());
    }
    if (requester.identifier != info.identifier) {
      return Status(StatusCode::PERMISSION_DENIED,
                    "a device may revoke only devices of its own user");
    }
    if (!certs::verify_signature(requester.signing_key, certs::revocation_message(target),
                                 bytes_of(req->signature()))) {
      return Status(StatusCode::PERMISSION_DENIED, "signature: does not verify");
    }
    // The primary is replaced only by a recovery, which waits and can be cancelled; and only
    // the primary removes another device: a stolen secondary cannot cut the account off.
    const auto current = store_.current_certificate(info.identifier);
    if (current && certs::inspect_certificate(*current).fingerprint == info.fingerprint) {
      return Status(StatusCode::PERMISSION_DENIED,
                    "the primary's certificate is replaced by a recovery, never revoked alone");
    }
    const bool own = chain.front() == target;
    const bool by_primary = chain.size() == 1 && current &&
                            certs::inspect_certificate(*current).fingerprint ==
                                certs::inspect_certificate(chain.front()).fingerprint;
    if (!own && !by_primary) {
      return Status(StatusCode::PERMISSION_DENIED,
                    "only the primary device revokes another device of the user");
    }
    store_.revoke(info.fingerprint, info.identifier, unix_now(), "revoked by a device of the user");
    spdlog::info("revoked a device certificate of \"{}\"", info.identifier);
    return Status::OK;
  } catch (const certs::CertError& e) {
    return Status(StatusCode::INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    spdlog::error("revoke: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not record the revocation");
  }
}

bool CaService::certify_in_place_of(const std::string& identifier, const Bytes& old_fingerprint,
                                    const Bytes& signing_key, const Bytes& encryption_key,
                                    Bytes& issued, const Bytes* announced_by) {
  const std::int64_t now = unix_now();
  return store_.replace_primary(
      identifier, old_fingerprint, now,
      [&](std::int64_t serial) {
        return certs::issue_certificate({identifier, signing_key, encryption_key, serial, now - 60,
                                         now + certificate_years_ * kYear},
                                        keys_.root_der(), keys_.signer());
      },
      issued, announced_by);
}

std::optional<Bytes> CaService::completed_recovery_of(const std::vector<Bytes>& chain,
                                                      const Bytes& signature) {
  const certs::CertificateInfo leaf = certs::inspect_certificate(chain.front());
  const auto current = store_.current_certificate(leaf.identifier);
  if (!current) return std::nullopt;
  const certs::CertificateInfo now_primary = certs::inspect_certificate(*current);
  if (now_primary.signing_key != leaf.signing_key ||
      now_primary.encryption_key != leaf.encryption_key) {
    return std::nullopt;
  }
  // Everything else of the chain must hold: only the replaced issuer may be revoked.
  const Bytes issuer = certs::inspect_certificate(chain.back()).fingerprint;
  certs::RevocationList revoked{0, 0, {}};
  for (auto& f : store_.revoked_fingerprints()) {
    if (f != issuer) revoked.revoked.push_back(std::move(f));
  }
  try {
    const auto requester = certs::verify_device_chain(chain, keys_.root_der(), revoked, unix_now());
    if (!certs::verify_signature(requester.signing_key,
                                 certs::recover_primary_message(chain.back()), signature)) {
      return std::nullopt;
    }
  } catch (const certs::CertError&) {
    return std::nullopt;
  }
  return *current;
}

// Requesters that may wait at once per identifier: enough for a user's devices, too few to
// fill the store.
constexpr int kMaxPrimaryRecoveryAnnouncements = 4;

Status CaService::RecoverPrimary(grpc::ServerContext*, const v1::RecoverPrimaryRequest* req,
                                 v1::RecoverPrimaryResponse* resp) {
  try {
    const auto chain = certs::decode_chain(bytes_of(req->requester_chain()));
    if (chain.size() < 2) {
      return Status(StatusCode::INVALID_ARGUMENT,
                    "requester_chain: the device and the primary that certified it");
    }
    const auto revoked = certs::RevocationList{0, 0, store_.revoked_fingerprints()};
    certs::TrustedDevice requester;
    try {
      requester = certs::verify_device_chain(chain, keys_.root_der(), revoked, unix_now());
    } catch (const certs::CertError& e) {
      // Its primary revoked because this very device replaced it, and its client did not
      // learn the certificate (it stopped, or the cloud refused it): the same one again.
      if (auto issued = completed_recovery_of(chain, bytes_of(req->signature()))) {
        resp->set_certificate(string_of(*issued));
        return Status::OK;
      }
      return Status(StatusCode::PERMISSION_DENIED, std::string("requester: ") + e.what());
    }
    const certs::Bytes& primary = chain.back();
    if (!certs::verify_signature(requester.signing_key, certs::recover_primary_message(primary),
                                 bytes_of(req->signature()))) {
      return Status(StatusCode::PERMISSION_DENIED, "signature: does not verify");
    }
    const Bytes primary_fingerprint = certs::inspect_certificate(primary).fingerprint;
    const auto current = store_.current_certificate(requester.identifier);
    if (!current || certs::inspect_certificate(*current).fingerprint != primary_fingerprint) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "the chain does not end at the identifier's current primary certificate");
    }
    // A stolen, unlocked secondary must not revoke the genuine primary at once: the request
    // waits, announced, so that the account's devices can cancel it (issue 12).
    const Bytes requester_fingerprint = certs::inspect_certificate(chain.front()).fingerprint;
    const bool waits = recovery_wait_seconds_ > 0 || req->announce_only();
    if (waits) {
      const std::int64_t now = unix_now();
      const auto not_before = store_.announce_primary_recovery(
          requester.identifier, requester_fingerprint, now, now + recovery_wait_seconds_,
          kMaxPrimaryRecoveryAnnouncements);
      if (!not_before) {
        return Status(StatusCode::RESOURCE_EXHAUSTED,
                      "too many recoveries wait for this identifier: cancel them first");
      }
      if (req->announce_only() || now < *not_before) {
        spdlog::warn("\"{}\": a secondary device announced it replaces the primary (R1)",
                     requester.identifier);
        resp->set_not_before(*not_before);
        return Status::OK;
      }
    }
    certs::Bytes cert;
    const bool replaced = certify_in_place_of(requester.identifier, primary_fingerprint,
                                              requester.signing_key, requester.encryption_key, cert,
                                              waits ? &requester_fingerprint : nullptr);
    if (!replaced) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "the primary changed or the recovery was cancelled meanwhile: begin again");
    }
    spdlog::info("\"{}\": a secondary device replaced the primary (R1)", requester.identifier);
    resp->set_certificate(string_of(cert));
    return Status::OK;
  } catch (const certs::CertError& e) {
    return Status(StatusCode::INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    spdlog::error("recover primary: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not complete the recovery");
  }
}

Status CaService::CancelPrimaryRecovery(grpc::ServerContext*,
                                        const v1::CancelPrimaryRecoveryRequest* req,
                                        v1::CancelPrimaryRecoveryResponse* resp) {
  try {
    const auto chain = certs::decode_chain(bytes_of(req->requester_chain()));
    if (chain.empty()) return Status(StatusCode::INVALID_ARGUMENT, "requester_chain: empty");
    const auto revoked = certs::RevocationList{0, 0, store_.revoked_fingerprints()};
    certs::TrustedDevice canceller;
    try {
      canceller = certs::verify_device_chain(chain, keys_.root_der(), revoked, unix_now());
    } catch (const certs::CertError& e) {
      return Status(StatusCode::PERMISSION_DENIED, std::string("requester: ") + e.what());
    }
    if (!certs::verify_signature(canceller.signing_key,
                                 certs::cancel_primary_recovery_message(canceller.identifier),
                                 bytes_of(req->signature()))) {
      return Status(StatusCode::PERMISSION_DENIED, "signature: does not verify");
    }
    // The thief's own device must not cancel a rival announcement and then win alone.
    const Bytes own = certs::inspect_certificate(chain.front()).fingerprint;
    for (const auto& a : store_.primary_recoveries(canceller.identifier, unix_now())) {
      if (a.requester_fingerprint == own) {
        return Status(StatusCode::PERMISSION_DENIED,
                      "a device that announced a recovery cannot cancel recoveries");
      }
    }
    const int cancelled = store_.cancel_primary_recoveries(canceller.identifier, unix_now_ms());
    if (cancelled > 0) {
      spdlog::info("\"{}\": {} R1 recovery(ies) cancelled by a device of the user",
                   canceller.identifier, cancelled);
    }
    resp->set_cancelled(cancelled);
    return Status::OK;
  } catch (const certs::CertError& e) {
    return Status(StatusCode::INVALID_ARGUMENT, e.what());
  } catch (const std::exception& e) {
    spdlog::error("cancel primary recovery: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not cancel the recovery");
  }
}

Status CaService::ListPrimaryRecoveries(grpc::ServerContext*,
                                        const v1::ListPrimaryRecoveriesRequest* req,
                                        v1::ListPrimaryRecoveriesResponse* resp) {
  try {
    if (req->identifier().size() > 1024) {
      return Status(StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
    }
    for (const auto& a : store_.primary_recoveries(req->identifier(), unix_now())) {
      auto* out = resp->add_announcements();
      out->set_requester_fingerprint(string_of(a.requester_fingerprint));
      out->set_created_at(a.created_at);
      out->set_not_before(a.not_before);
    }
    return Status::OK;
  } catch (const std::exception& e) {
    spdlog::error("list primary recoveries: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not list the recoveries");
  }
}

namespace {

// How a re-certification's announcement names its requester: the new signing key's SHA-256
// (it has no certificate yet).
Bytes recertification_requester(const Bytes& signing_key) {
  Bytes h(SHA256_DIGEST_LENGTH);
  SHA256(signing_key.data(), signing_key.size(), h.data());
  return h;
}

constexpr std::int64_t kChallengeSeconds = 600;

}  // namespace

Status CaService::BeginRecertification(grpc::ServerContext*,
                                       const v1::BeginRecertificationRequest* req,
                                       v1::BeginRecertificationResponse* resp) {
  try {
    if (req->identifier().size() > 1024) {
      return Status(StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
    }
    certs::Bytes signing_key, encryption_key;
    const Status proven = check_key_proof(
        req->signing_key(), req->encryption_key(), req->proof(),
        [&](const Bytes& key) {
          return certs::recertification_proof_message(req->identifier(), key);
        },
        signing_key, encryption_key);
    if (!proven.ok()) return proven;
    const auto current = store_.current_certificate(req->identifier());
    if (!current) {
      return Status(StatusCode::NOT_FOUND, "no valid certificate for this identifier");
    }
    const certs::CertificateInfo certified = certs::inspect_certificate(*current);
    auto old_key = mupre::PublicKey::decode(certified.encryption_key);
    if (!old_key) return Status(StatusCode::INTERNAL, "the certified key does not decode");
    const mupre::Encapsulation e = mupre::encapsulate(*old_key);
    // The ticket keeps milliseconds: a cancellation in the same second still voids it.
    const std::int64_t expires_ms = unix_now_ms() + kChallengeSeconds * 1000;
    const std::int64_t expires = expires_ms / 1000;
    const auto capsule = e.capsule.encode();
    const Bytes answer = certs::recertification_answer(e.key.bytes(), encryption_key);
    resp->set_ticket(string_of(
        tickets_.seal({req->identifier(), certified.fingerprint, signing_key, encryption_key},
                      answer, expires_ms)));
    resp->set_signature(string_of(keys_.signer()(certs::recertification_challenge_message(
        req->identifier(), encryption_key, capsule, expires))));
    resp->set_capsule(std::string(capsule.begin(), capsule.end()));
    resp->set_expires_at(expires);
    return Status::OK;
  } catch (const std::exception& e) {
    spdlog::error("begin re-certification: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not start the re-certification");
  }
}

Status CaService::CompleteRecertification(grpc::ServerContext*,
                                          const v1::CompleteRecertificationRequest* req,
                                          v1::CompleteRecertificationResponse* resp) {
  try {
    if (req->identifier().size() > 1024 || req->signing_key().size() > 512 ||
        req->encryption_key().size() > 512 || req->ticket().size() > 256 ||
        req->answer().size() > 64) {
      return Status(StatusCode::INVALID_ARGUMENT, "a field is larger than allowed");
    }
    const certs::Bytes signing_key = bytes_of(req->signing_key());
    const certs::Bytes encryption_key = bytes_of(req->encryption_key());
    const std::int64_t now = unix_now();
    const auto current = store_.current_certificate(req->identifier());
    if (!current) return Status(StatusCode::NOT_FOUND, "no valid certificate for this identifier");
    const Bytes current_fingerprint = certs::inspect_certificate(*current).fingerprint;
    // Bound to the primary certificate it was made for: an answer for a key that a recovery
    // has since replaced (a thief's, with the stolen primary) counts for nothing.
    const auto opened = tickets_.open(
        bytes_of(req->ticket()),
        {req->identifier(), current_fingerprint, signing_key, encryption_key}, unix_now_ms());
    const certs::Bytes answer = bytes_of(req->answer());
    if (!opened || answer.size() != opened->answer.size() ||
        CRYPTO_memcmp(answer.data(), opened->answer.data(), answer.size()) != 0) {
      spdlog::warn("re-certification of \"{}\" refused", req->identifier());
      return Status(StatusCode::PERMISSION_DENIED,
                    "not this CA's ticket for these keys and this primary, expired, or a wrong "
                    "answer: begin again");
    }
    // A cancellation voids every challenge made before it, answered or not: a device that
    // opened one before the account cancelled cannot announce again with it.
    if (opened->expires_at - kChallengeSeconds * 1000 <=
        store_.last_cancellation(req->identifier())) {
      return Status(StatusCode::PERMISSION_DENIED,
                    "the account cancelled its recoveries since this challenge was made");
    }
    // Only a requester that can open the primary's capsule gets this far: strangers cannot
    // fill the identifier's places for announcements.
    const Bytes requester = recertification_requester(signing_key);
    const bool waits = recovery_wait_seconds_ > 0 || req->announce_only();
    if (waits) {
      const auto not_before = store_.announce_primary_recovery(req->identifier(), requester, now,
                                                               now + recovery_wait_seconds_,
                                                               kMaxPrimaryRecoveryAnnouncements);
      if (!not_before) {
        return Status(StatusCode::RESOURCE_EXHAUSTED,
                      "too many recoveries wait for this identifier: cancel them first");
      }
      if (req->announce_only() || now < *not_before) {
        spdlog::warn("\"{}\": a new device proved it can replace the primary; it waits",
                     req->identifier());
        resp->set_not_before(*not_before);
        return Status::OK;
      }
    }
    certs::Bytes cert;
    // With a waiting period, only if its announcement still stands (a cancellation wins).
    const bool replaced = certify_in_place_of(req->identifier(), current_fingerprint, signing_key,
                                              encryption_key, cert, waits ? &requester : nullptr);
    if (!replaced) {
      return Status(StatusCode::ABORTED,
                    "the certificate changed or the recovery was cancelled meanwhile: begin again");
    }
    spdlog::info("\"{}\" re-certified after recovery", req->identifier());
    resp->set_certificate(string_of(cert));
    resp->set_replaced_certificate(string_of(*current));
    return Status::OK;
  } catch (const std::exception& e) {
    spdlog::error("complete re-certification: {}", e.what());
    return Status(StatusCode::INTERNAL, "the CA could not complete the re-certification");
  }
}

}  // namespace hopbox_ca
