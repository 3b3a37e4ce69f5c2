// Protocol 2 at the service: a secondary taking over (R1), recovery keys and requests from new
// devices (R2), the threshold set-up and shares (R3), the CA's challenge re-encrypted.
#include <nlohmann/json.hpp>

#include "certs/certificate.h"
#include "certs/requests.h"
#include "certs/verify.h"
#include "crash_points.h"
#include "hopbox/threshold.h"
#include "mupre/hex.h"
#include "mupre/pre.h"
#include "mupre/shamir.h"
#include "service.h"
#include "service_internal.h"

namespace hopboxd {

using namespace service_internal;

std::vector<std::int64_t> HopboxService::recovery_audience(UserId user, std::int64_t except,
                                                           const std::vector<UserId>& told) {
  std::vector<std::int64_t> out;
  for (const auto& d : store_.devices_of(user)) {
    if (d.id != except && !d.lost && !d.pending_recovery && !d.recovery_for) out.push_back(d.id);
  }
  for (const UserId protector : store_.protectors_of(user)) {
    if (std::find(told.begin(), told.end(), protector) != told.end()) continue;
    for (const auto& d : store_.devices_of(protector)) {
      if (d.primary && !d.lost) out.push_back(d.id);
    }
  }
  return out;
}

void HopboxService::drop_recovery(const RecoveryRequestRecord& r, std::int64_t by_device) {
  const auto device = store_.device(r.device);
  v1::Notification n;
  n.mutable_recovery_cancelled()->set_user(device ? device->user : "");
  n.mutable_recovery_cancelled()->set_device_id(r.device);
  std::vector<std::int64_t> removed_keys;
  // The news and the end of the request together: never one without the other.
  store_.atomically([&] {
    // Sent in the name of the device that ended it: the recovering one may be removed below.
    for (const auto to : recovery_audience(r.user_id, r.device, {})) {
      store_.trim_notifications(to, kind_name(v1::Notification::kRecoveryCancelled),
                                kMaxRecoveryNews - 1);
      notify(to, by_device, n);
    }
    store_.clear_recovery_approvals(r.device);
    if (r.new_device) {
      removed_keys = store_.remove_device(r.device);
    } else {
      store_.delete_recovery_request(r.device);
    }
  });
  for (const std::int64_t id : removed_keys) reencryptor_.invalidate_edge(id);
}

Status HopboxService::check_invitation(const v1::RecoveryInvitation& inv,
                                       const DeviceRecord& inviter,
                                       const std::string& recovery_user) {
  const std::int64_t now = now_seconds();
  if (inv.protected_user() != inviter.user || inv.recovery_user() != recovery_user ||
      inv.nonce().size() != 16 || inv.expires_at() <= now ||
      inv.expires_at() > now + kMaxInvitationSeconds || inv.signature().size() > 128) {
    return Status(StatusCode::PERMISSION_DENIED,
                  "no valid invitation from " + inviter.user + " for " + recovery_user);
  }
  const Bytes message = hopbox::certs::recovery_invitation_message(
      inv.protected_user(), inv.recovery_user(), bytes_of(inv.nonce()), inv.expires_at());
  if (!hopbox::certs::verify_signature(inviter.signing_key, message, bytes_of(inv.signature()))) {
    return Status(StatusCode::PERMISSION_DENIED,
                  "the invitation is not signed by " + inviter.user + "'s primary device");
  }
  return Status::OK;
}

Status HopboxService::PromoteDevice(Ctx* ctx, const v1::PromoteDeviceRequest* req,
                                    v1::PromoteDeviceResponse* resp) {
  return authenticated(ctx, "PromoteDevice", [&](const DeviceRecord& caller) {
    if (req->certificate_chain().size() > kMaxCertChain) {
      return invalid("certificate_chain: too large");
    }
    if (caller.pending_recovery && certificates_ == nullptr) {
      // Only the CA's re-certification proves that a new device really recovered.
      return Status(StatusCode::PERMISSION_DENIED,
                    "recovering on a new device needs a service configured with the CA");
    }
    if (caller.primary && !store_.recovery_request(caller.id)) {
      // Done already (a retry whose first answer was lost, say to a crash): the named device
      // is this account's lost primary, and this one the primary. Nothing more happens.
      const auto lost = store_.device(req->lost_device_id());
      if (lost && lost->user_id == caller.user_id && lost->lost) return Status::OK;
    }
    // Only the completion of this very device's recovery, after its waiting period.
    const auto request = store_.recovery_request(caller.id);
    if (!request || request->user_id != caller.user_id ||
        request->new_device != caller.pending_recovery) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "no recovery of this device is in progress (announce it first)");
    }
    if (now_seconds() < request->not_before) {
      return Status(StatusCode::FAILED_PRECONDITION, "the recovery's waiting period runs until " +
                                                         std::to_string(request->not_before) +
                                                         " (unix time)");
    }
    if (!request->new_device &&
        request->created_at + limits_.recovery_request_seconds < now_seconds()) {
      // An old, forgotten announcement must not let whoever holds the device take over later.
      store_.delete_recovery_request(caller.id);
      return Status(StatusCode::FAILED_PRECONDITION, "the announcement expired: announce again");
    }
    const auto lost = store_.device(req->lost_device_id());
    if (!lost || lost->user_id != caller.user_id || !lost->primary || lost->lost) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "lost_device_id must be this account's primary, and the caller another "
                    "device of the account");
    }
    if (caller.pending_recovery &&
        !chain_between(ItemView{"", caller.user_id, ""}, lost->id, caller, mupre::kMaxLevel - 1)) {
      // R2/R3: the recovery users' approval is the chain from the lost primary's key to here.
      return Status(StatusCode::PERMISSION_DENIED,
                    "no recovery user has approved this device's recovery");
    }
    DeviceRecord promoted = caller;
    promoted.certificate_chain = bytes_of(req->certificate_chain());
    if (Status s = check_certificate(caller.user, promoted); !s.ok()) return s;
    if (certificates_ != nullptr &&
        hopbox::certs::decode_chain(promoted.certificate_chain).size() != 1) {
      // The CA's new primary certificate (issued under the root after its own waiting period),
      // not the device's chain through the primary it replaces.
      return Status(StatusCode::PERMISSION_DENIED,
                    "certificate_chain: the CA's primary certificate for this device is needed");
    }
    // Paper 4.5: whoever shares with the account is told, so that their clients make share
    // keys to the new primary (after showing the new safety number).
    v1::Notification n;
    n.mutable_recovered()->set_user(caller.user);
    n.mutable_recovered()->set_new_primary(caller.id);
    n.mutable_recovered()->set_lost_device(req->lost_device_id());
    bool promoted_now = false;
    int notified = 0;
    // One commit: a new primary whose sharers were never told, or whose request stays open,
    // would be a take-over half done.
    store_.atomically([&] {
      promoted_now = store_.promote_device(caller.user_id, caller.id, req->lost_device_id(),
                                           promoted.certificate_chain);
      if (!promoted_now) return;
      crash_point("promote.promoted");
      store_.delete_recovery_request(caller.id);
      store_.clear_recovery_approvals(caller.id);  // the request is complete
      crash_point("promote.request_deleted");
      for (const UserId sharer : store_.sharers_with(caller.user_id)) {
        for (const auto& d : store_.devices_of(sharer)) {
          if (!d.primary || d.lost) continue;
          notify(d.id, caller.id, n);
          ++notified;
        }
      }
    });
    if (!promoted_now) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "lost_device_id must be this account's primary, and the caller another "
                    "device of the account");
    }
    crash_point("promote.committed");
    spdlog::info("device {} replaced lost primary {} of account {}", caller.id,
                 req->lost_device_id(), caller.user_id);
    resp->set_notified_users(notified);
    return Status::OK;
  });
}

