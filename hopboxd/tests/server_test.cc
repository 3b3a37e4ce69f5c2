// hopboxd as a real process on loopback: accounts, sessions, devices, uploads and downloads
// through re-encryption chains of 0 to 4 hops, authorization, revocation, crash safety, bad
// input, inboxes.
#include <gtest/gtest.h>
#include <sodium.h>

#include <functional>
#include <future>
#include <sstream>
#include <thread>

#include "test_client.h"

namespace hopboxd::test {
namespace {

using grpc::StatusCode;

std::string random_text(std::size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), s.size());
  return s;
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { stub_ = server_.stub(); }

  void create_account(const std::string& user, TestDevice& d) {
    const grpc::Status s = test::create_account(*stub_, user, d);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
  void add_device(const TestDevice& approver, TestDevice& d) {
    const grpc::Status s = test::add_device(*stub_, approver, d);
    ASSERT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
  std::int64_t install(const TestDevice& from, const TestDevice& to, v1::ReKeyKind kind,
                       const v1::AccessPolicy& policy = {}, grpc::Status* status = nullptr) {
    std::int64_t id = 0;
    const grpc::Status s = install_rekey(*stub_, from, to, kind, policy, &id);
    if (status != nullptr) *status = s;
    return id;
  }
  grpc::Status upload(const TestDevice& d, const std::string& owner, const std::string& item,
                      const std::string& plain, const std::string& folder = "",
                      const std::function<void()>& before_commit = {}) {
    return upload_item(*stub_, d, owner, item, plain, folder, before_commit);
  }
  grpc::Status download(const TestDevice& d, const std::string& owner, const std::string& item,
                        std::string& plain, int* hops = nullptr) {
    return download_item(*stub_, d, owner, item, plain, hops);
  }

  v1::HealthResponse health() {
    grpc::ClientContext ctx;
    v1::HealthResponse r;
    EXPECT_TRUE(stub_->Health(&ctx, v1::HealthRequest(), &r).ok());
    return r;
  }

  TestServer server_{{"--recovery-wait-seconds", "0"}};
  std::unique_ptr<v1::Hopbox::Stub> stub_;
};

TEST_F(ServerTest, AccountsSessionsAndDevices) {
  TestDevice alice;
  create_account("alice", alice);
  // The same user again, and the same device key under another user, are refused.
  {
    grpc::ClientContext ctx;
    v1::CreateAccountRequest req;
    req.set_user("alice");
    req.set_device_name("x");
    TestDevice other;
    *req.mutable_keys() = other.keys();
    v1::CreateAccountResponse resp;
    EXPECT_EQ(stub_->CreateAccount(&ctx, req, &resp).error_code(), StatusCode::ALREADY_EXISTS);
  }
  // A wrong signature buys no session, and a challenge is single use.
  {
    grpc::ClientContext c1;
    v1::BeginSessionRequest b;
    b.set_device_id(alice.id);
    v1::BeginSessionResponse br;
    ASSERT_TRUE(stub_->BeginSession(&c1, b, &br).ok());
    TestDevice impostor;
    grpc::ClientContext c2;
    v1::CompleteSessionRequest r;
    r.set_device_id(alice.id);
    r.set_challenge(br.challenge());
    r.set_signature(impostor.sign(br.challenge()));
    v1::CompleteSessionResponse rr;
    EXPECT_EQ(stub_->CompleteSession(&c2, r, &rr).error_code(), StatusCode::UNAUTHENTICATED);
    grpc::ClientContext c3;
    r.set_signature(alice.sign(br.challenge()));
    EXPECT_EQ(stub_->CompleteSession(&c3, r, &rr).error_code(), StatusCode::UNAUTHENTICATED);
  }
  TestDevice phone;
  add_device(alice, phone);
  grpc::ClientContext ctx;
  phone.authorize(ctx);
  v1::ListDevicesResponse list;
  ASSERT_TRUE(stub_->ListDevices(&ctx, v1::ListDevicesRequest(), &list).ok());
  ASSERT_EQ(list.devices_size(), 2);
  EXPECT_TRUE(list.devices(0).primary());
  EXPECT_FALSE(list.devices(1).primary());
  // Without a session, nothing but account creation, sessions and health.
  grpc::ClientContext anon;
  EXPECT_EQ(stub_->ListDevices(&anon, v1::ListDevicesRequest(), &list).error_code(),
            StatusCode::UNAUTHENTICATED);
  grpc::ClientContext forged;
  forged.AddMetadata("authorization", "Bearer 00");
  EXPECT_EQ(stub_->ListDevices(&forged, v1::ListDevicesRequest(), &list).error_code(),
            StatusCode::UNAUTHENTICATED);
}

TEST_F(ServerTest, DownloadsThroughChainsOfZeroToFourReencryptions) {
  TestDevice a0, a1, a2, b0, b1;
  create_account("alice", a0);
  add_device(a0, a1);
  add_device(a0, a2);
  create_account("bob", b0);
  add_device(b0, b1);
  install(a0, a1, v1::REKEY_KIND_OWN_DEVICE);
  install(a1, a2, v1::REKEY_KIND_OWN_DEVICE);
  install(a2, b0, v1::REKEY_KIND_SHARE);
  install(b0, b1, v1::REKEY_KIND_OWN_DEVICE);
  const std::string plain = random_text(100000);
  ASSERT_TRUE(upload(a0, "alice", "report.pdf", plain).ok());
  const std::pair<TestDevice*, int> readers[] = {{&a0, 0}, {&a1, 1}, {&a2, 2}, {&b0, 3}, {&b1, 4}};
  for (const auto& [dev, expected_hops] : readers) {
    std::string got;
    int hops = -1;
    const grpc::Status s = download(*dev, "alice", "report.pdf", got, &hops);
    ASSERT_TRUE(s.ok()) << expected_hops << ": " << s.error_message();
    EXPECT_EQ(hops, expected_hops);
    EXPECT_EQ(got, plain);
  }
  // The second download by the same device is served from the cache.
  const auto before = health();
  std::string got;
  ASSERT_TRUE(download(b1, "alice", "report.pdf", got).ok());
  EXPECT_EQ(health().cache_hits(), before.cache_hits() + 1);
  // bob sees the shared item in his listing.
  grpc::ClientContext ctx;
  b1.authorize(ctx);
  v1::ListItemsRequest lr;
  lr.set_include_shared(true);
  v1::ListItemsResponse list;
  ASSERT_TRUE(stub_->ListItems(&ctx, lr, &list).ok());
  ASSERT_EQ(list.items_size(), 1);
  EXPECT_EQ(list.items(0).owner(), "alice");
}

TEST_F(ServerTest, AnotherAccountIsDeniedEverywhere) {
  TestDevice alice, carol;
  create_account("alice", alice);
  create_account("carol", carol);
  TestDevice bob;
  create_account("bob", bob);
  const std::int64_t share = install(alice, bob, v1::REKEY_KIND_SHARE);
  ASSERT_TRUE(upload(alice, "alice", "secret", "alice's data").ok());
  std::string got;
  EXPECT_EQ(download(carol, "alice", "secret", got).error_code(), StatusCode::NOT_FOUND);
  // carol cannot revoke alice's key, nor install a key starting at alice's device key.
  {
    grpc::ClientContext ctx;
    carol.authorize(ctx);
    v1::RevokeReKeyRequest req;
    req.set_rekey_id(share);
    v1::RevokeReKeyResponse resp;
    EXPECT_EQ(stub_->RevokeReKey(&ctx, req, &resp).error_code(), StatusCode::PERMISSION_DENIED);
  }
  {
    auto rk = mupre::make_rekey(*alice.key, carol.key->public_key());
    ASSERT_TRUE(rk.ok());
    const auto bytes = rk->encode();
    grpc::ClientContext ctx;
    carol.authorize(ctx);
    v1::InstallReKeyRequest req;
    req.set_rekey(std::string(bytes.begin(), bytes.end()));
    req.set_kind(v1::REKEY_KIND_SHARE);
    v1::InstallReKeyResponse resp;
    EXPECT_EQ(stub_->InstallReKey(&ctx, req, &resp).error_code(), StatusCode::PERMISSION_DENIED);
  }
  // bob's share does not let him re-share alice's item with carol.
  install(bob, carol, v1::REKEY_KIND_SHARE);
  EXPECT_EQ(download(carol, "alice", "secret", got).error_code(), StatusCode::NOT_FOUND);
  // carol cannot delete alice's item (it is not in carol's account) ...
  {
    grpc::ClientContext ctx;
    carol.authorize(ctx);
    v1::DeleteItemRequest req;
    req.set_item_id("secret");
    v1::DeleteItemResponse resp;
    EXPECT_EQ(stub_->DeleteItem(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
  }
  // ... nor upload a capsule for a key of alice's into her own account.
  {
    TestDevice fake = carol;
    fake.key = alice.key;
    EXPECT_EQ(upload(fake, "carol", "x", "y").error_code(), StatusCode::INVALID_ARGUMENT);
  }
  ASSERT_TRUE(download(bob, "alice", "secret", got).ok());
  EXPECT_EQ(got, "alice's data");
}

TEST_F(ServerTest, RevocationTakesEffectOnTheNextDownload) {
  TestDevice alice, bob;
  create_account("alice", alice);
  create_account("bob", bob);
  const std::int64_t share = install(alice, bob, v1::REKEY_KIND_SHARE);
  ASSERT_TRUE(upload(alice, "alice", "doc", "v1").ok());
  std::string got;
  ASSERT_TRUE(download(bob, "alice", "doc", got).ok());  // now cached
  grpc::ClientContext ctx;
  alice.authorize(ctx);
  v1::RevokeReKeyRequest req;
  req.set_rekey_id(share);
  v1::RevokeReKeyResponse resp;
  ASSERT_TRUE(stub_->RevokeReKey(&ctx, req, &resp).ok());
  // As if it did not exist: another account learns nothing about items it cannot reach.
  EXPECT_EQ(download(bob, "alice", "doc", got).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, PoliciesLimitWhatAShareCarries) {
  TestDevice alice, bob;
  create_account("alice", alice);
  create_account("bob", bob);
  v1::AccessPolicy photos;
  photos.set_scope(v1::AccessPolicy::SCOPE_FOLDER);
  photos.set_folder("photos");
  install(alice, bob, v1::REKEY_KIND_SHARE, photos);
  ASSERT_TRUE(upload(alice, "alice", "beach.jpg", "sand", "photos").ok());
  ASSERT_TRUE(upload(alice, "alice", "taxes.pdf", "numbers", "work").ok());
  std::string got;
  EXPECT_TRUE(download(bob, "alice", "beach.jpg", got).ok());
  EXPECT_EQ(download(bob, "alice", "taxes.pdf", got).error_code(), StatusCode::NOT_FOUND);
  // A share expired already is refused (issue 13); one that expires later stops carrying
  // anything then (chain_search_test).
  v1::AccessPolicy expired;
  expired.set_expires_at(1);  // 1970
  grpc::Status s;
  install(alice, bob, v1::REKEY_KIND_SHARE, expired, &s);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(download(bob, "alice", "taxes.pdf", got).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, KilledDuringUploadLosesNothingAcknowledged) {
  TestDevice alice;
  create_account("alice", alice);
  const std::string first = random_text(300000);
  ASSERT_TRUE(upload(alice, "alice", "kept", first).ok());
  // An upload in flight when the server dies: header and payload sent, no commit, the call
  // still open.
  std::promise<void> sent, killed;
  std::thread uploader([&] {
    (void)upload(alice, "alice", "half", random_text(2000000), "", [&] {
      sent.set_value();
      killed.get_future().wait();
    });
  });
  sent.get_future().wait();
  // The server has begun writing the upload aside (wait for it: machines are slow at times).
  const fs::path tmp = server_.dir() / "payloads" / "tmp";
  for (int i = 0; i < 200 && fs::is_empty(tmp); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(fs::is_empty(tmp));  // the upload is in flight
  EXPECT_EQ(server_.stop(SIGKILL), -SIGKILL);
  killed.set_value();
  uploader.join();
  server_.start();
  stub_ = server_.stub();
  ASSERT_TRUE(alice.login(*stub_).ok());
  std::string got;
  ASSERT_TRUE(download(alice, "alice", "kept", got).ok());
  EXPECT_EQ(got, first);
  EXPECT_EQ(download(alice, "alice", "half", got).error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(fs::is_empty(server_.dir() / "payloads" / "tmp"));
}

// A disk that fills up: the upload that does not fit is refused as such (not a crash, not an
// internal error), leaves nothing behind, and everything stored before stays readable.
TEST_F(ServerTest, AFullDiskRefusesTheUploadThatDoesNotFitAndLosesNothing) {
  TestDevice alice;
  create_account("alice", alice);
  const std::string kept = random_text(100000);
  ASSERT_TRUE(upload(alice, "alice", "kept", kept).ok());
  ASSERT_EQ(server_.stop(SIGTERM), 0);
  server_.limit_file_size(2 << 20);  // room for small files only
  server_.start();
  stub_ = server_.stub();
  ASSERT_TRUE(alice.login(*stub_).ok());
  const grpc::Status full = upload(alice, "alice", "large", random_text(3 << 20));
  EXPECT_EQ(full.error_code(), StatusCode::RESOURCE_EXHAUSTED) << full.error_message();
  EXPECT_NE(full.error_message().find("no room left"), std::string::npos) << full.error_message();
  EXPECT_TRUE(server_.running());
  EXPECT_TRUE(fs::is_empty(server_.dir() / "payloads" / "tmp"));
  std::string got;
  EXPECT_EQ(download(alice, "alice", "large", got).error_code(), StatusCode::NOT_FOUND);
  ASSERT_TRUE(download(alice, "alice", "kept", got).ok());
  EXPECT_EQ(got, kept);
  // What fits still goes in, and the retry once there is room succeeds.
  EXPECT_TRUE(upload(alice, "alice", "small", "fits").ok());
  ASSERT_EQ(server_.stop(SIGTERM), 0);
  server_.limit_file_size(0);
  server_.start();
  stub_ = server_.stub();
  ASSERT_TRUE(alice.login(*stub_).ok());
  EXPECT_TRUE(upload(alice, "alice", "large", random_text(3 << 20)).ok());
}

TEST_F(ServerTest, UploadWithoutCommitLeavesNoItem) {
  TestDevice alice;
  create_account("alice", alice);
  // The client closes the stream without a commit.
  grpc::ClientContext ctx;
  alice.authorize(ctx);
  v1::UploadResponse resp;
  auto w = stub_->Upload(&ctx, &resp);
  v1::UploadRequest h;
  h.mutable_header()->set_item_id("half");
  const auto capsule = mupre::encapsulate(alice.key->public_key()).capsule.encode();
  h.mutable_header()->set_capsule(std::string(capsule.begin(), capsule.end()));
  h.mutable_header()->set_wrapped_key(std::string(mupre::kWrappedKeySize, '\0'));
  h.mutable_header()->set_payload_header(std::string("\x09\x01", 2) + std::string(28, '\0'));
  w->Write(h);
  v1::UploadRequest p;
  p.set_payload("some bytes");
  w->Write(p);
  w->WritesDone();
  EXPECT_EQ(w->Finish().error_code(), StatusCode::ABORTED);
  std::string got;
  EXPECT_EQ(download(alice, "alice", "half", got).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, MalformedInputGetsClearErrorsAndTheServerStaysUp) {
  TestDevice alice;
  create_account("alice", alice);
  const auto bad_upload = [&](auto mutate) {
    grpc::ClientContext ctx;
    alice.authorize(ctx);
    v1::UploadResponse resp;
    auto w = stub_->Upload(&ctx, &resp);
    v1::UploadRequest h;
    auto& hh = *h.mutable_header();
    hh.set_item_id("ok-id");
    const auto capsule = mupre::encapsulate(alice.key->public_key()).capsule.encode();
    hh.set_capsule(std::string(capsule.begin(), capsule.end()));
    hh.set_wrapped_key(std::string(mupre::kWrappedKeySize, '\0'));
    hh.set_payload_header(std::string("\x09\x01", 2) + std::string(28, '\0'));
    mutate(hh);
    w->Write(h);
    w->WritesDone();
    return w->Finish();
  };
  EXPECT_EQ(bad_upload([](v1::UploadHeader& h) { h.set_item_id("../etc/passwd"); }).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad_upload([](v1::UploadHeader& h) { h.set_capsule("junk"); }).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad_upload([](v1::UploadHeader& h) {
              std::string c = h.capsule();
              c[40] = static_cast<char>(c[40] ^ 1);  // a point off the curve or subgroup
              h.set_capsule(c);
            }).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad_upload([](v1::UploadHeader& h) { h.set_wrapped_key("short"); }).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(bad_upload([](v1::UploadHeader& h) {
              h.set_metadata(std::string(3 << 20, 'm'));
            }).error_code(),
            StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext ctx;
    alice.authorize(ctx);
    v1::InstallReKeyRequest req;
    req.set_rekey(std::string(498, '\x03'));
    v1::InstallReKeyResponse resp;
    EXPECT_EQ(stub_->InstallReKey(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  }
  {
    grpc::ClientContext ctx;
    v1::BeginSessionRequest req;
    req.set_device_id(987654);
    v1::BeginSessionResponse resp;
    EXPECT_EQ(stub_->BeginSession(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    v1::CreateAccountRequest req;
    req.set_user("mallory");
    req.set_device_name("d");
    req.mutable_keys()->set_signing_key("not a key");
    v1::CreateAccountResponse resp;
    EXPECT_EQ(stub_->CreateAccount(&ctx, req, &resp).error_code(), StatusCode::INVALID_ARGUMENT);
  }
  std::string got;
  EXPECT_EQ(download(alice, "nobody", "x", got).error_code(), StatusCode::NOT_FOUND);
  EXPECT_TRUE(server_.running());
  EXPECT_EQ(health().status(), "ok");
}

// A listing (pending_only) ends by itself once everything waiting is sent, so "nothing
// waiting" is an answer and not a deadline that passed on a slow link.
TEST_F(ServerTest, AnInboxListingEndsOnceEverythingWaitingIsSent) {
  TestDevice bob, phone;
  create_account("bob", bob);
  create_account("alice", phone);
  const auto listing = [&] {
    grpc::ClientContext ctx;
    phone.authorize(ctx);
    // Far beyond any answer: only a stream that never ends reaches it.
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WatchInboxRequest req;
    req.set_pending_only(true);
    auto reader = stub_->WatchInbox(&ctx, req);
    std::vector<std::int64_t> ids;
    v1::Notification n;
    while (reader->Read(&n)) ids.push_back(n.notification_id());
    const grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
    return ids;
  };
  EXPECT_TRUE(listing().empty());
  std::vector<std::int64_t> sent(2);
  for (auto& id : sent) {
    v1::SendNotificationRequest req;
    req.set_to_device_id(phone.id);
    req.mutable_access_request()->set_message("hello");
    ASSERT_TRUE(send_notification(*stub_, bob, req, &id).ok());
  }
  EXPECT_EQ(listing(), sent);
  EXPECT_EQ(listing(), sent);  // still waiting: a listing acknowledges nothing
}

TEST_F(ServerTest, InboxDeliversToOfflineDevicesUntilAcknowledged) {
  TestDevice bob, phone, alice;
  create_account("bob", bob);
  create_account("alice", phone);
  add_device(phone, alice);
  std::int64_t sent = 0;
  {
    v1::SendNotificationRequest req;
    req.set_to_device_id(phone.id);
    req.mutable_access_request()->set_message("hello");
    ASSERT_TRUE(send_notification(*stub_, bob, req, &sent).ok());
  }
  const auto first_notification = [&] {
    grpc::ClientContext ctx;
    phone.authorize(ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto reader = stub_->WatchInbox(&ctx, v1::WatchInboxRequest());
    v1::Notification n;
    const bool got = reader->Read(&n);
    ctx.TryCancel();
    (void)reader->Finish();
    return got ? n : v1::Notification();
  };
  v1::Notification n = first_notification();
  EXPECT_EQ(n.notification_id(), sent);
  ASSERT_TRUE(n.has_access_request());
  EXPECT_EQ(n.access_request().message(), "hello");
  EXPECT_EQ(n.from_user(), "bob");
  // Still there until acknowledged.
  EXPECT_EQ(first_notification().notification_id(), sent);
  grpc::ClientContext ctx;
  phone.authorize(ctx);
  v1::AckNotificationRequest ack;
  ack.set_notification_id(sent);
  v1::AckNotificationResponse ar;
  ASSERT_TRUE(stub_->AckNotification(&ctx, ack, &ar).ok());
  grpc::ClientContext ctx2;
  alice.authorize(ctx2);  // not alice's to acknowledge, and gone anyway
  EXPECT_EQ(stub_->AckNotification(&ctx2, ack, &ar).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(ServerTest, GracefulStopOnSigterm) {
  TestDevice alice;
  create_account("alice", alice);
  ASSERT_TRUE(upload(alice, "alice", "x", "data").ok());
  EXPECT_EQ(server_.stop(SIGTERM), 0);
  server_.start();
  stub_ = server_.stub();
  ASSERT_TRUE(alice.login(*stub_).ok());
  std::string got;
  ASSERT_TRUE(download(alice, "alice", "x", got).ok());
  EXPECT_EQ(got, "data");
}

TEST_F(ServerTest, RefreshMakesALongChainItemLevelOneAgain) {
  // alice uploads from her second device a1; her primary a0 has no way to it (the own-device
  // key goes a0 -> a1 only). a1 refreshes it for a0's key, and from then on a0 reads it with no
  // re-encryption. bob reads it through the share before and after, but may not refresh it.
  TestDevice a0, a1, b0;
  create_account("alice", a0);
  add_device(a0, a1);
  create_account("bob", b0);
  install(a0, a1, v1::REKEY_KIND_OWN_DEVICE);
  install(a1, b0, v1::REKEY_KIND_SHARE);
  ASSERT_TRUE(upload(a1, "alice", "doc", "payload stays").ok());  // capsule for a1
  std::string got;
  int hops = -1;
  ASSERT_TRUE(download(b0, "alice", "doc", got, &hops).ok());
  EXPECT_EQ(hops, 1);
  // Her own device hears why it cannot read the item.
  EXPECT_EQ(download(a0, "alice", "doc", got, &hops).error_code(), StatusCode::PERMISSION_DENIED);

  // a1 refreshes: decrypt what it got, make a level-1 capsule for a0's key.
  grpc::ClientContext dctx;
  a1.authorize(dctx);
  v1::DownloadRequest dreq;
  dreq.set_owner("alice");
  dreq.set_item_id("doc");
  auto reader = stub_->Download(&dctx, dreq);
  v1::DownloadResponse msg;
  v1::DownloadHeader header;
  while (reader->Read(&msg)) {
    if (msg.has_header()) header = msg.header();
  }
  ASSERT_TRUE(reader->Finish().ok());
  auto c = mupre::Ciphertext::decode(
      std::vector<std::uint8_t>(header.capsule().begin(), header.capsule().end()));
  ASSERT_TRUE(c.ok());
  auto fresh = mupre::refresh(
      *a1.key, *c,
      std::vector<std::uint8_t>(header.wrapped_key().begin(), header.wrapped_key().end()),
      mupre::ItemBinding{"doc", "alice"}, a0.key->public_key());
  ASSERT_TRUE(fresh.ok());
  const auto capsule = fresh->capsule.encode();
  v1::RefreshItemRequest req;
  req.set_owner("alice");
  req.set_item_id("doc");
  req.set_expected_version(header.item().version());
  req.set_capsule(std::string(capsule.begin(), capsule.end()));
  req.set_wrapped_key(std::string(fresh->wrapped_key.begin(), fresh->wrapped_key.end()));
  v1::RefreshItemResponse resp;
  // A share recipient may read the item but never write it.
  grpc::ClientContext bctx;
  b0.authorize(bctx);
  EXPECT_EQ(stub_->RefreshItem(&bctx, req, &resp).error_code(), StatusCode::PERMISSION_DENIED);
  grpc::ClientContext rctx;
  a1.authorize(rctx);
  ASSERT_TRUE(stub_->RefreshItem(&rctx, req, &resp).ok());
  EXPECT_EQ(resp.version(), header.item().version() + 1);
  // The same refresh again is a retry (its answer lost, say to a crash): answered as the first.
  grpc::ClientContext rctx2;
  a1.authorize(rctx2);
  ASSERT_TRUE(stub_->RefreshItem(&rctx2, req, &resp).ok());
  EXPECT_EQ(resp.version(), header.item().version() + 1);
  // Another refresh made from the old version is stale.
  auto other = mupre::refresh(
      *a1.key, *c,
      std::vector<std::uint8_t>(header.wrapped_key().begin(), header.wrapped_key().end()),
      mupre::ItemBinding{"doc", "alice"}, a0.key->public_key());
  ASSERT_TRUE(other.ok());
  const auto other_capsule = other->capsule.encode();
  req.set_capsule(std::string(other_capsule.begin(), other_capsule.end()));
  req.set_wrapped_key(std::string(other->wrapped_key.begin(), other->wrapped_key.end()));
  grpc::ClientContext rctx3;
  a1.authorize(rctx3);
  EXPECT_EQ(stub_->RefreshItem(&rctx3, req, &resp).error_code(), StatusCode::ABORTED);

  ASSERT_TRUE(download(a0, "alice", "doc", got, &hops).ok());
  EXPECT_EQ(hops, 0);
  EXPECT_EQ(got, "payload stays");
  ASSERT_TRUE(download(a1, "alice", "doc", got, &hops).ok());
  EXPECT_EQ(hops, 1);
  EXPECT_EQ(got, "payload stays");
  ASSERT_TRUE(download(b0, "alice", "doc", got, &hops).ok());
  EXPECT_EQ(hops, 2);
  EXPECT_EQ(got, "payload stays");
}

TEST_F(ServerTest, ARefusedUploadKeepsTheStoredPayloadAndDeletionCleansUp) {
  TestDevice alice;
  create_account("alice", alice);
  ASSERT_TRUE(upload(alice, "alice", "a", "same bytes").ok());
  // A second upload under the same id without replace is refused, and the stored item keeps
  // its payload.
  EXPECT_EQ(upload(alice, "alice", "a", "other bytes").error_code(), StatusCode::ALREADY_EXISTS);
  std::string got;
  ASSERT_TRUE(download(alice, "alice", "a", got).ok());
  EXPECT_EQ(got, "same bytes");
  grpc::ClientContext ctx;
  alice.authorize(ctx);
  v1::DeleteItemRequest req;
  req.set_item_id("a");
  v1::DeleteItemResponse resp;
  ASSERT_TRUE(stub_->DeleteItem(&ctx, req, &resp).ok());
  EXPECT_EQ(download(alice, "alice", "a", got).error_code(), StatusCode::NOT_FOUND);
  // Nothing is left on disk once no item uses a payload.
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(server_.dir() / "payloads" / "objects")) {
    if (e.is_regular_file()) ++files;
  }
  EXPECT_EQ(files, 0u);
}

TEST_F(ServerTest, PairingRequestsReachThePrimaryAndAreBounded) {
  TestDevice alice;
  create_account("alice", alice);
  const auto ask = [&](const std::string& name) {
    grpc::ClientContext ctx;  // unauthenticated: the new device has no registered key
    v1::RequestPairingRequest req;
    req.set_user("alice");
    req.set_device_name(name);
    req.set_pairing_code("HBP1-00");
    v1::RequestPairingResponse resp;
    return stub_->RequestPairing(&ctx, req, &resp);
  };
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(ask("phone" + std::to_string(i)).ok());
  EXPECT_EQ(ask("one too many").error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ask(std::string("bad\x01name")).error_code(), StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext ctx;
  v1::RequestPairingRequest req;
  req.set_user("nobody");
  req.set_device_name("x");
  req.set_pairing_code("y");
  v1::RequestPairingResponse resp;
  EXPECT_EQ(stub_->RequestPairing(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
}

grpc::Status announce(v1::Hopbox::Stub& stub, const TestDevice& caller,
                      std::int64_t* not_before = nullptr) {
  grpc::ClientContext ctx;
  caller.authorize(ctx);
  v1::AnnouncePromotionResponse resp;
  const grpc::Status s = stub.AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp);
  if (not_before != nullptr) *not_before = resp.not_before();
  return s;
}

grpc::Status promote(v1::Hopbox::Stub& stub, const TestDevice& caller, std::int64_t lost) {
  grpc::ClientContext ctx;
  caller.authorize(ctx);
  v1::PromoteDeviceRequest req;
  req.set_lost_device_id(lost);
  v1::PromoteDeviceResponse resp;
  return stub.PromoteDevice(&ctx, req, &resp);
}

TEST_F(ServerTest, PromotionLocksTheLostPrimaryOutAndKeepsItsEdges) {
  TestDevice a1, a2, b1;
  create_account("alice", a1);
  add_device(a1, a2);
  create_account("bob", b1);
  install(a1, a2, v1::REKEY_KIND_OWN_DEVICE);
  install(b1, a1, v1::REKEY_KIND_SHARE);
  ASSERT_TRUE(upload(a1, "alice", "x", "before the loss").ok());
  ASSERT_TRUE(upload(b1, "bob", "y", "bob's").ok());
  // Only a device of the account may replace its primary, and only the primary is replaced;
  // only after announcing it (here with no waiting period).
  EXPECT_EQ(promote(*stub_, a2, a1.id).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(announce(*stub_, a2).ok());
  EXPECT_EQ(announce(*stub_, a1).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(promote(*stub_, b1, a1.id).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(promote(*stub_, a1, a1.id).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(promote(*stub_, a2, a2.id).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(promote(*stub_, a2, a1.id).ok());
  // The lost primary is refused at once, its open session included, and cannot start another.
  std::string plain;
  EXPECT_EQ(download(a1, "alice", "x", plain).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(a1.login(*stub_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Its edges still carry what was encrypted for it: alice's item and bob's share.
  int hops = 0;
  ASSERT_TRUE(download(a2, "alice", "x", plain, &hops).ok());
  EXPECT_EQ(plain, "before the loss");
  EXPECT_EQ(hops, 1);
  ASSERT_TRUE(download(a2, "bob", "y", plain, &hops).ok());
  EXPECT_EQ(hops, 2);
  // bob's primary was told; the lost device cannot be removed. Promoting again is answered as
  // the first time (a retry whose answer was lost) and changes nothing: a1 stays locked out.
  EXPECT_EQ(promote(*stub_, a2, a1.id).error_code(), grpc::StatusCode::OK);
  EXPECT_EQ(a1.login(*stub_).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  grpc::ClientContext ctx;
  a2.authorize(ctx);
  v1::RemoveDeviceRequest rm;
  rm.set_device_id(a1.id);
  v1::RemoveDeviceResponse rm_resp;
  EXPECT_EQ(stub_->RemoveDevice(&ctx, rm, &rm_resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  grpc::ClientContext wctx;
  b1.authorize(wctx);
  wctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  auto reader = stub_->WatchInbox(&wctx, v1::WatchInboxRequest());
  v1::Notification n;
  ASSERT_TRUE(reader->Read(&n));
  EXPECT_TRUE(n.has_recovered());
  EXPECT_EQ(n.from_user(), "alice");
}

TEST_F(ServerTest, OnlyThePrimaryUpdatesCertificatesOfItsOwnDevices) {
  TestDevice a1, a2, b1;
  create_account("alice", a1);
  add_device(a1, a2);
  create_account("bob", b1);
  auto update = [&](const TestDevice& caller, std::int64_t device) {
    grpc::ClientContext ctx;
    caller.authorize(ctx);
    v1::UpdateDeviceCertificateRequest req;
    req.set_device_id(device);
    req.set_certificate_chain("chain");
    v1::UpdateDeviceCertificateResponse resp;
    return stub_->UpdateDeviceCertificate(&ctx, req, &resp).error_code();
  };
  EXPECT_EQ(update(a2, a1.id), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(update(b1, a2.id), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(update(a1, a2.id), grpc::StatusCode::OK);  // no CA configured: stored as given
}

}  // namespace
}  // namespace hopboxd::test

namespace hopboxd::test {
namespace {

TEST(RecoveryRequests, APendingDeviceWaitsWithFewRightsAndExpires) {
  TestServer server({"--recovery-request-seconds", "2"});
  auto stub = server.stub();
  TestDevice a1, b1, fresh;
  ASSERT_TRUE(create_account(*stub, "alice", a1).ok());
  ASSERT_TRUE(create_account(*stub, "bob", b1).ok());
  ASSERT_TRUE(upload_item(*stub, a1, "alice", "x", "secret").ok());
  TestDevice bob_key;
  ASSERT_TRUE(
      register_recovery_key(*stub, b1, "alice", make_invitation(a1, "alice", "bob"), bob_key).ok());
  ASSERT_TRUE(request_recovery(*stub, "alice", {"bob"}, fresh).ok());
  ASSERT_TRUE(fresh.login(*stub).ok());
  // Waiting: it may watch and read the progress, not touch data; bob's primary was asked.
  std::string plain;
  EXPECT_EQ(download_item(*stub, fresh, "alice", "x", plain).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(upload_item(*stub, fresh, "alice", "y", "z").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  {
    grpc::ClientContext ctx;
    b1.authorize(ctx);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    v1::WatchInboxRequest listing;
    listing.set_pending_only(true);
    auto reader = stub->WatchInbox(&ctx, listing);
    v1::Notification n;
    ASSERT_TRUE(reader->Read(&n));
    ASSERT_TRUE(n.has_recovery_request());
    EXPECT_EQ(n.recovery_request().keys().encryption_key(), fresh.keys().encryption_key());
    EXPECT_EQ(n.from_user(), "alice");
  }
  // Without a CA nobody can prove the recovery: the device cannot take over.
  {
    grpc::ClientContext ctx;
    fresh.authorize(ctx);
    v1::PromoteDeviceRequest req;
    req.set_lost_device_id(a1.id);
    v1::PromoteDeviceResponse resp;
    EXPECT_EQ(stub->PromoteDevice(&ctx, req, &resp).error_code(),
              grpc::StatusCode::PERMISSION_DENIED);
  }
  // Unknown recovery users, and users who do not protect the account, are not asked; the
  // answer is the same (nobody learns whom alice trusts), and the request expires unanswered.
  TestDevice other;
  EXPECT_TRUE(request_recovery(*stub, "alice", {"nobody"}, other).ok());
  // After its time the request expires: the device is refused, and dropped on the next request.
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  grpc::ClientContext ctx;
  fresh.authorize(ctx);
  v1::ListDevicesResponse listed;
  const grpc::Status expired = stub->ListDevices(&ctx, v1::ListDevicesRequest(), &listed);
  EXPECT_EQ(expired.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(expired.error_message().find("expired"), std::string::npos);
  TestDevice again;
  ASSERT_TRUE(request_recovery(*stub, "alice", {"bob"}, again).ok());
  grpc::ClientContext c2;
  a1.authorize(c2);
  ASSERT_TRUE(stub->ListDevices(&c2, v1::ListDevicesRequest(), &listed).ok());
  EXPECT_EQ(listed.devices_size(), 2);  // the primary and the new request only
}

// Issue 13: a share that would never end, or that goes to the sharer's own account, is refused.
TEST_F(ServerTest, SharesExpireInTheFutureAndGoToAnotherAccount) {
  TestDevice a0, a1, b0;
  create_account("alice", a0);
  add_device(a0, a1);
  create_account("bob", b0);
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  grpc::Status s;
  v1::AccessPolicy past;
  past.set_expires_at(now - 1);  // what a client sends for --expires-in 0 or less
  install(a0, b0, v1::REKEY_KIND_SHARE, past, &s);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("expires_at"), std::string::npos) << s.error_message();
  install(a0, a1, v1::REKEY_KIND_SHARE, {}, &s);
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("another account"), std::string::npos) << s.error_message();
  // Nothing was installed; a share for later, to bob, is.
  std::string got;
  ASSERT_TRUE(upload(a0, "alice", "x", "data").ok());
  EXPECT_FALSE(download(b0, "alice", "x", got).ok());
  v1::AccessPolicy later;
  later.set_expires_at(now + 3600);
  install(a0, b0, v1::REKEY_KIND_SHARE, later, &s);
  EXPECT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(download(b0, "alice", "x", got).ok());
  EXPECT_EQ(got, "data");
}

// Issue 13: one hopboxd per data folder and per port, and no random port by mistake.
class SecondServer : public ServerTest {
 protected:
  // Starts another hopboxd with `args`: its exit code, or ChildProcess::kServing if it listens.
  int second(std::vector<std::string> args, bool with_port_file = true) {
    if (with_port_file) args.insert(args.end(), {"--port-file", (dir_ / "port").string()});
    const int code = other_.start_or_exit(HOPBOXD_BINARY, args, dir_ / "second.log",
                                          with_port_file ? dir_ / "port" : std::filesystem::path());
    other_.stop(SIGKILL);
    return code;
  }
  std::string second_log() { return read_all(dir_ / "second.log"); }

  void SetUp() override {
    ServerTest::SetUp();
    char tmpl[] = "/tmp/hopboxd-second-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    other_.stop(SIGKILL);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  fs::path dir_;
  hopbox::testing::ChildProcess other_;
};

TEST_F(SecondServer, OnTheSameDataFolderIsRefusedAndLeavesUploadsInProgressAlone) {
  TestDevice alice;
  create_account("alice", alice);
  const fs::path tmp = server_.dir() / "payloads" / "tmp";
  const auto pending = [&] {
    return fs::exists(tmp) && fs::directory_iterator(tmp) != fs::directory_iterator();
  };
  int code = 0;
  // While alice's upload is in flight (its payload in the service's temporary folder) ...
  upload(alice, "alice", "big", random_text(1 << 20), "", [&] {
    for (int i = 0; i < 200 && !pending(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(pending());
    // ... a second hopboxd on the same folder is refused before it touches anything.
    code = second({"--data-dir", server_.dir().string(), "--listen", "127.0.0.1:0"});
    EXPECT_TRUE(pending()) << "the second server emptied the first's uploads in progress";
  });
  EXPECT_EQ(code, 1);
  EXPECT_NE(second_log().find("data folder " + server_.dir().string() + " is in use"),
            std::string::npos)
      << second_log();
  EXPECT_TRUE(server_.running());
  health();  // the first still serves
}

TEST_F(SecondServer, OnATakenPortIsRefused) {
  const std::string taken = "127.0.0.1:" + std::to_string(server_.port());
  EXPECT_EQ(second({"--data-dir", (dir_ / "data").string(), "--listen", taken}), 1);
  EXPECT_NE(second_log().find("port " + std::to_string(server_.port()) + " is in use"),
            std::string::npos)
      << second_log();
  health();  // the first still serves
}

TEST_F(SecondServer, AnInvalidListenAddressIsAUsageError) {
  for (const std::string bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:65536",
                                "127.0.0.1:99999", "127.0.0.1:-1", ":7443"}) {
    EXPECT_EQ(second({"--data-dir", (dir_ / "data").string(), "--listen", bad}), 2) << bad;
    EXPECT_NE(second_log().find("--listen \"" + bad + "\""), std::string::npos) << second_log();
  }
  // Port 0 (any free port) only with --port-file, which tells which.
  EXPECT_EQ(second({"--data-dir", (dir_ / "data").string(), "--listen", "127.0.0.1:0"}, false), 2);
}

}  // namespace
}  // namespace hopboxd::test
