// Protocol 2 at the service: a secondary taking over (R1), recovery keys and requests from new
// devices (R2), the threshold set-up and shares (R3), the CA's challenge re-encrypted.
#include <nlohmann/json.hpp>

#include "hopbox/threshold.h"
#include "mupre/hex.h"
#include "mupre/pre.h"
#include "mupre/shamir.h"
#include "service.h"
#include "service_internal.h"

namespace hopboxd {

using namespace service_internal;

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
    DeviceRecord promoted = caller;
    promoted.certificate_chain = bytes_of(req->certificate_chain());
    if (Status s = check_certificate(caller.user, promoted); !s.ok()) return s;
    if (!store_.promote_device(caller.user_id, caller.id, req->lost_device_id(),
                               promoted.certificate_chain)) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "lost_device_id must be this account's primary, and the caller another "
                    "device of the account");
    }
    store_.clear_recovery_approvals(caller.id);  // the request is complete
    spdlog::info("device {} replaced lost primary {} of account {}", caller.id,
                 req->lost_device_id(), caller.user_id);
    // Paper 4.5: whoever shares with the account is told, so that their clients make share
    // keys to the new primary.
    int notified = 0;
    for (const UserId sharer : store_.sharers_with(caller.user_id)) {
      for (const auto& d : store_.devices_of(sharer)) {
        if (!d.primary || d.lost) continue;
        NotificationRecord n;
        n.to_device = d.id;
        n.from_device = caller.id;
        n.kind = "recovered";
        const std::string body = nlohmann::json{
            {"user", caller.user},
            {"new_primary", caller.id},
            {"lost_device",
             req->lost_device_id()}}.dump();
        n.body = bytes_of(body);
        store_.put_notification(n);
        ++notified;
      }
    }
    {
      std::lock_guard lock(inbox_mu_);
      ++inbox_epoch_;
      inbox_cv_.notify_all();
    }
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
    DeviceRecord d;
    d.name = "recovery key for " + req->protected_user();
    if (Status s = read_keys(req->keys(), d); !s.ok()) return s;
    if (Status s = check_certificate(caller.user, d); !s.ok()) return s;
    d.recovery_for = *protected_user;
    auto added = store_.add_device(caller.user_id, d);
    if (!added) return Status(StatusCode::ALREADY_EXISTS, "key already registered");
    resp->set_device_id(added->id);
    return Status::OK;
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
    // Unauthenticated: bound what a stranger can pile up in the account and in inboxes.
    // Expired requests are dropped here, and logged.
    int pending = 0;
    for (const auto& existing : store_.devices_of(*user)) {
      if (recovery_expired(existing)) {
        spdlog::info("recovery request of device {} for account {} expired", existing.id, *user);
        store_.clear_recovery_approvals(existing.id);
        store_.remove_device(existing.id);
      } else {
        pending += existing.pending_recovery;
      }
    }
    if (pending >= 4) {
      return Status(StatusCode::RESOURCE_EXHAUSTED, "too many pending recovery requests");
    }
    std::vector<DeviceRecord> helpers;
    for (const auto& name : req->via()) {
      const auto helper = store_.user_id(name);
      if (!helper) return Status(StatusCode::NOT_FOUND, "no such recovery user: " + name);
      for (auto& h : store_.devices_of(*helper)) {
        if (h.primary && !h.lost) helpers.push_back(std::move(h));
      }
    }
    auto added = store_.add_device(*user, d);
    if (!added) return Status(StatusCode::ALREADY_EXISTS, "device key already registered");
    for (const auto& h : helpers) {
      if (store_.count_notifications(h.id, "recovery-request") >= 16) continue;
      NotificationRecord n;
      n.to_device = h.id;
      n.from_device = added->id;
      n.kind = "recovery-request";
      n.body = bytes_of(nlohmann::json{{"device_id", added->id},
                                       {"device_name", req->device_name()},
                                       {"fingerprint", to_hex(added->fingerprint)}}
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      store_.put_notification(n);
    }
    {
      std::lock_guard lock(inbox_mu_);
      ++inbox_epoch_;
      inbox_cv_.notify_all();
    }
    spdlog::info("recovery of account {} requested by new device {}", *user, added->id);
    resp->set_device_id(added->id);
    return Status::OK;
  });
}

Status HopboxService::ReencryptChallenge(Ctx* ctx, const v1::ReencryptChallengeRequest* req,
                                         v1::ReencryptChallengeResponse* resp) {
  return authenticated(ctx, "ReencryptChallenge", [&](const DeviceRecord& caller) {
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
    store_.put_recovery_approval(*user, request->id, caller.user_id, all);
    *resp = recovery_progress(request->id, *config);
    if (resp->valid() < config->threshold() || resp->keys_installed()) return Status::OK;

    // t valid for this request: rebuild s_i for each of its approvers and open their keys.
    std::vector<std::pair<int, const Bytes*>> approved;  // protector position, shares
    const auto approvals = store_.recovery_approvals(request->id);
    for (int i = 0; i < config->protectors_size(); ++i) {
      for (const auto& a : approvals) {
        if (a.approver_name == config->protectors(i).user() && !a.shares.empty()) {
          approved.emplace_back(i, &a.shares);
        }
      }
    }
    std::vector<ReKeyRecord> opened;
    for (const auto& entry : approved) {
      const int i = entry.first;
      const auto& p = config->protectors(i);
      std::vector<mupre::Share> shares;
      for (const auto& other : approved) {
        auto sh = mupre::Share::decode(
            std::span(*other.second)
                .subspan(static_cast<std::size_t>(i) * mupre::kShareSize, mupre::kShareSize));
        if (sh) shares.push_back(*sh);
      }
      const auto commitments = mupre::Commitments::decode(bytes_of(p.commitments()));
      const auto secret = mupre::combine(shares, *commitments);
      if (!secret) return Status(StatusCode::INTERNAL, "shares do not combine");
      auto key = mupre::key_from_scalar(*secret, kR3Info);
      const auto rk_bytes = hopbox::threshold::open(
          key, hopbox::threshold::associated_data("rekey", config->user(), p.user()),
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
      if (!from || from->user_id != *user || !to || to->id != p.recovery_key_device()) {
        return Status(StatusCode::FAILED_PRECONDITION, "a sealed key leads elsewhere");
      }
      ReKeyRecord r;
      r.creator_device = from->id;
      r.edge.from = from->id;
      r.edge.to = to->id;
      r.edge.kind = EdgeKind::kRecovery;
      r.edge.user = *user;
      // Bound to this request: only the approver's own edge to this device may follow it.
      r.edge.only_towards = request->id;
      r.rekey = *rk_bytes;
      r.from_fingerprint = from->fingerprint;
      r.to_fingerprint = to->fingerprint;
      opened.push_back(std::move(r));
    }
    if (!store_.mark_recovery_installed(*user, request->id)) return Status::OK;  // raced
    for (const auto& r : opened) store_.put_rekey(r);
    spdlog::info("recovery of account {}: threshold reached for request {}, keys installed", *user,
                 request->id);
    resp->set_keys_installed(true);
    return Status::OK;
  });
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
    const auto d = store_.device(request);
    if (!d || d->user_id != caller.user_id || !d->pending_recovery) {
      return Status(StatusCode::NOT_FOUND, "no such pending recovery request");
    }
    *resp = recovery_progress(request, *config);
    return Status::OK;
  });
}

}  // namespace hopboxd