Status HopboxService::UpdateDeviceCertificate(Ctx* ctx,
                                              const v1::UpdateDeviceCertificateRequest* req,
                                              v1::UpdateDeviceCertificateResponse*) {
  return authenticated(ctx, "UpdateDeviceCertificate", [&](const DeviceRecord& caller) {
    if (!caller.primary) {
      return Status(StatusCode::PERMISSION_DENIED, "only the primary certifies devices");
    }
    if (req->certificate_chain().size() > kMaxCertChain) {
      return invalid("certificate_chain: too large");
    }
    auto target = store_.device(req->device_id());
    if (!target || target->user_id != caller.user_id || target->lost) {
      return Status(StatusCode::NOT_FOUND, "no such device in this account");
    }
    target->certificate_chain = bytes_of(req->certificate_chain());
    if (Status s = check_certificate(caller.user, *target); !s.ok()) return s;
    store_.set_certificate_chain(target->id, target->certificate_chain);
    return Status::OK;
  });
}

Status HopboxService::RegisterRecoveryKey(Ctx* ctx, const v1::RegisterRecoveryKeyRequest* req,
                                          v1::RegisterRecoveryKeyResponse* resp) {
  return authenticated(ctx, "RegisterRecoveryKey", [&](const DeviceRecord& caller) {
    const auto protected_user = store_.user_id(req->protected_user());
    if (!protected_user) return Status(StatusCode::NOT_FOUND, "no such protected user");
    if (*protected_user == caller.user_id) {
      return invalid("protected_user: a user cannot protect their own account");
    }
    // Only on the protected user's own invitation, signed by its current primary.
    std::optional<DeviceRecord> inviter;
    for (auto& d : store_.devices_of(*protected_user)) {
      if (d.primary && !d.lost) inviter = std::move(d);
    }
    if (!inviter) return Status(StatusCode::FAILED_PRECONDITION, "that account has no primary");
    if (Status s = check_invitation(req->invitation(), *inviter, caller.user); !s.ok()) return s;
    int existing = 0;
    for (const auto& d : store_.devices_of(caller.user_id)) {
      existing += d.recovery_for == *protected_user;
    }
    if (existing >= 4) {
      return Status(StatusCode::RESOURCE_EXHAUSTED, "enough recovery keys for this user already");
    }
    DeviceRecord d;
    d.name = "recovery key for " + req->protected_user();
    if (Status s = read_keys(req->keys(), d); !s.ok()) return s;
    if (Status s = check_certificate(caller.user, d); !s.ok()) return s;
    d.recovery_for = *protected_user;
    // One commit: an invitation used up without its key (or a key without the answer) could
    // not be answered again.
    Status status = Status::OK;
    store_.atomically([&] {
      if (!store_.use_invitation(bytes_of(req->invitation().nonce()),
                                 req->invitation().expires_at(), now_seconds())) {
        status = Status(StatusCode::PERMISSION_DENIED, "that invitation was answered already");
        return;
      }
      const auto added = store_.add_device(caller.user_id, d);
      if (!added) {
        status = Status(StatusCode::ALREADY_EXISTS, "key already registered");
        return;
      }
      // The answer comes from the service, naming the invitation: the inviter acts on it only
      // if it recorded that invitation.
      v1::Notification n;
      n.mutable_recovery_accepted()->set_invitation_nonce(req->invitation().nonce());
      n.mutable_recovery_accepted()->set_recovery_key_device(added->id);
      notify(inviter->id, caller.id, n);
      resp->set_device_id(added->id);
    });
    return status;
  });
}

