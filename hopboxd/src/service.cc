#include "service.h"
#include "service_internal.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>

#include "auth.h"
#include "crash_points.h"
#include "hopbox/threshold.h"
#include "mupre/hex.h"
#include "mupre/item.h"
#include "mupre/shamir.h"

namespace hopboxd {

namespace v1 = hopbox::v1;
using grpc::Status;
using grpc::StatusCode;

using namespace service_internal;

namespace {

// What a caller of another account hears for an item it cannot reach, and for an absent one.
Status no_such_item() {
  return Status(StatusCode::NOT_FOUND, "no such item");
}

// The upload is discarded either way; a full disk is the operator's to fix and the client's to
// retry later, not a fault in what it sent.
Status payload_not_stored(const PayloadStore::Writer& writer) {
  if (writer.out_of_room()) {
    spdlog::error("an upload was refused: no room left for payloads (disk full or a limit)");
    return Status(StatusCode::RESOURCE_EXHAUSTED,
                  "the service has no room left to store this payload; nothing was stored: try "
                  "again later");
  }
  return Status(StatusCode::INTERNAL, "cannot store payload");
}

// Every field the uploader chose is the same: a retried upload, not another one.
bool same_upload(const ItemRecord& stored, const ItemRecord& upload) {
  return stored.folder == upload.folder && stored.capsule == upload.capsule &&
         stored.wrapped_key == upload.wrapped_key && stored.metadata == upload.metadata &&
         stored.payload_header == upload.payload_header &&
         stored.payload_digest == upload.payload_digest && stored.signature == upload.signature &&
         stored.sealed_name == upload.sealed_name;
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

std::optional<std::string> HopboxService::revoked_by_ca(const DeviceRecord& d,
                                                        bool& completing_recovery) {
  completing_recovery = false;
  if (!certificates_) return std::nullopt;
  auto why = certificates_->refuse_device(d.certificate_chain);
  if (!why || d.primary || d.pending_recovery || d.recovery_for) return why;
  const auto request = store_.recovery_request(d.id);
  if (!request || request->new_device || request->user_id != d.user_id) return why;
  if (certificates_->refuse_device(d.certificate_chain,
                                   CertificatePolicy::RevokedIssuer::kTolerated)) {
    return why;
  }
  completing_recovery = true;
  return std::nullopt;
}

Status HopboxService::authenticate(Ctx* ctx, DeviceRecord& caller, bool* completing_recovery) {
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
  bool completing = false;
  if (const auto why = revoked_by_ca(*d, completing)) {
    return Status(StatusCode::PERMISSION_DENIED, *why);
  }
  if (completing_recovery) *completing_recovery = completing;
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
    // Unauthenticated: expired challenges and sessions go, and a device's outstanding
    // challenges are capped, so that a loop of calls cannot grow the database.
    const std::int64_t now = now_seconds();
    store_.purge_expired(now);
    const Bytes challenge = random_bytes(32);
    store_.put_challenge(device->id, challenge, now + limits_.challenge_seconds,
                         limits_.max_challenges_per_device);
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
    bool completing_recovery = false;  // then each call is checked again (authenticated)
    if (const auto why = revoked_by_ca(*device, completing_recovery)) {
      spdlog::warn("session refused for device {}: {}", req->device_id(), *why);
      return Status(StatusCode::PERMISSION_DENIED, *why);
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
    for (const auto& d : store_.devices_of(user)) {
      // A pending device may be anyone's (a stranger's request): it sees its own account's
      // settled devices and itself, nothing a stranger may not.
      const bool insider = user == caller.user_id && !caller.pending_recovery;
      // A pending recovery's keys reach only the recovery users asked, in their request.
      if (d.pending_recovery && !insider && d.id != caller.id) continue;
      // Whom a user protects is theirs and the protected user's business only.
      if (d.recovery_for && !insider &&
          (caller.pending_recovery || *d.recovery_for != caller.user_id)) {
        continue;
      }
      fill_device(d, *resp->add_devices());
    }
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
    if (store_.count_notifications(primary->id, kind_name(v1::Notification::kPairingRequest)) >=
        8) {
      return Status(StatusCode::RESOURCE_EXHAUSTED, "too many pending pairing requests");
    }
    v1::Notification n;
    n.mutable_pairing_request()->set_device_name(req->device_name());
    n.mutable_pairing_request()->set_pairing_code(req->pairing_code());
    // No device yet: the request names itself by its keys in the pairing code.
    notify(primary->id, primary->id, n);
    return Status::OK;
  });
}

Status HopboxService::RemoveDevice(Ctx* ctx, const v1::RemoveDeviceRequest* req,
                                   v1::RemoveDeviceResponse*) {
  return authenticated(ctx, "RemoveDevice", [&](const DeviceRecord& caller) {
    const auto target = store_.device(req->device_id());
    // A recovery key made for this account is the protected user's to withdraw too (its
    // primary's): a removed recovery user keeps no say in the account's recoveries.
    const bool protects_caller = target && target->recovery_for == caller.user_id;
    if (!target || (target->user_id != caller.user_id && !protects_caller)) {
      return Status(StatusCode::NOT_FOUND, "no such device in this account");
    }
    if (protects_caller && !caller.primary) {
      return Status(StatusCode::PERMISSION_DENIED, "only the primary removes a recovery user");
    }
    if (target->primary) {
      return Status(StatusCode::FAILED_PRECONDITION, "the primary device cannot be removed");
    }
    if (target->lost) {
      // Its key still carries data encrypted for it (and shares made to it) to the new primary.
      return Status(StatusCode::FAILED_PRECONDITION,
                    "a device replaced by a recovery stays locked out; it cannot be removed");
    }
    std::vector<std::int64_t> removed_keys;
    store_.atomically([&] {
      store_.clear_recovery_approvals(target->id);
      removed_keys = store_.remove_device(target->id);
    });
    for (const std::int64_t id : removed_keys) reencryptor_.invalidate_edge(id);
    {
      // Its inbox watchers wake up, find it gone and end.
      std::lock_guard lock(inbox_mu_);
      ++inbox_epoch_;
      inbox_cv_.notify_all();
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
    if (h.sealed_name().size() > kMaxSealedName) return invalid("sealed_name: at most 4 KiB");
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
        if (!writer->append({p, msg.payload().size()})) return payload_not_stored(*writer);
      } else {
        return invalid("a second header");
      }
    }
    if (ctx->IsCancelled()) return Status(StatusCode::CANCELLED, "upload cancelled");
    if (!commit) return Status(StatusCode::ABORTED, "upload ended without a commit: discarded");
    const std::uint64_t size = writer->size();
    const auto digest = writer->finish();
    if (!digest) return payload_not_stored(*writer);
    crash_point("upload.payload_written");
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
    item.sealed_name = bytes_of(h.sealed_name());
    {
      std::lock_guard lock(payload_mu_);
      if (!writer->publish()) return Status(StatusCode::INTERNAL, "cannot store payload");
      crash_point("upload.payload_published");
      std::vector<std::string> orphaned;
      // The payload just published goes again unless a stored item uses it (the same bytes).
      const auto drop_unused_payload = [&] {
        const auto live = store_.all_payload_digests();
        if (std::find(live.begin(), live.end(), *digest) == live.end()) payloads_.remove(*digest);
      };
      std::optional<std::int64_t> version;
      try {
        version = store_.put_item(item, h.replace(), orphaned);
      } catch (const hopbox::sqlite::NotWritable&) {
        drop_unused_payload();
        throw;
      }
      if (!version) {
        // The same upload again (its answer lost, say to a crash) gets the same answer.
        if (const auto stored = store_.item(caller.user_id, h.item_id());
            stored && same_upload(*stored, item)) {
          resp->set_version(stored->version);
          resp->set_item_id(h.item_id());
          return Status::OK;
        }
        drop_unused_payload();
        return Status(StatusCode::ALREADY_EXISTS, "item exists (set replace for a new version)");
      }
      crash_point("upload.committed");
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
    if (!id) return no_such_item();
    owner = *id;
  }
  // The owner's reserved items (its name key) never travel through a share.
  if (owner != caller.user_id && reserved_item_id(item_id)) return no_such_item();
  out = store_.item(owner, item_id);
  if (!out) return no_such_item();
  return Status::OK;
}

std::optional<std::vector<ReKeyRecord>> HopboxService::chain_for(const ItemRecord& item,
                                                                 const DeviceRecord& caller,
                                                                 Status& status) {
  auto chain = find_chain_for(item, caller, status);
  // Whatever stopped it, another account learns nothing about the item.
  if (!chain && item.owner_id != caller.user_id) status = no_such_item();
  return chain;
}

std::optional<std::vector<ReKeyRecord>> HopboxService::find_chain_for(const ItemRecord& item,
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
  auto chain = chain_between(ItemView{item.item_id, item.owner_id, item.folder}, holder->id, caller,
                             mupre::kMaxLevel - capsule->level());
  if (!chain) {
    status = Status(StatusCode::PERMISSION_DENIED, "no access: no admissible chain to this device");
  }
  return chain;
}

std::optional<std::vector<ReKeyRecord>> HopboxService::chain_between(const ItemView& item,
                                                                     DeviceKeyId holder,
                                                                     const DeviceRecord& caller,
                                                                     unsigned max_hops) {
  const auto records = store_.edges_for(item.owner, caller.user_id);
  std::vector<Edge> edges;
  edges.reserve(records.size());
  for (const auto& r : records) edges.push_back(r.edge);
  ChainQuery q;
  q.item = item;
  q.holder = holder;
  q.target = caller.id;
  q.requester = caller.user_id;
  q.now = now_seconds();
  q.max_hops = max_hops;
  const auto chain = find_chain(q, edges);
  if (!chain) return std::nullopt;
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
          if (reserved_item_id(r.item_id)) continue;
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
    // Only the owner's devices write; they must be able to read the item too. A share
    // recipient reads, never writes (it could otherwise swap the capsule for one of its own).
    Status status;
    if (!chain_for(*item, caller, status)) return status;  // others: as for an absent item
    if (owner != caller.user_id) {
      return Status(StatusCode::PERMISSION_DENIED,
                    "only the owner's devices may refresh an item; a share is read-only");
    }
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
    if (!version) {
      // This very refresh, committed already (its answer lost, say to a crash): the same answer.
      const auto current = store_.item(owner, req->item_id());
      if (current && current->version == req->expected_version() + 1 &&
          current->capsule == bytes_of(req->capsule()) &&
          current->wrapped_key == bytes_of(req->wrapped_key()) &&
          current->signature == bytes_of(req->signature())) {
        resp->set_version(current->version);
        return Status::OK;
      }
      return Status(StatusCode::ABORTED, "the item changed meanwhile: reload it");
    }
    crash_point("refresh.committed");
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
      // Only ever in the caller's own account: a recipient cannot name another's item here.
      if (!store_.delete_item(caller.user_id, req->item_id(), orphaned)) return no_such_item();
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
    // Read only by the account's own devices (a recovery checks it); bounded like any blob.
    if (req->statement().size() > kMaxStatement) return invalid("statement: at most 256 bytes");
    r.statement = bytes_of(req->statement());
    const auto& p = req->policy();
    if (p.expires_at() < 0) return invalid("policy.expires_at: negative");
    // 0 means "never": a time already past would otherwise be a share that never ends.
    if (p.expires_at() > 0 && p.expires_at() <= now_seconds()) {
      return invalid("policy.expires_at: already past; a share expires in the future");
    }
    if (p.expires_at() > 0) r.edge.expires = p.expires_at();
    switch (req->kind()) {
      case v1::REKEY_KIND_OWN_DEVICE:
        if (to->user_id != caller.user_id) return invalid("own-device key to another account");
        r.edge.kind = EdgeKind::kOwnDevice;
        r.edge.user = caller.user_id;
        break;
      case v1::REKEY_KIND_SHARE:
        // The account's own devices read its items through own-device keys already.
        if (to->user_id == caller.user_id)
          return invalid("share: to another account, not this one");
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
    // The same key with the same policy again (its answer lost, say to a crash): the same
    // answer, not a second edge that revoking the first would leave behind.
    for (const auto& existing : store_.rekeys_created_by(caller.user_id)) {
      if (existing.rekey == r.rekey && existing.edge.from == r.edge.from &&
          existing.edge.to == r.edge.to && existing.edge.kind == r.edge.kind &&
          existing.edge.user == r.edge.user && existing.edge.expires == r.edge.expires &&
          existing.edge.only_towards == 0 && existing.edge.policy.scope == r.edge.policy.scope &&
          existing.edge.policy.folder == r.edge.policy.folder &&
          existing.edge.policy.items == r.edge.policy.items) {
        resp->set_rekey_id(existing.id);
        return Status::OK;
      }
    }
    // Bounded per source key: an account cannot grow the network (and every chain search
    // over it) without end.
    const auto id = store_.put_rekey_bounded(r, limits_.max_rekeys_per_key);
    if (!id) {
      return Status(StatusCode::RESOURCE_EXHAUSTED,
                    "rekey: this source key has " + std::to_string(limits_.max_rekeys_per_key) +
                        " re-encryption keys already; revoke some first");
    }
    crash_point("rekey.committed");
    resp->set_rekey_id(*id);
    spdlog::info("rekey {} installed by device {}", resp->rekey_id(), caller.id);
    return Status::OK;
  });
}

Status HopboxService::RevokeReKey(Ctx* ctx, const v1::RevokeReKeyRequest* req,
                                  v1::RevokeReKeyResponse*) {
  return authenticated(ctx, "RevokeReKey", [&](const DeviceRecord& caller) {
    const auto r = store_.rekey(req->rekey_id());
    if (!r) {
      // Revoked by this account already (a retry whose first answer was lost): done.
      if (store_.revoked_rekey(req->rekey_id(), caller.user_id)) return Status::OK;
      return Status(StatusCode::NOT_FOUND, "no such rekey");
    }
    const auto creator = store_.device(r->creator_device);
    if (!creator || creator->user_id != caller.user_id) {
      return Status(StatusCode::PERMISSION_DENIED, "rekey was made by another account");
    }
    store_.delete_rekey(r->id, caller.user_id);
    crash_point("revoke.committed");
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
      info.set_only_towards_device_id(r.edge.only_towards);
      info.set_statement(string_of(r.statement));
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

void HopboxService::wake_inboxes() {
  std::lock_guard lock(inbox_mu_);
  ++inbox_epoch_;
  inbox_cv_.notify_all();
}

void HopboxService::notify(std::int64_t to_device, std::int64_t from_device,
                           const v1::Notification& payload) {
  NotificationRecord n;
  n.to_device = to_device;
  n.from_device = from_device;
  n.kind = kind_name(payload.payload_case());
  n.body = bytes_of(payload.SerializeAsString());
  store_.put_notification(n);
  wake_inboxes();
}

Status HopboxService::SendNotification(Ctx* ctx, const v1::SendNotificationRequest* req,
                                       v1::SendNotificationResponse* resp) {
  return authenticated(ctx, "SendNotification", [&](const DeviceRecord& caller) {
    const auto to = store_.device(req->to_device_id());
    if (!to || to->lost || to->recovery_for) return Status(StatusCode::NOT_FOUND, "no such device");
    v1::Notification n;
    switch (req->payload_case()) {
      case v1::SendNotificationRequest::kAccessRequest: {
        const auto& a = req->access_request();
        if (!to->primary || to->user_id == caller.user_id) {
          return invalid("access_request: to the primary of another account");
        }
        // Names are secret from the service: what is asked for travels sealed for the owner.
        if (!a.item().empty()) {
          return invalid("access_request: the item travels sealed (sealed_item)");
        }
        if (a.sealed_item().size() > kMaxSealedItem || a.message().size() > 1024) {
          return invalid(
              "access_request: a sealed item of at most 4 KiB, and a message of at most 1 KiB");
        }
        *n.mutable_access_request() = a;
        break;
      }
      case v1::SendNotificationRequest::kRecoveryInvitation: {
        const auto& inv = req->recovery_invitation();
        if (!caller.primary || !to->primary || to->user_id == caller.user_id) {
          return invalid("recovery_invitation: from a primary to another account's primary");
        }
        if (Status s = check_invitation(inv, caller, to->user); !s.ok()) return s;
        *n.mutable_recovery_invitation() = inv;
        break;
      }
      case v1::SendNotificationRequest::kRecoveryRefused: {
        // Only a recovery user that the request asked may refuse it.
        const auto request = store_.recovery_request(to->id);
        if (!request || !request->new_device ||
            std::find(request->via.begin(), request->via.end(), caller.user_id) ==
                request->via.end()) {
          return Status(StatusCode::PERMISSION_DENIED,
                        "recovery_refused: that device did not ask this account");
        }
        store_.refuse_recovery_approvals(to->id, caller.user_id);  // no longer counts (R3)
        if (store_.refuse_recovery_request(to->id, caller.user_id)) {
          // Everyone asked said no: the request ends, freeing its place.
          spdlog::info("recovery request of device {} refused by every recovery user", to->id);
          drop_recovery(*request, caller.id);
          return Status::OK;
        }
        n.mutable_recovery_refused();
        break;
      }
      case v1::SendNotificationRequest::kAccessAnswer: {
        // Only the device whose inbox holds the request answers it, and only to its sender:
        // nobody else can make a requester believe they were granted or refused.
        const auto& a = req->access_answer();
        bool asked = false;
        for (const auto& r : store_.pending_notifications(caller.id, a.request_id() - 1)) {
          asked = r.id == a.request_id() && r.from_device == to->id &&
                  r.kind == kind_name(v1::Notification::kAccessRequest);
          break;  // ordered by id: the first is the one asked for, or there is none
        }
        if (!asked) {
          return Status(StatusCode::PERMISSION_DENIED,
                        "access_answer: no access request of that device in this inbox");
        }
        // Nothing about the item: the request id is all the requester needs (its client noted
        // what it asked for), and the sealed item means nothing to it.
        n.mutable_access_answer()->set_request_id(a.request_id());
        n.mutable_access_answer()->set_granted(a.granted());
        break;
      }
      default:
        return invalid(
            "payload: access_request, access_answer, recovery_invitation or recovery_refused");
    }
    // Bounded per sender account and per inbox, so no account can flood another's.
    if (store_.count_inbox_from(to->id, caller.user_id) >= kMaxInboxFromOneAccount ||
        store_.count_inbox(to->id) >= kMaxInbox) {
      return Status(StatusCode::RESOURCE_EXHAUSTED, "that inbox is full");
    }
    NotificationRecord record;
    record.to_device = to->id;
    record.from_device = caller.id;
    record.kind = kind_name(n.payload_case());
    record.body = bytes_of(n.SerializeAsString());
    resp->set_notification_id(store_.put_notification(record));
    wake_inboxes();
    return Status::OK;
  });
}

Status HopboxService::WatchInbox(Ctx* ctx, const v1::WatchInboxRequest* req,
                                 grpc::ServerWriter<v1::Notification>* writer) {
  return authenticated(ctx, "WatchInbox", [&](const DeviceRecord& caller) {
    // Each stream holds a server thread: a few per device.
    {
      std::lock_guard lock(watch_mu_);
      int& running = watches_[caller.id];
      if (running >= limits_.max_watches_per_device) {
        return Status(StatusCode::RESOURCE_EXHAUSTED,
                      "too many inbox watchers for this device: at most " +
                          std::to_string(limits_.max_watches_per_device));
      }
      ++running;
    }
    struct Release {
      HopboxService& s;
      std::int64_t device;
      ~Release() {
        std::lock_guard lock(s.watch_mu_);
        if (--s.watches_[device] <= 0) s.watches_.erase(device);
      }
    } release{*this, caller.id};
    std::int64_t last = 0;
    while (!ctx->IsCancelled() && !stopping_) {
      // The device may have been removed, lost or revoked, or its session ended, meanwhile.
      DeviceRecord still;
      if (Status s = authenticate(ctx, still); !s.ok()) return s;
      std::uint64_t epoch;
      {
        std::lock_guard lock(inbox_mu_);
        epoch = inbox_epoch_;
      }
      for (const auto& n : store_.pending_notifications(caller.id, last)) {
        last = n.id;
        v1::Notification out;
        if (!out.ParseFromArray(n.body.data(), static_cast<int>(n.body.size())) ||
            kind_name(out.payload_case()) != n.kind) {
          spdlog::warn("notification {} does not decode: skipped", n.id);
          continue;
        }
        out.set_notification_id(n.id);
        out.set_from_device_id(n.from_device);
        out.set_from_user(n.from_user);
        out.set_created_at(n.created_at);
        if (!writer->Write(out)) return Status::OK;
      }
      if (req->pending_only()) return Status::OK;
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
