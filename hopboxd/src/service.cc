#include "service.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>

#include "auth.h"
#include "hopbox/threshold.h"
#include "mupre/hex.h"
#include "mupre/item.h"
#include "mupre/shamir.h"

namespace hopboxd {

namespace v1 = hopbox::v1;
using grpc::Status;
using grpc::StatusCode;

namespace {

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxItemId = 128;
constexpr std::size_t kMaxMetadata = mupre::kMaxMetadataSize + 64;
constexpr std::size_t kMaxBody = 64 * 1024;
constexpr std::size_t kMaxBlob = 1 << 20;
constexpr std::size_t kMaxCertChain = 64 * 1024;
constexpr std::size_t kDownloadChunk = 1 << 20;

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status invalid(const std::string& what) {
  return Status(StatusCode::INVALID_ARGUMENT, what);
}

Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}
std::string string_of(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > kMaxName) return false;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;  // no control characters
  }
  return true;
}

bool valid_item_id(const std::string& s) {
  if (s.empty() || s.size() > kMaxItemId) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Checks a device's keys; fills the record's key fields.
Status read_keys(const v1::DeviceKeys& keys, DeviceRecord& d) {
  d.signing_key = bytes_of(keys.signing_key());
  if (!is_p256_public_key(d.signing_key)) {
    return invalid("keys.signing_key: not an ECDSA P-256 SubjectPublicKeyInfo");
  }
  auto pk = mupre::PublicKey::decode(bytes_of(keys.encryption_key()));
  if (!pk) {
    return invalid(std::string("keys.encryption_key: ") + mupre::error_message(pk.error()));
  }
  d.encryption_key = bytes_of(keys.encryption_key());
  d.fingerprint.assign(pk->fingerprint().begin(), pk->fingerprint().end());
  if (keys.certificate_chain().size() > kMaxCertChain) {
    return invalid("keys.certificate_chain: too large");
  }
  d.certificate_chain = bytes_of(keys.certificate_chain());
  return Status::OK;
}

void fill_device(const DeviceRecord& d, v1::Device& out) {
  out.set_device_id(d.id);
  out.set_name(d.name);
  out.set_primary(d.primary);
  out.mutable_keys()->set_signing_key(string_of(d.signing_key));
  out.mutable_keys()->set_encryption_key(string_of(d.encryption_key));
  out.mutable_keys()->set_certificate_chain(string_of(d.certificate_chain));
  out.set_encryption_key_fingerprint(string_of(d.fingerprint));
  out.set_lost(d.lost);
  out.set_recovery_for(d.recovery_for_user);
  out.set_pending_recovery(d.pending_recovery);
}

void fill_summary(const ItemRecord& r, v1::ItemSummary& out) {
  out.set_item_id(r.item_id);
  out.set_owner(r.owner);
  out.set_folder(r.folder);
  out.set_version(r.version);
  out.set_payload_size(r.payload_size);
  out.set_created_at(r.created_at);
}

v1::ReKeyKind kind_to_proto(EdgeKind k) {
  switch (k) {
    case EdgeKind::kOwnDevice:
      return v1::REKEY_KIND_OWN_DEVICE;
    case EdgeKind::kShare:
      return v1::REKEY_KIND_SHARE;
    case EdgeKind::kRecovery:
      return v1::REKEY_KIND_RECOVERY;
  }
  return v1::REKEY_KIND_UNSPECIFIED;
}

// Runs a handler, turning any exception (a storage failure) into INTERNAL without crashing.
template <class F>
Status guarded(const char* method, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", method, e.what());
    return Status(StatusCode::INTERNAL, "internal error");
  }
}

}  // namespace

HopboxService::HopboxService(Store& store, PayloadStore& payloads, Reencryptor& reencryptor,
                             ServiceLimits limits, const CertificatePolicy* certificates)
    : store_(store),
      payloads_(payloads),
      reencryptor_(reencryptor),
      limits_(limits),
      certificates_(certificates) {}

void HopboxService::shutdown() {
  stopping_ = true;
  std::lock_guard lock(inbox_mu_);
  ++inbox_epoch_;
  inbox_cv_.notify_all();
}

template <class F>
Status HopboxService::authenticated(Ctx* ctx, const char* method, F&& handler) {
  return guarded(method, [&] {
    DeviceRecord caller;
    if (Status s = authenticate(ctx, caller); !s.ok()) return s;
    // A device waiting for its recovery can do only what the recovery needs.
    static constexpr std::string_view kPendingMethods[] = {"WatchInbox",          "AckNotification",
                                                           "ReencryptChallenge",  "PromoteDevice",
                                                           "GetRecoveryProgress", "ListDevices"};
    if (caller.pending_recovery && std::find(std::begin(kPendingMethods), std::end(kPendingMethods),
                                             method) == std::end(kPendingMethods)) {
      return Status(StatusCode::PERMISSION_DENIED, "this device is waiting for its recovery");
    }
    return handler(static_cast<const DeviceRecord&>(caller));
  });
}