Status HopboxService::RequestRecovery(Ctx*, const v1::RequestRecoveryRequest* req,
                                      v1::RequestRecoveryResponse* resp) {
  return guarded("RequestRecovery", [&] {
    if (!valid_name(req->device_name())) return invalid("device_name: 1 to 255 bytes");
    if (req->via().empty() || req->via().size() > 16) return invalid("via: 1 to 16 users");
    const auto user = store_.user_id(req->user());
    if (!user) return Status(StatusCode::NOT_FOUND, "no such user");
    DeviceRecord d;
    d.name = req->device_name();
    if (Status s = read_keys(req->keys(), d); !s.ok()) return s;
    d.certificate_chain.clear();  // certified only once recovered
    d.pending_recovery = true;
    // The request is the new device's own: signed by the key that will sign in.
    const std::int64_t now = now_seconds();
    if (req->requested_at() < now - kRequestClockSkew ||
        req->requested_at() > now + kRequestClockSkew) {
      return invalid("requested_at: not within five minutes of the service's clock");
    }
    const std::vector<std::string> via(req->via().begin(), req->via().end());
    const Bytes message = hopbox::certs::recovery_request_message(
        req->user(), req->device_name(), d.encryption_key, req->requested_at(), via);
    if (req->signature().size() > 128 ||
        !hopbox::certs::verify_signature(d.signing_key, message, bytes_of(req->signature()))) {
      return Status(StatusCode::UNAUTHENTICATED, "the request is not signed by the new key");
    }
    // The same new key asking again (its answer lost, say to a crash): the same answer. Only
    // the key's holder signs this, and it learns only its own request.
    if (const auto existing = store_.device_by_fingerprint(d.fingerprint);
        existing && existing->pending_recovery && existing->user_id == *user &&
        existing->signing_key == d.signing_key && !recovery_expired(*existing)) {
      if (const auto asked = store_.recovery_request(existing->id)) {
        resp->set_device_id(existing->id);
        resp->set_not_before(asked->not_before);
        return Status::OK;
      }
    }
    // Unauthenticated otherwise: bound what a stranger can pile up in the account and in
    // inboxes. Expired requests are dropped here, and logged. Strangers can fill the places,
    // so a request a recovery user vouched for takes the place of the oldest one nobody did.
    const auto protectors = store_.protectors_of(*user);
    const auto vouched = [&](const std::string& name, const Bytes& signing_key,
                             const Bytes& encryption_key) {
      const std::string code = recovery_code(name, signing_key, encryption_key);
      for (const UserId v : store_.recovery_vouchers(*user, code, now)) {
        if (std::find(protectors.begin(), protectors.end(), v) != protectors.end()) return true;
      }
      return false;
    };
    std::size_t pending = 0;
    std::optional<DeviceRecord> oldest_unvouched;
    for (auto& existing : store_.devices_of(*user)) {
      if (recovery_expired(existing)) {
        spdlog::info("recovery request of device {} for account {} expired", existing.id, *user);
        remove_pending_device(existing.id);
      } else if (existing.pending_recovery) {
        ++pending;
        if (!oldest_unvouched &&
            !vouched(req->user(), existing.signing_key, existing.encryption_key)) {
          oldest_unvouched = std::move(existing);  // devices_of lists by id: oldest first
        }
      }
    }
    const bool is_vouched = vouched(req->user(), d.signing_key, d.encryption_key);
    if (pending >= kMaxPendingRecoveries) {
      if (!oldest_unvouched || !is_vouched) {
        return Status(StatusCode::RESOURCE_EXHAUSTED,
                      "too many pending recovery requests: a recovery user who has this "
                      "device's code can vouch for it (`hopbox recovery expect " +
                          req->user() + " CODE`), then ask again");
      }
      spdlog::info("recovery request of device {} for account {} made way for a vouched one",
                   oldest_unvouched->id, *user);
      remove_pending_device(oldest_unvouched->id);
    }
    // Only the account's own recovery users are asked. Others named are left out silently:
    // the answer must not tell a stranger who protects the account.
    RecoveryRequestRecord request;
    std::vector<DeviceRecord> helpers;
    for (const auto& name : via) {
      const auto helper = store_.user_id(name);
      if (!helper || std::find(protectors.begin(), protectors.end(), *helper) == protectors.end()) {
        continue;
      }
      if (std::find(request.via.begin(), request.via.end(), *helper) != request.via.end()) continue;
      request.via.push_back(*helper);
      for (auto& h : store_.devices_of(*helper)) {
        if (h.primary && !h.lost) helpers.push_back(std::move(h));
      }
    }
    request.new_device = true;
    request.created_at = now;
    request.not_before = now + limits_.recovery_wait_seconds;
    std::optional<DeviceRecord> added;
    // One commit: a request that its recovery users or the account never heard of would wait
    // unanswered, or run unwatched, and its retry would be refused as a key registered.
    store_.atomically([&] {
      added = store_.add_recovering_device(*user, d, request);
      if (!added) return;
      crash_point("recovery_request.device_added");
      v1::Notification ask;
      auto& notice = *ask.mutable_recovery_request();
      notice.set_device_id(added->id);
      notice.set_device_name(req->device_name());
      notice.mutable_keys()->set_signing_key(string_of(added->signing_key));
      notice.mutable_keys()->set_encryption_key(string_of(added->encryption_key));
      notice.set_not_before(request.not_before);
      for (const auto& h : helpers) {
        // Strangers' requests cannot crowd out the one the recovery user vouched for.
        if (!is_vouched &&
            store_.count_notifications(h.id, kind_name(v1::Notification::kRecoveryRequest)) >= 16) {
          continue;
        }
        notify(h.id, added->id, ask);
      }
      crash_point("recovery_request.helpers_asked");
      announce_recovery(*added, request);
    });
    if (!added) return Status(StatusCode::ALREADY_EXISTS, "device key already registered");
    crash_point("recovery_request.committed");
    spdlog::info("recovery of account {} requested by new device {}", *user, added->id);
    resp->set_device_id(added->id);
    resp->set_not_before(request.not_before);
    return Status::OK;
  });
}

