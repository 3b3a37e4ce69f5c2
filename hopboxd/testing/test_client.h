// Device-side calls against hopboxd, as the tests and the load benchmark make them.
#pragma once

#include <sodium.h>

#include <functional>
#include <sstream>

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