Status HopboxService::authenticate(Ctx* ctx, DeviceRecord& caller) {
  const auto& md = ctx->client_metadata();
  const auto it = md.find("authorization");
  if (it == md.end()) return Status(StatusCode::UNAUTHENTICATED, "no session token");
  const std::string value(it->second.data(), it->second.size());
  static constexpr std::string_view kBearer = "Bearer ";
  if (value.rfind(kBearer, 0) != 0 || value.size() > 256) {
    return Status(StatusCode::UNAUTHENTICATED, "malformed authorization header");
  }
  const auto device =
      store_.session_device(sha256(bytes_of(value.substr(kBearer.size()))), now_seconds());
  if (!device) return Status(StatusCode::UNAUTHENTICATED, "session unknown or expired");
  auto d = store_.device(*device);
  if (!d) return Status(StatusCode::UNAUTHENTICATED, "device removed");
  if (d->lost) {
    return Status(StatusCode::PERMISSION_DENIED, "this device was replaced by a recovery");
  }
  if (recovery_expired(*d)) {
    return Status(StatusCode::PERMISSION_DENIED, "this recovery request expired: ask again");
  }
  if (certificates_ && certificates_->revoked(d->certificate_chain)) {
    return Status(StatusCode::PERMISSION_DENIED, "the device's certificate was revoked");
  }
  caller = std::move(*d);
  return Status::OK;
}

bool HopboxService::recovery_expired(const DeviceRecord& d) const {
  return d.pending_recovery && d.created_at + limits_.recovery_request_seconds < now_seconds();
}

Status HopboxService::check_certificate(const std::string& user, const DeviceRecord& d) const {
  if (certificates_ == nullptr) return Status::OK;
  const auto why = certificates_->refuse_registration(user, d.signing_key, d.encryption_key,
                                                      d.certificate_chain);
  if (!why) return Status::OK;
  return Status(StatusCode::PERMISSION_DENIED, "keys.certificate_chain: " + *why);
}

// ---- Accounts, devices, sessions ----

Status HopboxService::CreateAccount(Ctx*, const v1::CreateAccountRequest* req,
                                    v1::CreateAccountResponse* resp) {
  return guarded("CreateAccount", [&] {
    if (!valid_name(req->user())) return invalid("user: 1 to 255 bytes, no control characters");
    if (!valid_name(req->device_name())) return invalid("device_name: 1 to 255 bytes");
    DeviceRecord d;
    d.name = req->device_name();
    if (Status s = read_keys(req->keys(), d); !s.ok()) return s;
    if (Status s = check_certificate(req->user(), d); !s.ok()) return s;
    auto created = store_.create_account(req->user(), d);
    if (!created) return Status(StatusCode::ALREADY_EXISTS, "user or device key already exists");
    resp->set_user_id(created->user_id);
    resp->set_device_id(created->id);
    spdlog::info("account {} created with device {}", created->user_id, created->id);
    return Status::OK;
  });
}

Status HopboxService::BeginSession(Ctx*, const v1::BeginSessionRequest* req,
                                   v1::BeginSessionResponse* resp) {
  return guarded("BeginSession", [&] {
    const auto device =
        req->device_id() != 0
            ? store_.device(req->device_id())
            : store_.device_by_fingerprint(bytes_of(req->encryption_key_fingerprint()));
    if (!device) return Status(StatusCode::NOT_FOUND, "no such device");
    if (device->lost) {
      return Status(StatusCode::PERMISSION_DENIED, "this device was replaced by a recovery");
    }
    if (device->recovery_for) {
      return Status(StatusCode::PERMISSION_DENIED, "a recovery key does not sign in");
    }
    const Bytes challenge = random_bytes(32);
    store_.put_challenge(device->id, challenge, now_seconds() + 60);
    resp->set_challenge(string_of(challenge));
    resp->set_device_id(device->id);
    return Status::OK;
  });
}

Status HopboxService::CompleteSession(Ctx*, const v1::CompleteSessionRequest* req,
                                      v1::CompleteSessionResponse* resp) {
  return guarded("CompleteSession", [&] {
    if (req->challenge().size() != 32 || req->signature().size() > 128) {
      return invalid("challenge must be 32 bytes, signature at most 128");
    }
    const auto device = store_.device(req->device_id());
    const Bytes challenge = bytes_of(req->challenge());
    // The challenge is consumed whatever happens next: one try per challenge.
    const bool fresh = device && store_.take_challenge(req->device_id(), challenge, now_seconds());
    if (!fresh ||
        !verify_session_signature(device->signing_key, challenge, bytes_of(req->signature()))) {
      spdlog::warn("session refused for device {}", req->device_id());
      return Status(StatusCode::UNAUTHENTICATED, "challenge unknown, expired or badly signed");
    }
    if (certificates_ && certificates_->revoked(device->certificate_chain)) {
      spdlog::warn("session refused for device {}: certificate revoked", req->device_id());
      return Status(StatusCode::PERMISSION_DENIED, "the device's certificate was revoked");
    }
    const Bytes token = random_bytes(32);
    const std::string token_text = to_hex(token);
    const std::int64_t expires = now_seconds() + limits_.session_seconds;
    store_.put_session(sha256(bytes_of(token_text)), req->device_id(), expires);
    resp->set_token(token_text);
    resp->set_expires_at(expires);
    return Status::OK;
  });
}