void HopboxService::announce_recovery(const DeviceRecord& device,
                                      const RecoveryRequestRecord& request) {
  v1::Notification n;
  auto& started = *n.mutable_recovery_started();
  started.set_user(device.user);
  started.set_device_id(device.id);
  started.set_device_name(device.name);
  started.set_new_device(request.new_device);
  started.set_encryption_key_fingerprint(string_of(device.fingerprint));
  started.set_not_before(request.not_before);
  // The recovery users it asks know already (their request says it).
  // The newest always arrives: an inbox keeps the latest few of these news, so announcing and
  // cancelling in a loop can neither grow it nor crowd a real announcement out.
  for (const auto to : recovery_audience(device.user_id, device.id, request.via)) {
    store_.trim_notifications(to, kind_name(v1::Notification::kRecoveryStarted),
                              kMaxRecoveryNews - 1);
    notify(to, device.id, n);
  }
}

Status HopboxService::AnnouncePromotion(Ctx* ctx, const v1::AnnouncePromotionRequest*,
                                        v1::AnnouncePromotionResponse* resp) {
  return authenticated(ctx, "AnnouncePromotion", [&](const DeviceRecord& caller) {
    if (caller.primary) {
      return Status(StatusCode::FAILED_PRECONDITION, "this device is the primary already");
    }
    if (const auto existing = store_.recovery_request(caller.id)) {
      resp->set_not_before(existing->not_before);  // announced already: the wait does not restart
      return Status::OK;
    }
    RecoveryRequestRecord request;
    request.device = caller.id;
    request.user_id = caller.user_id;
    request.new_device = false;
    request.created_at = now_seconds();
    request.not_before = request.created_at + limits_.recovery_wait_seconds;
    // One commit: a take-over that the account's devices were never told of could not be
    // cancelled by them, and its retry would find it "announced already".
    store_.atomically([&] {
      store_.put_recovery_request(request);
      crash_point("announce.request_stored");
      announce_recovery(caller, request);
    });
    crash_point("announce.committed");
    spdlog::info("device {} of account {} announced it takes over as primary", caller.id,
                 caller.user_id);
    resp->set_not_before(request.not_before);
    return Status::OK;
  });
}

