// Attacks on hopboxd by misbehaving clients (security review, issue 12): each test speaks the
// real gRPC API to a real hopboxd process with its real SQLite file, does what an honest
// client never would, and checks that the service refuses and nothing changed.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <optional>
#include <vector>

#include "test_client.h"

namespace hopboxd::test {
namespace {

using grpc::StatusCode;

template <class Bytes>
std::string as_string(const Bytes& b) {
  return std::string(b.begin(), b.end());
}

class Attack : public ::testing::Test {
 protected:
  void SetUp() override { stub_ = server_.stub(); }

  void account(const std::string& user, TestDevice& d) {
    const grpc::Status s = create_account(*stub_, user, d);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  void device(const TestDevice& approver, TestDevice& d) {
    const grpc::Status s = add_device(*stub_, approver, d);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  void share(const TestDevice& from, const TestDevice& to, const v1::AccessPolicy& policy = {}) {
    const grpc::Status s = install_rekey(*stub_, from, to, v1::REKEY_KIND_SHARE, policy, nullptr);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  grpc::Status download(const TestDevice& d, const std::string& owner, const std::string& item,
                        std::string& plain, int* hops = nullptr) {
    return download_item(*stub_, d, owner, item, plain, hops);
  }
  // A RefreshItem with a capsule `d` made itself: a fresh level-1 capsule for `owner_key`
  // wrapping a data key of d's choosing. It passes every format check.
  grpc::Status forged_refresh(const TestDevice& d, const std::string& owner,
                              const std::string& item, const mupre::PublicKey& owner_key,
                              std::int64_t expected_version = 1) {
    const mupre::Encapsulation e = mupre::encapsulate(owner_key);
    const auto wrapped =
        mupre::wrap_data_key(e.key, mupre::DataKey::generate(), mupre::ItemBinding{item, owner});
    grpc::ClientContext ctx;
    d.authorize(ctx);
    v1::RefreshItemRequest req;
    req.set_owner(owner);
    req.set_item_id(item);
    req.set_expected_version(expected_version);
    req.set_capsule(as_string(e.capsule.encode()));
    req.set_wrapped_key(as_string(*wrapped));
    v1::RefreshItemResponse resp;
    return stub_->RefreshItem(&ctx, req, &resp);
  }
  std::int64_t version_of(const TestDevice& owner_device, const std::string& item) {
    grpc::ClientContext ctx;
    owner_device.authorize(ctx);
    v1::ListItemsResponse list;
    EXPECT_TRUE(stub_->ListItems(&ctx, v1::ListItemsRequest(), &list).ok());
    for (const auto& i : list.items()) {
      if (i.item_id() == item) return i.version();
    }
    return 0;
  }

  TestServer server_{{"--recovery-wait-seconds", "0"}};
  std::unique_ptr<v1::Hopbox::Stub> stub_;
};

// ---- Finding 1: a share recipient reads, never writes ----

TEST_F(Attack, ARecipientCannotReplaceTheOwnersCapsule) {
  TestDevice alice, bob;
  account("alice", alice);
  account("bob", bob);
  share(alice, bob);
  ASSERT_TRUE(upload_item(*stub_, alice, "alice", "doc", "alice's words").ok());
  std::string got;
  ASSERT_TRUE(download(bob, "alice", "doc", got).ok());  // bob may read it

  // bob swaps the capsule for one of his own making, for alice's key.
  const grpc::Status s = forged_refresh(bob, "alice", "doc", alice.key->public_key());
  EXPECT_EQ(s.error_code(), StatusCode::PERMISSION_DENIED) << s.error_message();

  // Untouched: the same version, and alice still decrypts it with no re-encryption.
  EXPECT_EQ(version_of(alice, "doc"), 1);
  int hops = -1;
  ASSERT_TRUE(download(alice, "alice", "doc", got, &hops).ok());
  EXPECT_EQ(got, "alice's words");
  EXPECT_EQ(hops, 0);
  ASSERT_TRUE(download(bob, "alice", "doc", got).ok());
  EXPECT_EQ(got, "alice's words");
}

TEST_F(Attack, ARecipientCannotDeleteOrOverwriteTheOwnersItem) {
  TestDevice alice, bob;
  account("alice", alice);
  account("bob", bob);
  share(alice, bob);
  ASSERT_TRUE(upload_item(*stub_, alice, "alice", "doc", "alice's words").ok());
  // DeleteItem acts in the caller's own account only: alice's item is not there.
  {
    grpc::ClientContext ctx;
    bob.authorize(ctx);
    v1::DeleteItemRequest req;
    req.set_item_id("doc");
    v1::DeleteItemResponse resp;
    EXPECT_EQ(stub_->DeleteItem(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
  }
  // An upload lands in bob's account; one carrying a capsule for alice's key is refused.
  TestDevice as_alice = bob;
  as_alice.key = alice.key;
  EXPECT_EQ(upload_item(*stub_, as_alice, "alice", "doc", "bob's words").error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(version_of(alice, "doc"), 1);
  std::string got;
  ASSERT_TRUE(download(bob, "alice", "doc", got).ok());
  EXPECT_EQ(got, "alice's words");
}

// ---- Finding 2: another account's item does not reveal that it exists ----

TEST_F(Attack, AStrangerCannotTellAnExistingItemFromAnAbsentOne) {
  TestDevice alice, bob, carol;
  account("alice", alice);
  account("bob", bob);
  account("carol", carol);
  v1::AccessPolicy photos;
  photos.set_scope(v1::AccessPolicy::SCOPE_FOLDER);
  photos.set_folder("photos");
  share(alice, bob, photos);
  ASSERT_TRUE(upload_item(*stub_, alice, "alice", "taxes.pdf", "numbers", "work").ok());

  const auto same = [](const grpc::Status& a, const grpc::Status& b) {
    EXPECT_EQ(a.error_code(), b.error_code()) << a.error_message() << " / " << b.error_message();
    EXPECT_EQ(a.error_message(), b.error_message());
    EXPECT_EQ(a.error_code(), StatusCode::NOT_FOUND);
  };
  // carol has no share at all; bob has one that does not cover the item.
  for (const TestDevice* who : {&carol, &bob}) {
    std::string got;
    const grpc::Status exists = download(*who, "alice", "taxes.pdf", got);
    same(exists, download(*who, "alice", "no-such.pdf", got));
    same(exists, download(*who, "nobody", "taxes.pdf", got));
    const auto key = alice.key->public_key();
    const grpc::Status refresh_exists = forged_refresh(*who, "alice", "taxes.pdf", key);
    same(refresh_exists, forged_refresh(*who, "alice", "no-such.pdf", key));
    same(refresh_exists, forged_refresh(*who, "nobody", "taxes.pdf", key));
    same(exists, refresh_exists);
  }
  EXPECT_EQ(version_of(alice, "taxes.pdf"), 1);
}

// ---- Finding 3a: re-encryption keys per source key ----

TEST(AttackLimits, ReEncryptionKeysFromOneKeyAreBounded) {
  TestServer server({"--max-rekeys-per-key", "3"});
  auto stub = server.stub();
  TestDevice a0, a1, bob;
  ASSERT_TRUE(create_account(*stub, "alice", a0).ok());
  ASSERT_TRUE(add_device(*stub, a0, a1).ok());
  ASSERT_TRUE(create_account(*stub, "bob", bob).ok());
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    std::int64_t id = 0;
    ASSERT_TRUE(install_rekey(*stub, a0, bob, v1::REKEY_KIND_SHARE, {}, &id).ok()) << i;
    ids.push_back(id);
  }
  const grpc::Status over = install_rekey(*stub, a0, bob, v1::REKEY_KIND_SHARE, {}, nullptr);
  EXPECT_EQ(over.error_code(), StatusCode::RESOURCE_EXHAUSTED) << over.error_message();
  EXPECT_EQ(install_rekey(*stub, a0, a1, v1::REKEY_KIND_OWN_DEVICE, {}, nullptr).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
  // The bound is per source key, and revoking makes room again.
  EXPECT_TRUE(install_rekey(*stub, a1, bob, v1::REKEY_KIND_SHARE, {}, nullptr).ok());
  grpc::ClientContext ctx;
  a0.authorize(ctx);
  v1::RevokeReKeyRequest req;
  req.set_rekey_id(ids[0]);
  v1::RevokeReKeyResponse resp;
  ASSERT_TRUE(stub->RevokeReKey(&ctx, req, &resp).ok());
  EXPECT_TRUE(install_rekey(*stub, a0, bob, v1::REKEY_KIND_SHARE, {}, nullptr).ok());
}

// ---- Finding 3b: inbox watch streams ----

// An open WatchInbox stream that has delivered its first notification (so the service is
// running it).
struct Watch {
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::Notification>> reader;
  v1::Notification first;
  bool delivered = false;
  std::optional<grpc::Status> status;

  Watch(v1::Hopbox::Stub& stub, const TestDevice& d) {
    d.authorize(ctx);
    // Only a guard against a hang: every expectation below is met well before.
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    reader = stub.WatchInbox(&ctx, v1::WatchInboxRequest());
    delivered = reader->Read(&first);
  }
  // How the stream ended (the service refused it, or it stopped).
  grpc::Status finish() {
    if (!status) status = reader->Finish();
    return *status;
  }
  ~Watch() {
    ctx.TryCancel();
    (void)finish();
  }
};

// A notification for every other device of `secondary`'s account: it announces that it takes
// over (R1), which the service tells them.
void announce(v1::Hopbox::Stub& stub, const TestDevice& secondary) {
  grpc::ClientContext ctx;
  secondary.authorize(ctx);
  v1::AnnouncePromotionResponse resp;
  ASSERT_TRUE(stub.AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp).ok());
}

TEST_F(Attack, WatchStreamsPerDeviceAreBounded) {
  TestDevice alice, phone, tablet;
  account("alice", alice);
  device(alice, phone);
  device(alice, tablet);
  announce(*stub_, tablet);
  std::vector<std::unique_ptr<Watch>> open;
  for (int i = 0; i < 4; ++i) {
    open.push_back(std::make_unique<Watch>(*stub_, phone));
    ASSERT_TRUE(open.back()->delivered) << i;
  }
  Watch fifth(*stub_, phone);
  EXPECT_FALSE(fifth.delivered);
  EXPECT_EQ(fifth.finish().error_code(), StatusCode::RESOURCE_EXHAUSTED);
  // Another device of the account is not held back by the phone's streams.
  Watch other(*stub_, alice);
  EXPECT_TRUE(other.delivered);
}

TEST_F(Attack, AWatchStreamEndsWhenItsDeviceIsRemoved) {
  TestDevice alice, phone, tablet;
  account("alice", alice);
  device(alice, phone);
  device(alice, tablet);
  announce(*stub_, tablet);
  Watch watch(*stub_, phone);
  ASSERT_TRUE(watch.delivered);
  {
    grpc::ClientContext ctx;
    alice.authorize(ctx);
    v1::RemoveDeviceRequest req;
    req.set_device_id(phone.id);
    v1::RemoveDeviceResponse resp;
    ASSERT_TRUE(stub_->RemoveDevice(&ctx, req, &resp).ok());
  }
  // The stream ends, refused, rather than running on until its deadline.
  v1::Notification n;
  EXPECT_FALSE(watch.reader->Read(&n));
  const grpc::Status s = watch.finish();
  EXPECT_TRUE(s.error_code() == StatusCode::UNAUTHENTICATED ||
              s.error_code() == StatusCode::PERMISSION_DENIED)
      << s.error_code() << " " << s.error_message();
}

TEST_F(Attack, AWatchStreamEndsWhenItsDeviceIsReplacedByARecovery) {
  TestDevice a1, a2;
  account("alice", a1);
  device(a1, a2);
  ASSERT_TRUE(install_rekey(*stub_, a1, a2, v1::REKEY_KIND_OWN_DEVICE, {}, nullptr).ok());
  announce(*stub_, a2);
  Watch watch(*stub_, a1);
  ASSERT_TRUE(watch.delivered);
  // a2 takes over (R1): the old primary is lost, and its open stream must not keep listening.
  {
    grpc::ClientContext ctx;
    a2.authorize(ctx);
    v1::PromoteDeviceRequest req;
    req.set_lost_device_id(a1.id);
    v1::PromoteDeviceResponse resp;
    ASSERT_TRUE(stub_->PromoteDevice(&ctx, req, &resp).ok());
  }
  v1::Notification n;
  EXPECT_FALSE(watch.reader->Read(&n));
  EXPECT_EQ(watch.finish().error_code(), StatusCode::PERMISSION_DENIED);
}

// ---- Finding 3c: unauthenticated sign-in challenges ----

std::int64_t count_rows(const fs::path& db_path, const std::string& sql, std::int64_t arg) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sql;
  sqlite3_bind_int64(st, 1, arg);
  std::int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

TEST_F(Attack, AStrangerAskingForChallengesInALoopCannotGrowTheDatabase) {
  TestDevice alice;
  account("alice", alice);
  for (int i = 0; i < 200; ++i) {
    grpc::ClientContext ctx;  // no session: anyone may ask
    v1::BeginSessionRequest req;
    req.set_device_id(alice.id);
    v1::BeginSessionResponse resp;
    ASSERT_TRUE(stub_->BeginSession(&ctx, req, &resp).ok()) << i;
  }
  EXPECT_LE(count_rows(server_.dir() / "hopbox.db",
                       "SELECT COUNT(*) FROM challenges WHERE device_id = ?", alice.id),
            16);
  // alice herself still signs in.
  EXPECT_TRUE(alice.login(*stub_).ok());
}

// ---- Finding 4: key files ----

// hopboxd makes its TLS key itself; a link planted where a fixed temporary name would be must
// not receive the key, and the key and its folder end up owner-only.
TEST(AttackFiles, TheServiceTlsKeyIsOwnerOnlyAndNeverWrittenThroughAPlantedLink) {
  char tmpl[] = "/tmp/hopboxd-attack-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  fs::create_directories(dir / "data" / "tls");
  fs::permissions(dir / "data" / "tls", fs::perms::all);
  { std::ofstream(dir / "stolen") << ""; }
  fs::create_symlink(dir / "stolen", dir / "data" / "tls" / "key.pem.tmp");
  {
    hopbox::testing::ChildProcess hopboxd;
    hopboxd.start(HOPBOXD_BINARY,
                  {"--data-dir", (dir / "data").string(), "--listen", "127.0.0.1:0", "--port-file",
                   (dir / "port").string()},
                  dir / "server.log", dir / "port");
    hopboxd.stop(SIGTERM);
  }
  EXPECT_EQ(fs::file_size(dir / "stolen"), 0u);
  struct stat st {};
  ASSERT_EQ(::lstat((dir / "data" / "tls" / "key.pem").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir / "data" / "tls").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace hopboxd::test