Status HopboxService::AddDevice(Ctx* ctx, const v1::AddDeviceRequest* req,
                                v1::AddDeviceResponse* resp) {
  return authenticated(ctx, "AddDevice", [&](const DeviceRecord& caller) {
    if (!valid_name(req->device_name())) return invalid("device_name: 1 to 255 bytes");
    DeviceRecord d;
    d.name = req->device_name();
    if (Status s = read_keys(req->keys(), d); !s.ok()) return s;
    if (Status s = check_certificate(caller.user, d); !s.ok()) return s;
    auto added = store_.add_device(caller.user_id, d);
    if (!added) return Status(StatusCode::ALREADY_EXISTS, "device key already registered");
    resp->set_device_id(added->id);
    return Status::OK;
  });
}

Status HopboxService::ListDevices(Ctx* ctx, const v1::ListDevicesRequest* req,
                                  v1::ListDevicesResponse* resp) {
  return authenticated(ctx, "ListDevices", [&](const DeviceRecord& caller) {
    UserId user = caller.user_id;
    if (!req->user().empty()) {
      const auto id = store_.user_id(req->user());
      if (!id) return Status(StatusCode::NOT_FOUND, "no such user");
      user = *id;
    }
    resp->set_user_id(user);
    for (const auto& d : store_.devices_of(user)) fill_device(d, *resp->add_devices());
    return Status::OK;
  });
}

Status HopboxService::RequestPairing(Ctx*, const v1::RequestPairingRequest* req,
                                     v1::RequestPairingResponse*) {
  return guarded("RequestPairing", [&] {
    if (!valid_name(req->device_name())) return invalid("device_name: 1 to 255 bytes");
    if (req->pairing_code().empty() || req->pairing_code().size() > 1024) {
      return invalid("pairing_code: 1 to 1024 bytes");
    }
    const auto user = store_.user_id(req->user());
    if (!user) return Status(StatusCode::NOT_FOUND, "no such user");
    std::optional<DeviceRecord> primary;
    for (auto& d : store_.devices_of(*user)) {
      if (d.primary) primary = std::move(d);
    }
    if (!primary) return Status(StatusCode::FAILED_PRECONDITION, "the account has no primary");
    // Unauthenticated: bound the requests that can pile up in the primary's inbox.
    if (store_.count_notifications(primary->id, "pairing-request") >= 8) {
      return Status(StatusCode::RESOURCE_EXHAUSTED, "too many pending pairing requests");
    }
    NotificationRecord n;
    n.to_device = primary->id;
    n.from_device = primary->id;  // no device yet: the request names itself in the body
    n.kind = "pairing-request";
    // Invalid UTF-8 is replaced rather than refused: the primary's user judges the request.
    n.body = bytes_of(
        nlohmann::json{{"device_name", req->device_name()}, {"pairing_code", req->pairing_code()}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    store_.put_notification(n);
    std::lock_guard lock(inbox_mu_);
    ++inbox_epoch_;
    inbox_cv_.notify_all();
    return Status::OK;
  });
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
    DeviceRecord promoted = caller;
    promoted.certificate_chain = bytes_of(req->certificate_chain());
    if (Status s = check_certificate(caller.user, promoted); !s.ok()) return s;
    if (!store_.promote_device(caller.user_id, caller.id, req->lost_device_id(),
                               promoted.certificate_chain)) {
      return Status(StatusCode::FAILED_PRECONDITION,
                    "lost_device_id must be this account's primary, and the caller another "
                    "device of the account");
    }
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

constexpr char kThresholdConfig[] = "r3:config";
constexpr std::size_t kMaxProtectors = 16;
const std::uint8_t kR3Info[] = {'h', 'o', 'p', 'b', 'o', 'x', ' ', 'v', '1', ' ', 'R', '3'};

std::string share_blob(const std::string& protector) {
  return "r3:share:" + protector;
}

}  // namespace

std::optional<v1::ThresholdRecovery> HopboxService::threshold_config(UserId user) {
  const auto blob = store_.recovery_blob(user, kThresholdConfig);
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
      store_.put_recovery_blob(caller.user_id, kThresholdConfig, {});
      return Status::OK;
    }
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
    const std::string encoded = config.SerializeAsString();
    for (const auto& p : req->protectors())
      store_.put_recovery_blob(caller.user_id, share_blob(p.user()), {});
    store_.put_recovery_blob(caller.user_id, kThresholdConfig, bytes_of(encoded));
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

v1::RecoveryProgress HopboxService::recovery_progress(UserId user,
                                                      const v1::ThresholdRecovery& config) {
  v1::RecoveryProgress out;
  out.set_threshold(config.threshold());
  for (const auto& p : config.protectors()) {
    const auto shares = store_.recovery_blob(user, share_blob(p.user()));
    if (shares && !shares->empty()) {
      out.set_valid(out.valid() + 1);
      out.add_approved_by(p.user());
    }
    const auto bad = store_.recovery_blob(user, "r3:bad:" + p.user());
    if (bad && !bad->empty()) out.add_bad_shares_from(p.user());
  }
  const auto installed = store_.recovery_blob(user, "r3:installed");
  out.set_keys_installed(installed && !installed->empty());
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
    bool pending = false;
    for (const auto& d : store_.devices_of(*user)) pending = pending || d.pending_recovery;
    if (!pending) return Status(StatusCode::FAILED_PRECONDITION, "no recovery is waiting");
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
        store_.put_recovery_blob(*user, "r3:bad:" + caller.user, Bytes{1});
        spdlog::warn("recovery of account {}: a bad share from {}", *user, caller.user);
        return invalid("share " + std::to_string(i + 1) + " from " + caller.user +
                       " does not match the commitments");
      }
      all.insert(all.end(), req->shares(i).begin(), req->shares(i).end());
    }
    store_.put_recovery_blob(*user, share_blob(caller.user), all);
    store_.put_recovery_blob(*user, "r3:bad:" + caller.user, {});
    *resp = recovery_progress(*user, *config);
    if (resp->valid() < config->threshold() || resp->keys_installed()) return Status::OK;

    // t valid: rebuild s_i for each approving recovery user, open its key and install it.
    std::vector<Bytes> submissions;
    for (const auto& p : config->protectors()) {
      const auto b = store_.recovery_blob(*user, share_blob(p.user()));
      if (b && !b->empty()) submissions.push_back(*b);
    }
    for (int i = 0; i < config->protectors_size(); ++i) {
      const auto& p = config->protectors(i);
      const auto approved = store_.recovery_blob(*user, share_blob(p.user()));
      if (!approved || approved->empty()) continue;
      std::vector<mupre::Share> shares;
      for (const auto& sub : submissions) {
        auto sh = mupre::Share::decode(std::span(sub).subspan(
            static_cast<std::size_t>(i) * mupre::kShareSize, mupre::kShareSize));
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
      r.rekey = *rk_bytes;
      r.from_fingerprint = from->fingerprint;
      r.to_fingerprint = to->fingerprint;
      store_.put_rekey(r);
    }
    store_.put_recovery_blob(*user, "r3:installed", Bytes{1});
    spdlog::info("recovery of account {}: threshold reached, keys installed", *user);
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
    *resp = recovery_progress(*user, *config);
    return Status::OK;
  });
}