Status HopboxService::CancelRecovery(Ctx* ctx, const v1::CancelRecoveryRequest* req,
                                     v1::CancelRecoveryResponse*) {
  return authenticated(ctx, "CancelRecovery", [&](const DeviceRecord& caller) {
    const auto request = store_.recovery_request(req->device_id());
    if (!request || request->user_id != caller.user_id) {
      return Status(StatusCode::NOT_FOUND, "no recovery of that device is in progress");
    }
    drop_recovery(*request, caller.id);
    spdlog::info("recovery by device {} of account {} cancelled by device {}", request->device,
                 caller.user_id, caller.id);
    return Status::OK;
  });
}

Status HopboxService::ListRecoveries(Ctx* ctx, const v1::ListRecoveriesRequest*,
                                     v1::ListRecoveriesResponse* resp) {
  return authenticated(ctx, "ListRecoveries", [&](const DeviceRecord& caller) {
    for (const auto& r : store_.recovery_requests_of(caller.user_id)) {
      const auto d = store_.device(r.device);
      if (!d) continue;
      auto& out = *resp->add_recoveries();
      out.set_device_id(r.device);
      out.set_device_name(d->name);
      out.set_new_device(r.new_device);
      out.set_created_at(r.created_at);
      out.set_not_before(r.not_before);
      out.set_encryption_key_fingerprint(string_of(d->fingerprint));
      for (const UserId u : r.via) {
        for (const auto& h : store_.devices_of(u)) {
          if (h.primary) out.add_via(h.user);
        }
      }
    }
    return Status::OK;
  });
}

void HopboxService::remove_pending_device(std::int64_t device) {
  store_.clear_recovery_approvals(device);
  for (const std::int64_t id : store_.remove_device(device)) reencryptor_.invalidate_edge(id);
}

namespace {

// How many codes a recovery user may vouch for at once per protected account, and how long.
constexpr int kMaxVouchesPerRecoveryUser = 4;
constexpr std::int64_t kVouchSeconds = 24 * 3600;

// Only the digits: people read codes out with spaces or dashes.
std::string digits_of(const std::string& code) {
  std::string out;
  for (const char c : code) {
    if (c >= '0' && c <= '9') out += c;
  }
  return out;
}

}  // namespace

std::string HopboxService::recovery_code(const std::string& user, const Bytes& signing_key,
                                         const Bytes& encryption_key) {
  return digits_of(hopbox::certs::safety_number({user, signing_key, encryption_key, {}}));
}

Status HopboxService::ExpectRecovery(Ctx* ctx, const v1::ExpectRecoveryRequest* req,
                                     v1::ExpectRecoveryResponse* resp) {
  return authenticated(ctx, "ExpectRecovery", [&](const DeviceRecord& caller) {
    if (req->key_code().size() > 64) return invalid("key_code: at most 64 characters");
    const std::string code = digits_of(req->key_code());
    if (code.size() != 25) return invalid("key_code: 25 digits");
    const auto user = store_.user_id(req->protected_user());
    const auto protectors = user ? store_.protectors_of(*user) : std::vector<UserId>{};
    if (std::find(protectors.begin(), protectors.end(), caller.user_id) == protectors.end()) {
      return Status(StatusCode::NOT_FOUND, "you do not protect " + req->protected_user());
    }
    const std::int64_t now = now_seconds();
    store_.put_recovery_vouch(*user, caller.user_id, code, now + kVouchSeconds, now,
                              kMaxVouchesPerRecoveryUser);
    spdlog::info("user {} vouched for a recovery of account {}", caller.user_id, *user);
    resp->set_expires_at(now + kVouchSeconds);
    return Status::OK;
  });
}

namespace {
constexpr std::size_t kMaxCaSignature = 256;  // DER ECDSA P-256 is at most 72 bytes
}  // namespace

