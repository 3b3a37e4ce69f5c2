// Device-side calls against hopboxd, as the tests and the load benchmark make them.
#pragma once

#include <sodium.h>

#include <functional>
#include <sstream>

#include "certs/requests.h"
#include "test_server.h"

namespace hopboxd::test {

inline grpc::Status create_account(v1::Hopbox::Stub& stub, const std::string& user, TestDevice& d) {
  grpc::ClientContext ctx;
  v1::CreateAccountRequest req;
  req.set_user(user);
  req.set_device_name(user + "-primary");
  *req.mutable_keys() = d.keys();
  v1::CreateAccountResponse resp;
  if (auto s = stub.CreateAccount(&ctx, req, &resp); !s.ok()) return s;
  d.id = resp.device_id();
  return d.login(stub);
}

inline grpc::Status add_device(v1::Hopbox::Stub& stub, const TestDevice& approver, TestDevice& d) {
  grpc::ClientContext ctx;
  approver.authorize(ctx);
  v1::AddDeviceRequest req;
  req.set_device_name("another");
  *req.mutable_keys() = d.keys();
  v1::AddDeviceResponse resp;
  if (auto s = stub.AddDevice(&ctx, req, &resp); !s.ok()) return s;
  d.id = resp.device_id();
  return d.login(stub);
}

// An invitation from `inviter` (its account's primary) asking `recovery_user` to protect it.
inline v1::RecoveryInvitation make_invitation(const TestDevice& inviter,
                                              const std::string& protected_user,
                                              const std::string& recovery_user,
                                              std::int64_t expires_in = 3600) {
  v1::RecoveryInvitation inv;
  inv.set_protected_user(protected_user);
  inv.set_recovery_user(recovery_user);
  std::string nonce(16, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  inv.set_nonce(nonce);
  inv.set_expires_at(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     expires_in);
  const auto msg = hopbox::certs::recovery_invitation_message(
      protected_user, recovery_user, std::vector<std::uint8_t>(nonce.begin(), nonce.end()),
      inv.expires_at());
  inv.set_signature(inviter.sign_message(std::string(msg.begin(), msg.end())));
  return inv;
}

// `caller` registers `recovery_key` as its account's recovery key for `protected_user`.
inline grpc::Status register_recovery_key(v1::Hopbox::Stub& stub, const TestDevice& caller,
                                          const std::string& protected_user,
                                          const v1::RecoveryInvitation& invitation,
                                          TestDevice& recovery_key) {
  grpc::ClientContext ctx;
  caller.authorize(ctx);
  v1::RegisterRecoveryKeyRequest req;
  req.set_protected_user(protected_user);
  *req.mutable_keys() = recovery_key.keys();
  *req.mutable_invitation() = invitation;
  v1::RegisterRecoveryKeyResponse resp;
  const grpc::Status s = stub.RegisterRecoveryKey(&ctx, req, &resp);
  recovery_key.id = resp.device_id();
  return s;
}

// A new device `d` asks to recover `user`'s account through `via`, signed by its own key.
inline grpc::Status request_recovery(v1::Hopbox::Stub& stub, const std::string& user,
                                     const std::vector<std::string>& via, TestDevice& d,
                                     std::int64_t* not_before = nullptr) {
  grpc::ClientContext ctx;
  v1::RequestRecoveryRequest req;
  req.set_user(user);
  req.set_device_name("new");
  *req.mutable_keys() = d.keys();
  for (const auto& v : via) req.add_via(v);
  req.set_requested_at(std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
  const std::string pk = d.keys().encryption_key();
  const auto msg = hopbox::certs::recovery_request_message(
      user, "new", std::vector<std::uint8_t>(pk.begin(), pk.end()), req.requested_at(), via);
  req.set_signature(d.sign_message(std::string(msg.begin(), msg.end())));
  v1::RequestRecoveryResponse resp;
  const grpc::Status s = stub.RequestRecovery(&ctx, req, &resp);
  d.id = resp.device_id();
  if (not_before != nullptr) *not_before = resp.not_before();
  return s;
}

// Sends one notification of a kind devices may send.
inline grpc::Status send_notification(v1::Hopbox::Stub& stub, const TestDevice& from,
                                      const v1::SendNotificationRequest& req,
                                      std::int64_t* id = nullptr) {
  grpc::ClientContext ctx;
  from.authorize(ctx);
  v1::SendNotificationResponse resp;
  const grpc::Status s = stub.SendNotification(&ctx, req, &resp);
  if (id != nullptr) *id = resp.notification_id();
  return s;
}

// Every notification waiting for `d`: the service's complete listing (pending_only), so an
// empty answer means an empty inbox, not a slow one. Throws if the listing does not complete.
inline std::vector<v1::Notification> inbox_of(v1::Hopbox::Stub& stub, const TestDevice& d) {
  grpc::ClientContext ctx;
  d.authorize(ctx);
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::WatchInboxRequest req;
  req.set_pending_only(true);
  auto reader = stub.WatchInbox(&ctx, req);
  std::vector<v1::Notification> out;
  v1::Notification n;
  while (reader->Read(&n)) out.push_back(n);
  const grpc::Status s = reader->Finish();
  if (!s.ok()) throw std::runtime_error("listing the inbox: " + s.error_message());
  return out;
}

// Installs a re-encryption key from `from` (a device of the caller's account) to `to`.
inline grpc::Status install_rekey(v1::Hopbox::Stub& stub, const TestDevice& from,
                                  const TestDevice& to, v1::ReKeyKind kind,
                                  const v1::AccessPolicy& policy, std::int64_t* id) {
  auto rk = mupre::make_rekey(*from.key, to.key->public_key());
  if (!rk) return grpc::Status(grpc::StatusCode::INTERNAL, "make_rekey failed");
  const auto bytes = rk->encode();
  grpc::ClientContext ctx;
  from.authorize(ctx);
  v1::InstallReKeyRequest req;
  req.set_rekey(std::string(bytes.begin(), bytes.end()));
  req.set_kind(kind);
  *req.mutable_policy() = policy;
  v1::InstallReKeyResponse resp;
  const grpc::Status s = stub.InstallReKey(&ctx, req, &resp);
  if (id != nullptr) *id = resp.rekey_id();
  return s;
}

// before_commit, when given, runs once the payload is sent; the upload then stops without
// committing (the call is abandoned in flight). recipient: the key to encrypt for (default:
// the device's own).
inline grpc::Status upload_item(v1::Hopbox::Stub& stub, const TestDevice& d,
                                const std::string& owner, const std::string& item,
                                const std::string& plain, const std::string& folder = "",
                                const std::function<void()>& before_commit = {},
                                const mupre::PublicKey* recipient = nullptr) {
  const mupre::ItemBinding binding{item, owner};
  const mupre::Encapsulation e =
      mupre::encapsulate(recipient != nullptr ? *recipient : d.key->public_key());
  const mupre::DataKey dk = mupre::DataKey::generate();
  auto w = mupre::wrap_data_key(e.key, dk, binding);
  const std::vector<std::uint8_t> meta = {'{', '}'};
  auto m = mupre::seal_metadata(dk, binding, meta);
  std::istringstream in(plain);
  std::ostringstream out;
  if (mupre::seal_payload(dk, binding, in, out, 4096) != mupre::Error::kOk) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "seal failed");
  }
  const std::string sealed = out.str();
  const std::string header = sealed.substr(0, mupre::kPayloadHeaderSize);
  const std::string body = sealed.substr(mupre::kPayloadHeaderSize);

  grpc::ClientContext ctx;
  d.authorize(ctx);
  v1::UploadResponse resp;
  auto writer = stub.Upload(&ctx, &resp);
  v1::UploadRequest h;
  auto& hh = *h.mutable_header();
  hh.set_item_id(item);
  hh.set_folder(folder);
  const auto capsule = e.capsule.encode();
  hh.set_capsule(std::string(capsule.begin(), capsule.end()));
  hh.set_wrapped_key(std::string(w->begin(), w->end()));
  hh.set_metadata(std::string(m->begin(), m->end()));
  hh.set_payload_header(header);
  writer->Write(h);
  for (std::size_t at = 0; at < body.size(); at += 10000) {
    v1::UploadRequest p;
    p.set_payload(body.substr(at, 10000));
    writer->Write(p);
  }
  if (before_commit) {
    before_commit();
    return grpc::Status(grpc::StatusCode::ABORTED, "test stopped");
  }
  v1::UploadRequest c;
  std::string digest(32, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(digest.data()),
                     reinterpret_cast<const unsigned char*>(body.data()), body.size());
  c.mutable_commit()->set_payload_sha256(digest);
  writer->Write(c);
  writer->WritesDone();
  return writer->Finish();
}

// Downloads and decrypts; the plaintext, or the status that stopped it.
// decrypt = false: fetch only (the load benchmark measures the service, not the client).
inline grpc::Status download_item(v1::Hopbox::Stub& stub, const TestDevice& d,
                                  const std::string& owner, const std::string& item,
                                  std::string& plain, int* hops = nullptr, bool decrypt = true) {
  grpc::ClientContext ctx;
  d.authorize(ctx);
  v1::DownloadRequest req;
  req.set_owner(owner);
  req.set_item_id(item);
  auto reader = stub.Download(&ctx, req);
  v1::DownloadResponse msg;
  v1::DownloadHeader header;
  std::string payload;
  bool have_header = false;
  while (reader->Read(&msg)) {
    if (msg.has_header()) {
      header = msg.header();
      have_header = true;
    } else {
      payload += msg.payload();
    }
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok()) return s;
  if (!have_header) return grpc::Status(grpc::StatusCode::INTERNAL, "no header");
  if (hops != nullptr) *hops = header.chain_size();
  if (!decrypt) return grpc::Status::OK;
  auto c = mupre::Ciphertext::decode(
      std::vector<std::uint8_t>(header.capsule().begin(), header.capsule().end()));
  if (!c) return grpc::Status(grpc::StatusCode::DATA_LOSS, "capsule does not decode");
  auto k = mupre::decapsulate(*d.key, *c);
  if (!k) return grpc::Status(grpc::StatusCode::DATA_LOSS, "not the holder");
  const mupre::ItemBinding binding{item, owner};
  auto dk = mupre::unwrap_data_key(
      *k, std::vector<std::uint8_t>(header.wrapped_key().begin(), header.wrapped_key().end()),
      binding);
  if (!dk) return grpc::Status(grpc::StatusCode::DATA_LOSS, "unwrap failed");
  std::istringstream in(header.payload_header() + payload);
  std::ostringstream out;
  if (mupre::open_payload(*dk, binding, in, out) != mupre::Error::kOk) {
    return grpc::Status(grpc::StatusCode::DATA_LOSS, "payload does not open");
  }
  plain = out.str();
  return grpc::Status::OK;
}

}  // namespace hopboxd::test