Status HopboxService::RemoveDevice(Ctx* ctx, const v1::RemoveDeviceRequest* req,
                                   v1::RemoveDeviceResponse*) {
  return authenticated(ctx, "RemoveDevice", [&](const DeviceRecord& caller) {
    const auto target = store_.device(req->device_id());
    if (!target || target->user_id != caller.user_id) {
      return Status(StatusCode::NOT_FOUND, "no such device in this account");
    }
    if (target->primary) {
      return Status(StatusCode::FAILED_PRECONDITION, "the primary device cannot be removed");
    }
    if (target->lost) {
      // Its key still carries data encrypted for it (and shares made to it) to the new primary.
      return Status(StatusCode::FAILED_PRECONDITION,
                    "a device replaced by a recovery stays locked out; it cannot be removed");
    }
    for (const std::int64_t id : store_.remove_device(target->id)) {
      reencryptor_.invalidate_edge(id);
    }
    spdlog::info("device {} removed by device {}", target->id, caller.id);
    return Status::OK;
  });
}

// ---- Items ----

Status HopboxService::Upload(Ctx* ctx, grpc::ServerReader<v1::UploadRequest>* reader,
                             v1::UploadResponse* resp) {
  return authenticated(ctx, "Upload", [&](const DeviceRecord& caller) {
    v1::UploadRequest msg;
    if (!reader->Read(&msg) || !msg.has_header()) {
      return invalid("the first message must be the header");
    }
    const v1::UploadHeader h = msg.header();
    if (!valid_item_id(h.item_id())) return invalid("item_id: 1 to 128 of [A-Za-z0-9._-]");
    if (h.folder().size() > kMaxItemId) return invalid("folder: at most 128 bytes");
    auto capsule = mupre::Ciphertext::decode(bytes_of(h.capsule()));
    if (!capsule) return invalid(std::string("capsule: ") + mupre::error_message(capsule.error()));
    if (capsule->level() != 1) return invalid("capsule: must be a fresh (level 1) capsule");
    const Bytes holder(capsule->holder().begin(), capsule->holder().end());
    const auto holder_device = store_.device_by_fingerprint(holder);
    if (!holder_device || holder_device->user_id != caller.user_id) {
      return invalid("capsule: not addressed to a device key of this account");
    }
    if (h.wrapped_key().size() != mupre::kWrappedKeySize) return invalid("wrapped_key: 74 bytes");
    if (h.metadata().size() > kMaxMetadata) return invalid("metadata: too large");
    if (h.payload_header().size() != mupre::kPayloadHeaderSize ||
        static_cast<std::uint8_t>(h.payload_header()[0]) != 0x09) {
      return invalid("payload_header: not a mupre payload header");
    }
    if (h.signature().size() > kMaxCertChain) return invalid("signature: too large");

    auto writer = payloads_.begin();
    if (!writer) return Status(StatusCode::INTERNAL, "cannot store payload");
    std::optional<v1::UploadCommit> commit;
    while (reader->Read(&msg)) {
      if (commit) return invalid("nothing may follow the commit");
      if (msg.has_commit()) {
        commit = msg.commit();
      } else if (msg.part_case() == v1::UploadRequest::kPayload) {
        if (msg.payload().size() > limits_.max_message_payload) {
          return invalid("payload message larger than 4 MiB");
        }
        if (writer->size() + msg.payload().size() > limits_.max_payload_bytes) {
          return invalid("payload larger than this service accepts");
        }
        const auto* p = reinterpret_cast<const std::uint8_t*>(msg.payload().data());
        if (!writer->append({p, msg.payload().size()})) {
          return Status(StatusCode::INTERNAL, "cannot store payload");
        }
      } else {
        return invalid("a second header");
      }
    }
    if (ctx->IsCancelled()) return Status(StatusCode::CANCELLED, "upload cancelled");
    if (!commit) return Status(StatusCode::ABORTED, "upload ended without a commit: discarded");
    const std::uint64_t size = writer->size();
    const auto digest = writer->finish();
    if (!digest) return Status(StatusCode::INTERNAL, "cannot store payload");
    if (to_hex(bytes_of(commit->payload_sha256())) != *digest) {
      return invalid("commit: payload digest does not match the bytes received");
    }
    ItemRecord item;
    item.owner_id = caller.user_id;
    item.item_id = h.item_id();
    item.folder = h.folder();
    item.capsule = bytes_of(h.capsule());
    item.wrapped_key = bytes_of(h.wrapped_key());
    item.metadata = bytes_of(h.metadata());
    item.payload_header = bytes_of(h.payload_header());
    item.payload_digest = *digest;
    item.payload_size = static_cast<std::int64_t>(size);
    if (commit->signature().size() > kMaxCertChain) return invalid("commit.signature: too large");
    item.signature = bytes_of(commit->signature().empty() ? h.signature() : commit->signature());
    {
      std::lock_guard lock(payload_mu_);
      if (!writer->publish()) return Status(StatusCode::INTERNAL, "cannot store payload");
      std::vector<std::string> orphaned;
      const auto version = store_.put_item(item, h.replace(), orphaned);
      if (!version) {
        const auto live = store_.all_payload_digests();
        if (std::find(live.begin(), live.end(), *digest) == live.end()) payloads_.remove(*digest);
        return Status(StatusCode::ALREADY_EXISTS, "item exists (set replace for a new version)");
      }
      for (const auto& d : orphaned) payloads_.remove(d);
      resp->set_version(*version);
    }
    reencryptor_.invalidate_item(caller.user_id, h.item_id());
    resp->set_item_id(h.item_id());
    spdlog::info("item {} v{} stored for account {} ({} bytes)", h.item_id(), resp->version(),
                 caller.user_id, size);
    return Status::OK;
  });
}