Status HopboxService::ReencryptChallenge(Ctx* ctx, const v1::ReencryptChallengeRequest* req,
                                         v1::ReencryptChallengeResponse* resp) {
  return authenticated(ctx, "ReencryptChallenge", [&](const DeviceRecord& caller) {
    // Only for a new device whose recovery request stands. With the CA, only the CA's own
    // challenge for this device's key (the CA then waits in turn), so that this is never a way
    // to open the account's items; without it, only after the waiting period.
    const auto request = store_.recovery_request(caller.id);
    if (!caller.pending_recovery || !request) {
      return Status(StatusCode::FAILED_PRECONDITION, "this device is not recovering");
    }
    if (req->ca_signature().size() > kMaxCaSignature) return invalid("ca_signature: too large");
    if (certificates_ != nullptr) {
      if (!certificates_->is_ca_challenge(caller.user, caller.encryption_key,
                                          bytes_of(req->capsule()), req->expires_at(),
                                          bytes_of(req->ca_signature()), now_seconds())) {
        return Status(StatusCode::FAILED_PRECONDITION,
                      "capsule: not the CA's current challenge for this device's key");
      }
    } else if (now_seconds() < request->not_before) {
      return Status(StatusCode::FAILED_PRECONDITION, "the recovery's waiting period runs until " +
                                                         std::to_string(request->not_before) +
                                                         " (unix time)");
    }
    auto capsule = mupre::Ciphertext::decode(bytes_of(req->capsule()));
    if (!capsule) return invalid(std::string("capsule: ") + mupre::error_message(capsule.error()));
    if (capsule->level() != 1) return invalid("capsule: must be a fresh (level 1) capsule");
    const auto holder =
        store_.device_by_fingerprint(Bytes(capsule->holder().begin(), capsule->holder().end()));
    if (!holder || holder->user_id != caller.user_id) {
      return invalid("capsule: not addressed to a device key of this account");
    }
    // An item that exists only for this call: the account's own data, in no folder.
    ItemRecord challenge;
    challenge.owner_id = caller.user_id;
    challenge.item_id = "hopbox-recertification-challenge";
    challenge.capsule = bytes_of(req->capsule());
    Status status;
    const auto chain = chain_for(challenge, caller, status);
    if (!chain) return status;
    Bytes current = challenge.capsule;
    for (const auto& r : *chain) {
      auto rk = mupre::ReKey::decode(r.rekey);
      auto c = mupre::Ciphertext::decode(current);
      if (!rk || !c) return Status(StatusCode::INTERNAL, "a stored key does not decode");
      auto next = mupre::reencrypt(*rk, *c);
      if (!next) return Status(StatusCode::INTERNAL, "re-encryption failed");
      const auto encoded = next->encode();
      current.assign(encoded.begin(), encoded.end());
      resp->add_chain(r.id);
    }
    resp->set_capsule(string_of(current));
    return Status::OK;
  });
}

namespace {

constexpr std::size_t kMaxProtectors = 16;
constexpr std::size_t kMaxSignature = 256;  // DER ECDSA P-256 is at most 72 bytes
const std::uint8_t kR3Info[] = {'h', 'o', 'p', 'b', 'o', 'x', ' ', 'v', '1', ' ', 'R', '3'};

}  // namespace

std::optional<v1::ThresholdRecovery> HopboxService::threshold_config(UserId user) {
  const auto blob = store_.threshold_config(user);
  if (!blob || blob->empty()) return std::nullopt;
  v1::ThresholdRecovery config;
  if (!config.ParseFromArray(blob->data(), static_cast<int>(blob->size()))) return std::nullopt;
  return config;
}

Status HopboxService::PutThresholdRecovery(Ctx* ctx, const v1::ThresholdRecovery* req,
                                           v1::PutThresholdRecoveryResponse*) {
  return authenticated(ctx, "PutThresholdRecovery", [&](const DeviceRecord& caller) {
    if (!caller.primary) return Status(StatusCode::PERMISSION_DENIED, "only the primary");
    const auto n = static_cast<std::size_t>(req->protectors_size());
    if (n == 0) {  // withdrawn
      store_.put_threshold_config(caller.user_id, {});
      return Status::OK;
    }
    if (req->signature().size() > kMaxSignature) return invalid("signature: too large");
    if (n > kMaxProtectors || req->threshold() < 1 ||
        static_cast<std::size_t>(req->threshold()) > n) {
      return invalid("threshold: 1 <= t <= n <= 16");
    }
    for (const auto& p : req->protectors()) {
      const auto key = store_.device(p.recovery_key_device());
      if (!key || key->recovery_for != caller.user_id || key->user != p.user()) {
        return invalid("protector " + p.user() + ": not a recovery key made for this account");
      }
      const auto c = mupre::Commitments::decode(bytes_of(p.commitments()));
      if (!c || c->threshold() != static_cast<unsigned>(req->threshold())) {
        return invalid("protector " + p.user() + ": commitments do not match the threshold");
      }
      const auto capsule = mupre::Ciphertext::decode(bytes_of(p.shares_capsule()));
      if (!capsule || capsule->level() != 1 ||
          Bytes(capsule->holder().begin(), capsule->holder().end()) != key->fingerprint) {
        return invalid("protector " + p.user() + ": shares not addressed to their recovery key");
      }
      if (p.sealed_rekey().size() != hopbox::threshold::kOverhead + mupre::kReKeySize ||
          p.shares_sealed().size() != hopbox::threshold::kOverhead + n * mupre::kShareSize) {
        return invalid("protector " + p.user() + ": sealed sizes are wrong");
      }
    }
    v1::ThresholdRecovery config = *req;
    config.set_user(caller.user);
    // Whole: approvals given under the old set-up are for other shares and go with it.
    store_.put_threshold_config(caller.user_id, bytes_of(config.SerializeAsString()));
    return Status::OK;
  });
}

