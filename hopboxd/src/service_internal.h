// What the service's translation units share (service.cc: accounts, items, keys, inboxes;
// service_recovery.cc: Protocol 2): limits, validation, conversions, and the preamble every
// authenticated call runs. Private to hopboxd.
#pragma once

#include <google/protobuf/descriptor.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <string_view>

#include "auth.h"
#include "hopbox/sqlite.h"
#include "mupre/item.h"
#include "service.h"

namespace hopboxd {

namespace service_internal {

namespace v1 = hopbox::v1;
using grpc::Status;
using grpc::StatusCode;

inline constexpr std::size_t kMaxName = 255;
inline constexpr std::size_t kMaxItemId = 128;
inline constexpr std::size_t kMaxMetadata = mupre::kMaxMetadataSize + 64;
inline constexpr std::size_t kMaxSealedName = 4096;
inline constexpr std::size_t kMaxSealedItem = 4096;  // AccessRequest.sealed_item
inline constexpr std::size_t kMaxBody = 64 * 1024;
inline constexpr std::size_t kMaxCertChain = 64 * 1024;
inline constexpr std::size_t kMaxStatement = 256;  // InstallReKeyRequest.statement
inline constexpr std::size_t kDownloadChunk = 1 << 20;
inline constexpr std::int64_t kMaxInboxFromOneAccount = 16;
inline constexpr std::int64_t kMaxInbox = 256;
inline constexpr std::int64_t kMaxInvitationSeconds = 30 * 24 * 3600;
inline constexpr std::int64_t kRequestClockSkew = 300;
inline constexpr std::size_t kMaxPendingRecoveries = 8;
inline constexpr std::int64_t kMaxRecoveryNews = 16;  // started / cancelled notices per inbox

inline std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A notification's kind as stored: the name of its payload field ("access_request", ...).
inline std::string kind_name(v1::Notification::PayloadCase c) {
  const auto* f = v1::Notification::descriptor()->FindFieldByNumber(static_cast<int>(c));
  return f != nullptr ? f->name() : std::string("none");
}

inline Status invalid(const std::string& what) {
  return Status(StatusCode::INVALID_ARGUMENT, what);
}

inline Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}
inline std::string string_of(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

inline bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > kMaxName) return false;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return false;  // no control characters
  }
  return true;
}

inline bool valid_item_id(const std::string& s) {
  if (s.empty() || s.size() > kMaxItemId) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// Checks a device's keys; fills the record's key fields.
inline Status read_keys(const v1::DeviceKeys& keys, DeviceRecord& d) {
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

inline void fill_device(const DeviceRecord& d, v1::Device& out) {
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

// Ids beginning with "." are the account's own (its name key): served to its devices only.
inline bool reserved_item_id(const std::string& s) {
  return !s.empty() && s[0] == '.';
}

inline void fill_summary(const ItemRecord& r, v1::ItemSummary& out) {
  out.set_item_id(r.item_id);
  out.set_owner(r.owner);
  out.set_folder(r.folder);
  out.set_version(r.version);
  out.set_payload_size(r.payload_size);
  out.set_created_at(r.created_at);
  out.set_sealed_name(string_of(r.sealed_name));
}

inline v1::ReKeyKind kind_to_proto(EdgeKind k) {
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

// Runs a handler, turning any exception (a storage failure) into INTERNAL without crashing; a
// database that cannot be written is UNAVAILABLE, said as such: the operator's to fix and the
// client's to retry, nothing having changed.
template <class F>
Status guarded(const char* method, F&& f) {
  try {
    return f();
  } catch (const hopbox::sqlite::NotWritable& e) {
    spdlog::error("{}: refused: the database cannot be written: {}", method, e.what());
    return Status(StatusCode::UNAVAILABLE,
                  "the service's database cannot be written (read-only); nothing was changed: "
                  "try again later");
  } catch (const std::exception& e) {
    spdlog::error("{}: internal error: {}", method, e.what());
    return Status(StatusCode::INTERNAL, "internal error");
  }
}

}  // namespace service_internal

template <class F>
grpc::Status HopboxService::authenticated(Ctx* ctx, const char* method, F&& handler) {
  return service_internal::guarded(method, [&] {
    DeviceRecord caller;
    bool completing_recovery = false;
    if (grpc::Status s = authenticate(ctx, caller, &completing_recovery); !s.ok()) return s;
    // A secondary whose primary the CA replaced by it: only what completes the take-over.
    static constexpr std::string_view kCompletionMethods[] = {
        "WatchInbox",     "AckNotification",   "ListDevices",
        "ListRecoveries", "AnnouncePromotion", "PromoteDevice"};
    if (completing_recovery &&
        std::find(std::begin(kCompletionMethods), std::end(kCompletionMethods), method) ==
            std::end(kCompletionMethods)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "this device's primary was replaced at the CA: complete the recovery "
                          "(hopbox recover) first");
    }
    // A device waiting for its recovery can do only what the recovery needs.
    static constexpr std::string_view kPendingMethods[] = {"WatchInbox",          "AckNotification",
                                                           "ReencryptChallenge",  "PromoteDevice",
                                                           "GetRecoveryProgress", "ListDevices"};
    if (caller.pending_recovery && std::find(std::begin(kPendingMethods), std::end(kPendingMethods),
                                             method) == std::end(kPendingMethods)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          "this device is waiting for its recovery");
    }
    return handler(static_cast<const DeviceRecord&>(caller));
  });
}

}  // namespace hopboxd