Status HopboxService::find_item(const DeviceRecord& caller, const std::string& owner_name,
                                const std::string& item_id, std::optional<ItemRecord>& out) {
  if (!valid_item_id(item_id)) return invalid("item_id: 1 to 128 of [A-Za-z0-9._-]");
  UserId owner = caller.user_id;
  if (!owner_name.empty()) {
    const auto id = store_.user_id(owner_name);
    // An unknown owner and an item one may not see look the same from outside.
    if (!id) return Status(StatusCode::NOT_FOUND, "no such item");
    owner = *id;
  }
  out = store_.item(owner, item_id);
  if (!out) return Status(StatusCode::NOT_FOUND, "no such item");
  return Status::OK;
}

std::optional<std::vector<ReKeyRecord>> HopboxService::chain_for(const ItemRecord& item,
                                                                 const DeviceRecord& caller,
                                                                 Status& status) {
  auto capsule = mupre::Ciphertext::decode(item.capsule);
  if (!capsule) {
    status = Status(StatusCode::INTERNAL, "stored capsule does not decode");
    return std::nullopt;
  }
  const Bytes holder_fp(capsule->holder().begin(), capsule->holder().end());
  const auto holder = store_.device_by_fingerprint(holder_fp);
  if (!holder) {
    status = Status(StatusCode::FAILED_PRECONDITION, "the capsule's key is no longer registered");
    return std::nullopt;
  }
  const auto records = store_.edges_for(item.owner_id, caller.user_id);
  std::vector<Edge> edges;
  edges.reserve(records.size());
  for (const auto& r : records) edges.push_back(r.edge);
  ChainQuery q;
  q.item = ItemView{item.item_id, item.owner_id, item.folder};
  q.holder = holder->id;
  q.target = caller.id;
  q.requester = caller.user_id;
  q.now = now_seconds();
  q.max_hops = mupre::kMaxLevel - capsule->level();
  const auto chain = find_chain(q, edges);
  if (!chain) {
    status = Status(StatusCode::PERMISSION_DENIED, "no access: no admissible chain to this device");
    return std::nullopt;
  }
  std::vector<ReKeyRecord> out;
  for (const EdgeId id : *chain) {
    for (const auto& r : records) {
      if (r.id == id) out.push_back(r);
    }
  }
  return out;
}