Status HopboxService::GetThresholdRecovery(Ctx* ctx, const v1::GetThresholdRecoveryRequest* req,
                                           v1::ThresholdRecovery* resp) {
  return authenticated(ctx, "GetThresholdRecovery", [&](const DeviceRecord& caller) {
    const auto user = store_.user_id(req->user().empty() ? caller.user : req->user());
    if (!user) return Status(StatusCode::NOT_FOUND, "no such user");
    const auto config = threshold_config(*user);
    if (!config) return Status(StatusCode::NOT_FOUND, "no threshold recovery set up");
    bool allowed = *user == caller.user_id;
    for (const auto& p : config->protectors()) allowed = allowed || p.user() == caller.user;
    if (!allowed)
      return Status(StatusCode::PERMISSION_DENIED, "not a recovery user of this account");
    *resp = *config;
    return Status::OK;
  });
}

v1::RecoveryProgress HopboxService::recovery_progress(std::int64_t request,
                                                      const v1::ThresholdRecovery& config) {
  v1::RecoveryProgress out;
  out.set_threshold(config.threshold());
  out.set_device_id(request);
  const auto approvals = store_.recovery_approvals(request);
  for (const auto& p : config.protectors()) {
    for (const auto& a : approvals) {
      if (a.approver_name != p.user()) continue;
      if (!a.shares.empty()) {
        out.set_valid(out.valid() + 1);
        out.add_approved_by(p.user());
      }
      if (a.bad) out.add_bad_shares_from(p.user());
    }
  }
  out.set_keys_installed(store_.recovery_installed(request));
  return out;
}

Status HopboxService::SubmitRecoveryShares(Ctx* ctx, const v1::SubmitRecoverySharesRequest* req,
                                           v1::RecoveryProgress* resp) {
  return authenticated(ctx, "SubmitRecoveryShares", [&](const DeviceRecord& caller) {
    const auto user = store_.user_id(req->user());
    if (!user) return Status(StatusCode::NOT_FOUND, "no such user");
    const auto config = threshold_config(*user);
    if (!config) return Status(StatusCode::NOT_FOUND, "no threshold recovery set up");
    int position = -1;
    for (int i = 0; i < config->protectors_size(); ++i) {
      if (config->protectors(i).user() == caller.user) position = i;
    }
    if (position < 0)
      return Status(StatusCode::PERMISSION_DENIED, "not a recovery user of this account");
    // The approval is for one request: the pending device, with the key the approver checked.
    const auto request = store_.device(req->device_id());
    if (!request || request->user_id != *user || !request->pending_recovery || request->lost ||
        recovery_expired(*request) ||
        request->fingerprint != bytes_of(req->encryption_key_fingerprint())) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "device_id and encryption_key_fingerprint must name a pending recovery "
                    "request of " +
                        req->user());
    }
    if (req->shares_size() != config->protectors_size()) {
      return invalid("shares: one per recovery user");
    }
    // Feldman: each share must match its secret's commitments, or its sender is named.
    Bytes all;
    for (int i = 0; i < req->shares_size(); ++i) {
      const auto share = mupre::Share::decode(bytes_of(req->shares(i)));
      const auto commitments =
          mupre::Commitments::decode(bytes_of(config->protectors(i).commitments()));
      if (!share || !commitments || share->index() != position + 1 ||
          !mupre::verify_share(*share, *commitments)) {
        store_.mark_bad_shares(*user, request->id, caller.user_id);
        spdlog::warn("recovery of account {}: a bad share from {}", *user, caller.user);
        return invalid("share " + std::to_string(i + 1) + " from " + caller.user +
                       " does not match the commitments");
      }
      all.insert(all.end(), req->shares(i).begin(), req->shares(i).end());
    }
    // One commit: the approval, and the keys it opens with the flag that says so. A flag
    // without its keys would stop every later approval from installing them.
    Status status = Status::OK;
    store_.atomically(
        [&] { status = approve_recovery(caller, *user, *request, *config, all, *resp); });
    if (status.ok()) crash_point("shares.committed");
    return status;
  });
}