Status HopboxService::Download(Ctx* ctx, const v1::DownloadRequest* req,
                               grpc::ServerWriter<v1::DownloadResponse>* writer) {
  return authenticated(ctx, "Download", [&](const DeviceRecord& caller) {
    std::optional<ItemRecord> item;
    if (Status s = find_item(caller, req->owner(), req->item_id(), item); !s.ok()) return s;
    const UserId owner = item->owner_id;
    Status status;
    const auto chain = chain_for(*item, caller, status);
    if (!chain) return status;
    auto capsule = reencryptor_.run(CacheKey{owner, item->item_id, item->version, caller.id},
                                    item->capsule, *chain);
    if (!capsule) {
      return Status(StatusCode::INTERNAL,
                    std::string("re-encryption failed: ") + mupre::error_message(capsule.error()));
    }
    v1::DownloadResponse first;
    v1::DownloadHeader& h = *first.mutable_header();
    fill_summary(*item, *h.mutable_item());
    h.set_capsule(string_of(*capsule));
    for (const auto& r : *chain) h.add_chain(r.id);
    h.set_wrapped_key(string_of(item->wrapped_key));
    h.set_metadata(string_of(item->metadata));
    h.set_payload_header(string_of(item->payload_header));
    h.set_signature(string_of(item->signature));
    h.set_signed_capsule(string_of(item->capsule));
    if (const auto digest = mupre::from_hex(item->payload_digest)) {
      h.set_payload_sha256(string_of(*digest));
    }
    if (!writer->Write(first)) return Status(StatusCode::CANCELLED, "client went away");
    const auto path = payloads_.path_of(item->payload_digest);
    if (!path) return Status(StatusCode::DATA_LOSS, "payload missing");
    std::ifstream in(*path, std::ios::binary);
    std::string buf(kDownloadChunk, '\0');
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const auto n = static_cast<std::size_t>(in.gcount());
      if (n == 0) break;
      v1::DownloadResponse part;
      part.set_payload(buf.data(), n);
      if (!writer->Write(part)) return Status(StatusCode::CANCELLED, "client went away");
    }
    return Status::OK;
  });
}

Status HopboxService::ListItems(Ctx* ctx, const v1::ListItemsRequest* req,
                                v1::ListItemsResponse* resp) {
  return authenticated(ctx, "ListItems", [&](const DeviceRecord& caller) {
    for (const auto& r : store_.items_of(caller.user_id)) fill_summary(r, *resp->add_items());
    if (req->include_shared()) {
      // Items of users who share with this account and that reach the calling device.
      for (const UserId sharer : store_.sharers_with(caller.user_id)) {
        for (const auto& r : store_.items_of(sharer)) {
          Status ignored;
          if (chain_for(r, caller, ignored)) fill_summary(r, *resp->add_items());
        }
      }
    }
    return Status::OK;
  });
}

Status HopboxService::RefreshItem(Ctx* ctx, const v1::RefreshItemRequest* req,
                                  v1::RefreshItemResponse* resp) {
  return authenticated(ctx, "RefreshItem", [&](const DeviceRecord& caller) {
    std::optional<ItemRecord> item;
    if (Status s = find_item(caller, req->owner(), req->item_id(), item); !s.ok()) return s;
    const UserId owner = item->owner_id;
    // Only a device that can read the item may refresh it.
    Status status;
    if (!chain_for(*item, caller, status)) return status;
    auto capsule = mupre::Ciphertext::decode(bytes_of(req->capsule()));
    if (!capsule) return invalid(std::string("capsule: ") + mupre::error_message(capsule.error()));
    if (capsule->level() != 1) return invalid("capsule: must be a fresh (level 1) capsule");
    const auto holder =
        store_.device_by_fingerprint(Bytes(capsule->holder().begin(), capsule->holder().end()));
    if (!holder || holder->user_id != owner) {
      return invalid("capsule: not addressed to a device key of the item's owner");
    }
    if (req->wrapped_key().size() != mupre::kWrappedKeySize)
      return invalid("wrapped_key: 74 bytes");
    if (req->signature().size() > kMaxCertChain) return invalid("signature: too large");
    const auto version = store_.refresh_item(owner, req->item_id(), req->expected_version(),
                                             bytes_of(req->capsule()), bytes_of(req->wrapped_key()),
                                             bytes_of(req->signature()));
    if (!version) return Status(StatusCode::ABORTED, "the item changed meanwhile: reload it");
    reencryptor_.invalidate_item(owner, req->item_id());
    resp->set_version(*version);
    return Status::OK;
  });
}

Status HopboxService::DeleteItem(Ctx* ctx, const v1::DeleteItemRequest* req,
                                 v1::DeleteItemResponse*) {
  return authenticated(ctx, "DeleteItem", [&](const DeviceRecord& caller) {
    if (!valid_item_id(req->item_id())) return invalid("item_id: 1 to 128 of [A-Za-z0-9._-]");
    {
      std::lock_guard lock(payload_mu_);
      std::vector<std::string> orphaned;
      if (!store_.delete_item(caller.user_id, req->item_id(), orphaned)) {
        return Status(StatusCode::NOT_FOUND, "no such item");
      }
      for (const auto& d : orphaned) payloads_.remove(d);
    }
    reencryptor_.invalidate_item(caller.user_id, req->item_id());
    return Status::OK;
  });
}