Status HopboxService::approve_recovery(const DeviceRecord& caller, UserId user,
                                       const DeviceRecord& request,
                                       const v1::ThresholdRecovery& config, const Bytes& shares,
                                       v1::RecoveryProgress& progress) {
  store_.put_recovery_approval(user, request.id, caller.user_id, shares);
  crash_point("shares.approval_stored");
  progress = recovery_progress(request.id, config);
  if (progress.valid() < config.threshold() || progress.keys_installed()) return Status::OK;

  // t valid for this request: rebuild s_i for each of its approvers and open their keys.
  std::vector<std::pair<int, const Bytes*>> approved;  // protector position, shares
  const auto approvals = store_.recovery_approvals(request.id);
  for (int i = 0; i < config.protectors_size(); ++i) {
    for (const auto& a : approvals) {
      if (a.approver_name == config.protectors(i).user() && !a.shares.empty()) {
        approved.emplace_back(i, &a.shares);
      }
    }
  }
  std::vector<ReKeyRecord> opened;
  for (const auto& entry : approved) {
    const int i = entry.first;
    const auto& p = config.protectors(i);
    std::vector<mupre::Share> parts;
    for (const auto& other : approved) {
      auto sh = mupre::Share::decode(
          std::span(*other.second)
              .subspan(static_cast<std::size_t>(i) * mupre::kShareSize, mupre::kShareSize));
      if (sh) parts.push_back(*sh);
    }
    // Checked when the set-up was stored; checked again rather than trusted across a migration.
    const auto commitments = mupre::Commitments::decode(bytes_of(p.commitments()));
    if (!commitments) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "the commitments of " + p.user() + " do not decode: the set-up is damaged");
    }
    const auto secret = mupre::combine(parts, *commitments);
    if (!secret) return Status(StatusCode::INTERNAL, "shares do not combine");
    auto key = mupre::key_from_scalar(*secret, kR3Info);
    const auto rk_bytes = hopbox::threshold::open(
        key, hopbox::threshold::associated_data("rekey", config.user(), p.user()),
        bytes_of(p.sealed_rekey()));
    sodium_memzero(key.data(), key.size());
    if (!rk_bytes) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "the sealed key of " + p.user() + " does not open: the set-up is damaged");
    }
    const auto rk = mupre::ReKey::decode(*rk_bytes);
    if (!rk) return Status(StatusCode::FAILED_PRECONDITION, "a sealed key does not decode");
    const auto from = store_.device_by_fingerprint(Bytes(rk->from().begin(), rk->from().end()));
    const auto to = store_.device_by_fingerprint(Bytes(rk->to().begin(), rk->to().end()));
    if (!from || from->user_id != user || !to || to->id != p.recovery_key_device()) {
      return Status(StatusCode::FAILED_PRECONDITION, "a sealed key leads elsewhere");
    }
    ReKeyRecord r;
    r.creator_device = from->id;
    r.edge.from = from->id;
    r.edge.to = to->id;
    r.edge.kind = EdgeKind::kRecovery;
    r.edge.user = user;
    // Bound to this request: only the approver's own edge to this device may follow it.
    r.edge.only_towards = request.id;
    r.rekey = *rk_bytes;
    r.from_fingerprint = from->fingerprint;
    r.to_fingerprint = to->fingerprint;
    opened.push_back(std::move(r));
  }
  if (!store_.mark_recovery_installed(user, request.id)) return Status::OK;  // raced
  crash_point("shares.installed_marked");
  for (const auto& r : opened) store_.put_rekey(r);
  spdlog::info("recovery of account {}: threshold reached for request {}, keys installed", user,
               request.id);
  progress.set_keys_installed(true);
  return Status::OK;
}

Status HopboxService::GetRecoveryProgress(Ctx* ctx, const v1::GetRecoveryProgressRequest* req,
                                          v1::RecoveryProgress* resp) {
  return authenticated(ctx, "GetRecoveryProgress", [&](const DeviceRecord& caller) {
    const auto user = store_.user_id(req->user().empty() ? caller.user : req->user());
    if (!user) return Status(StatusCode::NOT_FOUND, "no such user");
    if (*user != caller.user_id) {
      return Status(StatusCode::PERMISSION_DENIED, "progress of another account");
    }
    const auto config = threshold_config(*user);
    if (!config) return Status(StatusCode::NOT_FOUND, "no threshold recovery set up");
    const std::int64_t request = req->device_id() == 0 ? caller.id : req->device_id();
    // A pending device may be a stranger's request: it learns of its own only.
    if (caller.pending_recovery && request != caller.id) {
      return Status(StatusCode::NOT_FOUND, "no such pending recovery request");
    }
    const auto d = store_.device(request);
    if (!d || d->user_id != caller.user_id || !d->pending_recovery) {
      return Status(StatusCode::NOT_FOUND, "no such pending recovery request");
    }
    *resp = recovery_progress(request, *config);
    return Status::OK;
  });
}

}  // namespace hopboxd