// ---- The re-encryption key network ----

Status HopboxService::InstallReKey(Ctx* ctx, const v1::InstallReKeyRequest* req,
                                   v1::InstallReKeyResponse* resp) {
  return authenticated(ctx, "InstallReKey", [&](const DeviceRecord& caller) {
    auto rk = mupre::ReKey::decode(bytes_of(req->rekey()));
    if (!rk) return invalid(std::string("rekey: ") + mupre::error_message(rk.error()));
    const Bytes from_fp(rk->from().begin(), rk->from().end());
    const Bytes to_fp(rk->to().begin(), rk->to().end());
    const auto from = store_.device_by_fingerprint(from_fp);
    const auto to = store_.device_by_fingerprint(to_fp);
    if (!from || !to) return Status(StatusCode::NOT_FOUND, "rekey: unknown source or target key");
    if (from->user_id != caller.user_id) {
      return Status(StatusCode::PERMISSION_DENIED, "rekey: source key is not this account's");
    }
    ReKeyRecord r;
    r.creator_device = caller.id;
    r.edge.from = from->id;
    r.edge.to = to->id;
    r.rekey = bytes_of(req->rekey());
    r.from_fingerprint = from_fp;
    r.to_fingerprint = to_fp;
    const auto& p = req->policy();
    if (p.expires_at() < 0) return invalid("policy.expires_at: negative");
    if (p.expires_at() > 0) r.edge.expires = p.expires_at();
    switch (req->kind()) {
      case v1::REKEY_KIND_OWN_DEVICE:
        if (to->user_id != caller.user_id) return invalid("own-device key to another account");
        r.edge.kind = EdgeKind::kOwnDevice;
        r.edge.user = caller.user_id;
        break;
      case v1::REKEY_KIND_SHARE:
        r.edge.kind = EdgeKind::kShare;
        r.edge.user = caller.user_id;
        if (p.folder().size() > kMaxItemId || p.item_ids_size() > 10000) {
          return invalid("policy: folder or item list too large");
        }
        r.edge.policy.scope = static_cast<SharePolicy::Scope>(p.scope());
        r.edge.policy.folder = p.folder();
        for (const auto& id : p.item_ids()) {
          if (!valid_item_id(id)) return invalid("policy.item_ids: bad item id");
          r.edge.policy.items.push_back(id);
        }
        break;
      case v1::REKEY_KIND_RECOVERY: {
        const auto protected_user = req->protected_user().empty()
                                        ? std::optional<UserId>(caller.user_id)
                                        : store_.user_id(req->protected_user());
        if (!protected_user) return Status(StatusCode::NOT_FOUND, "no such protected user");
        // Two shapes only: the protected user's key to a recovery key made for them, and such
        // a recovery key to a device of the protected user.
        const bool to_protector = *protected_user == caller.user_id && !from->recovery_for &&
                                  to->recovery_for == caller.user_id;
        const bool to_protected = from->recovery_for == *protected_user &&
                                  to->user_id == *protected_user && !to->recovery_for;
        if (!to_protector && !to_protected) {
          return invalid(
              "recovery key: from the protected user's key to a recovery key made for them, or "
              "from that recovery key to a device of the protected user");
        }
        r.edge.kind = EdgeKind::kRecovery;
        r.edge.user = *protected_user;
        break;
      }
      default:
        return invalid("kind: own-device, share or recovery");
    }
    resp->set_rekey_id(store_.put_rekey(r));
    spdlog::info("rekey {} installed by device {}", resp->rekey_id(), caller.id);
    return Status::OK;
  });
}

Status HopboxService::RevokeReKey(Ctx* ctx, const v1::RevokeReKeyRequest* req,
                                  v1::RevokeReKeyResponse*) {
  return authenticated(ctx, "RevokeReKey", [&](const DeviceRecord& caller) {
    const auto r = store_.rekey(req->rekey_id());
    if (!r) return Status(StatusCode::NOT_FOUND, "no such rekey");
    const auto creator = store_.device(r->creator_device);
    if (!creator || creator->user_id != caller.user_id) {
      return Status(StatusCode::PERMISSION_DENIED, "rekey was made by another account");
    }
    store_.delete_rekey(r->id);
    reencryptor_.invalidate_edge(r->id);
    spdlog::info("rekey {} revoked", r->id);
    return Status::OK;
  });
}

Status HopboxService::ListReKeys(Ctx* ctx, const v1::ListReKeysRequest*,
                                 v1::ListReKeysResponse* resp) {
  return authenticated(ctx, "ListReKeys", [&](const DeviceRecord& caller) {
    for (const auto& r : store_.rekeys_created_by(caller.user_id)) {
      v1::ReKeyInfo& info = *resp->add_rekeys();
      info.set_rekey_id(r.id);
      info.set_kind(kind_to_proto(r.edge.kind));
      info.set_from_fingerprint(string_of(r.from_fingerprint));
      info.set_to_fingerprint(string_of(r.to_fingerprint));
      info.set_to_device_id(r.edge.to);
      if (const auto to = store_.device(r.edge.to)) info.set_to_user(to->user);
      info.mutable_policy()->set_scope(static_cast<v1::AccessPolicy::Scope>(r.edge.policy.scope));
      info.mutable_policy()->set_folder(r.edge.policy.folder);
      for (const auto& i : r.edge.policy.items) info.mutable_policy()->add_item_ids(i);
      if (r.edge.expires) info.mutable_policy()->set_expires_at(*r.edge.expires);
    }
    return Status::OK;
  });
}

// ---- Inboxes ----

Status HopboxService::SendNotification(Ctx* ctx, const v1::SendNotificationRequest* req,
                                       v1::SendNotificationResponse* resp) {
  return authenticated(ctx, "SendNotification", [&](const DeviceRecord& caller) {
    if (!valid_name(req->kind()) || req->kind().size() > 64) return invalid("kind: 1 to 64 bytes");
    if (req->body().size() > kMaxBody) return invalid("body: at most 64 KiB");
    if (!store_.device(req->to_device_id())) return Status(StatusCode::NOT_FOUND, "no such device");
    NotificationRecord n;
    n.to_device = req->to_device_id();
    n.from_device = caller.id;
    n.kind = req->kind();
    n.body = bytes_of(req->body());
    resp->set_notification_id(store_.put_notification(n));
    std::lock_guard lock(inbox_mu_);
    ++inbox_epoch_;
    inbox_cv_.notify_all();
    return Status::OK;
  });
}

Status HopboxService::WatchInbox(Ctx* ctx, const v1::WatchInboxRequest*,
                                 grpc::ServerWriter<v1::Notification>* writer) {
  return authenticated(ctx, "WatchInbox", [&](const DeviceRecord& caller) {
    std::int64_t last = 0;
    while (!ctx->IsCancelled() && !stopping_) {
      std::uint64_t epoch;
      {
        std::lock_guard lock(inbox_mu_);
        epoch = inbox_epoch_;
      }
      for (const auto& n : store_.pending_notifications(caller.id, last)) {
        v1::Notification out;
        out.set_notification_id(n.id);
        out.set_from_device_id(n.from_device);
        out.set_from_user(n.from_user);
        out.set_kind(n.kind);
        out.set_body(string_of(n.body));
        out.set_created_at(n.created_at);
        if (!writer->Write(out)) return Status::OK;
        last = n.id;
      }
      std::unique_lock lock(inbox_mu_);
      inbox_cv_.wait_for(lock, std::chrono::milliseconds(500),
                         [&] { return inbox_epoch_ != epoch || stopping_; });
    }
    return Status::OK;
  });
}

Status HopboxService::AckNotification(Ctx* ctx, const v1::AckNotificationRequest* req,
                                      v1::AckNotificationResponse*) {
  return authenticated(ctx, "AckNotification", [&](const DeviceRecord& caller) {
    if (!store_.ack_notification(caller.id, req->notification_id())) {
      return Status(StatusCode::NOT_FOUND, "no such notification for this device");
    }
    return Status::OK;
  });
}

// ---- Recovery material ----

Status HopboxService::PutRecoveryBlob(Ctx* ctx, const v1::PutRecoveryBlobRequest* req,
                                      v1::PutRecoveryBlobResponse*) {
  return authenticated(ctx, "PutRecoveryBlob", [&](const DeviceRecord& caller) {
    if (!valid_item_id(req->name())) return invalid("name: 1 to 128 of [A-Za-z0-9._-]");
    if (req->blob().size() > kMaxBlob) return invalid("blob: at most 1 MiB");
    store_.put_recovery_blob(caller.user_id, req->name(), bytes_of(req->blob()));
    return Status::OK;
  });
}

Status HopboxService::GetRecoveryBlob(Ctx* ctx, const v1::GetRecoveryBlobRequest* req,
                                      v1::GetRecoveryBlobResponse* resp) {
  return authenticated(ctx, "GetRecoveryBlob", [&](const DeviceRecord& caller) {
    if (!valid_item_id(req->name())) return invalid("name: 1 to 128 of [A-Za-z0-9._-]");
    if (!req->user().empty() && req->user() != caller.user) {
      return Status(StatusCode::PERMISSION_DENIED, "recovery material of another account");
    }
    const auto blob = store_.recovery_blob(caller.user_id, req->name());
    if (!blob) return Status(StatusCode::NOT_FOUND, "no such recovery blob");
    resp->set_blob(string_of(*blob));
    return Status::OK;
  });
}

Status HopboxService::Health(Ctx*, const v1::HealthRequest*, v1::HealthResponse* resp) {
  const auto stats = reencryptor_.stats();
  resp->set_status(stopping_ ? "stopping" : "ok");
  resp->set_version("0.1.0");
  resp->set_cache_hits(stats.cache_hits);
  resp->set_cache_misses(stats.cache_misses);
  resp->set_reencryptions(stats.reencryptions);
  return Status::OK;
}

}  // namespace hopboxd
