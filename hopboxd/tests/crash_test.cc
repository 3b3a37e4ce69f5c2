// Crash points (issue 14): hopboxd dies as by kill -9 at every step of the calls that write
// (hopboxd --crash-at, src/crash_points.h), then starts again on the same data. Each test
// checks that what was acknowledged before is intact, that the interrupted call is all there
// or not at all (all there exactly when it died after its last commit), that no payload file
// is left that no item names, and that the client's retry of the same request succeeds with
// the right result.
#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "crash_points.h"
#include "hopbox/threshold.h"
#include "mupre/shamir.h"
#include "test_client.h"

namespace hopboxd::test {
namespace {

using grpc::StatusCode;

std::string random_text(std::size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), s.size());
  return s;
}

std::string as_string(const std::vector<std::uint8_t>& b) {
  return std::string(b.begin(), b.end());
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// hopboxd on one data folder, started again and again, with a crash point armed or not.
class CrashableServer {
 public:
  CrashableServer() {
    char tmpl[] = "/tmp/hopboxd-crash-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    start();
  }
  ~CrashableServer() {
    process_.stop(SIGKILL);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  CrashableServer(const CrashableServer&) = delete;
  CrashableServer& operator=(const CrashableServer&) = delete;

  // crash_at: the step to die at, or none.
  void start(const std::string& crash_at = "") {
    std::vector<std::string> args = {"--data-dir",
                                     dir_.string(),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--port-file",
                                     (dir_ / "port").string(),
                                     "--recovery-wait-seconds",
                                     "0"};
    if (!crash_at.empty()) args.insert(args.end(), {"--crash-at", crash_at});
    port_ = process_.start(HOPBOXD_BINARY, args, dir_ / "server.log", dir_ / "port");
  }
  int stop(int sig) { return process_.stop(sig); }
  // Waits for the process to end by itself; true if SIGKILL ended it. Then reaps it.
  bool died_by_sigkill() {
    siginfo_t info{};
    const bool ended =
        waitid(P_PID, static_cast<id_t>(process_.pid()), &info, WEXITED | WNOWAIT) == 0;
    process_.stop(SIGKILL);  // it is gone already: this only collects its status
    return ended && info.si_code == CLD_KILLED && info.si_status == SIGKILL;
  }
  std::unique_ptr<v1::Hopbox::Stub> stub() const {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = read_all(dir_ / "tls" / "cert.pem");
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    args.SetMaxReceiveMessageSize(8 << 20);
    return v1::Hopbox::NewStub(grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_),
                                                         grpc::SslCredentials(ssl), args));
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  hopbox::testing::ChildProcess process_;
  int port_ = 0;
};

// The server and the accounts of one test, reachable from its operation.
class Service {
 public:
  Service() : stub_(server_.stub()) {}

  v1::Hopbox::Stub& stub() { return *stub_; }
  CrashableServer& server() { return server_; }
  void reconnect() { stub_ = server_.stub(); }

  void account(const std::string& user, TestDevice& d) {
    const grpc::Status s = create_account(*stub_, user, d);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  void device(const TestDevice& approver, TestDevice& d) {
    const grpc::Status s = add_device(*stub_, approver, d);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  std::string read(const TestDevice& d, const std::string& owner, const std::string& item,
                   StatusCode expected = StatusCode::OK) {
    std::string plain;
    const grpc::Status s = download_item(*stub_, d, owner, item, plain);
    EXPECT_EQ(s.error_code(), expected) << item << ": " << s.error_message();
    return plain;
  }
  v1::DownloadHeader header(const TestDevice& d, const std::string& item) {
    grpc::ClientContext ctx;
    d.authorize(ctx);
    v1::DownloadRequest req;
    req.set_item_id(item);
    auto reader = stub_->Download(&ctx, req);
    v1::DownloadResponse msg;
    v1::DownloadHeader header;
    while (reader->Read(&msg)) {
      if (msg.has_header()) header = msg.header();
    }
    EXPECT_TRUE(reader->Finish().ok());
    return header;
  }
  std::vector<v1::ReKeyInfo> rekeys(const TestDevice& d) {
    grpc::ClientContext ctx;
    d.authorize(ctx);
    v1::ListReKeysResponse resp;
    EXPECT_TRUE(stub_->ListReKeys(&ctx, v1::ListReKeysRequest(), &resp).ok());
    return {resp.rekeys().begin(), resp.rekeys().end()};
  }
  std::vector<v1::Device> devices(const TestDevice& d) {
    grpc::ClientContext ctx;
    d.authorize(ctx);
    v1::ListDevicesResponse resp;
    EXPECT_TRUE(stub_->ListDevices(&ctx, v1::ListDevicesRequest(), &resp).ok());
    return {resp.devices().begin(), resp.devices().end()};
  }
  std::vector<v1::RecoveryInProgress> recoveries(const TestDevice& d) {
    grpc::ClientContext ctx;
    d.authorize(ctx);
    v1::ListRecoveriesResponse resp;
    EXPECT_TRUE(stub_->ListRecoveries(&ctx, v1::ListRecoveriesRequest(), &resp).ok());
    return {resp.recoveries().begin(), resp.recoveries().end()};
  }
  // How many notifications of `kind` wait in d's inbox.
  int waiting(const TestDevice& d, v1::Notification::PayloadCase kind) {
    int n = 0;
    for (const auto& m : inbox_of(*stub_, d)) n += m.payload_case() == kind;
    return n;
  }

 private:
  CrashableServer server_;
  std::unique_ptr<v1::Hopbox::Stub> stub_;
};

// One call that writes, made once until the crash and once more as the client's retry, with
// the same request both times.
class Operation {
 public:
  virtual ~Operation() = default;
  // Before: with a server that has no crash point armed.
  virtual void arrange(Service& s) = 0;
  virtual grpc::Status act(Service& s) = 0;
  // After the restart: the call is all there (`done`) or not at all.
  virtual void check(Service& s, bool done) = 0;
  // After the retry, which succeeded.
  virtual void check_retried(Service& s) { check(s, true); }
};

// An upload built once, so that the retry sends the very same bytes.
struct PreparedUpload {
  v1::UploadRequest header;
  std::string body;
  std::string digest;

  PreparedUpload(const TestDevice& d, const std::string& item, const std::string& plain,
                 bool replace) {
    const mupre::ItemBinding binding{item, "alice"};
    const mupre::Encapsulation e = mupre::encapsulate(d.key->public_key());
    const mupre::DataKey dk = mupre::DataKey::generate();
    const auto wrapped = mupre::wrap_data_key(e.key, dk, binding);
    const auto meta = mupre::seal_metadata(dk, binding, std::vector<std::uint8_t>{'{', '}'});
    std::istringstream in(plain);
    std::ostringstream out;
    EXPECT_EQ(mupre::seal_payload(dk, binding, in, out, 4096), mupre::Error::kOk);
    const std::string sealed = out.str();
    body = sealed.substr(mupre::kPayloadHeaderSize);
    auto& h = *header.mutable_header();
    h.set_item_id(item);
    const auto capsule = e.capsule.encode();
    h.set_capsule(std::string(capsule.begin(), capsule.end()));
    h.set_wrapped_key(std::string(wrapped->begin(), wrapped->end()));
    h.set_metadata(std::string(meta->begin(), meta->end()));
    h.set_payload_header(sealed.substr(0, mupre::kPayloadHeaderSize));
    h.set_replace(replace);
    digest.assign(32, '\0');
    crypto_hash_sha256(reinterpret_cast<unsigned char*>(digest.data()),
                       reinterpret_cast<const unsigned char*>(body.data()), body.size());
  }

  grpc::Status send(v1::Hopbox::Stub& stub, const TestDevice& d, v1::UploadResponse& resp) const {
    grpc::ClientContext ctx;
    d.authorize(ctx);
    auto writer = stub.Upload(&ctx, &resp);
    writer->Write(header);
    for (std::size_t at = 0; at < body.size(); at += 100000) {
      v1::UploadRequest part;
      part.set_payload(body.substr(at, 100000));
      writer->Write(part);
    }
    v1::UploadRequest commit;
    commit.mutable_commit()->set_payload_sha256(digest);
    writer->Write(commit);
    writer->WritesDone();
    return writer->Finish();
  }
};

// A new item (no replace): its retry after the commit is answered as the first upload.
class UploadNew : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    upload_ = std::make_unique<PreparedUpload>(a0_, "new", plain_, false);
  }
  grpc::Status act(Service& s) override { return upload_->send(s.stub(), a0_, resp_); }
  void check(Service& s, bool done) override {
    if (done) {
      EXPECT_EQ(s.read(a0_, "alice", "new"), plain_);
    } else {
      s.read(a0_, "alice", "new", StatusCode::NOT_FOUND);
    }
  }
  void check_retried(Service& s) override {
    EXPECT_EQ(resp_.version(), 1);
    check(s, true);
  }

 private:
  TestDevice a0_;
  const std::string plain_ = random_text(300000);
  std::unique_ptr<PreparedUpload> upload_;
  v1::UploadResponse resp_;
};

// A new version of an item: the payload it replaces goes once nothing names it.
class UploadReplacing : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    ASSERT_TRUE(upload_item(s.stub(), a0_, "alice", "doc", first_).ok());
    upload_ = std::make_unique<PreparedUpload>(a0_, "doc", second_, true);
  }
  grpc::Status act(Service& s) override { return upload_->send(s.stub(), a0_, resp_); }
  void check(Service& s, bool done) override {
    EXPECT_EQ(s.read(a0_, "alice", "doc"), done ? second_ : first_);
    done_ = done;
  }
  void check_retried(Service& s) override {
    EXPECT_EQ(resp_.version(), done_ ? 3 : 2);  // a replacement is a new version each time
    check(s, true);
  }

 private:
  TestDevice a0_;
  const std::string first_ = random_text(200000), second_ = random_text(250000);
  std::unique_ptr<PreparedUpload> upload_;
  v1::UploadResponse resp_;
  bool done_ = false;
};

// A fresh capsule for the item (same key), replacing the stored one.
class Refresh : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    ASSERT_TRUE(upload_item(s.stub(), a0_, "alice", "doc", plain_).ok());
    const v1::DownloadHeader h = s.header(a0_, "doc");
    version_ = h.item().version();
    auto c = mupre::Ciphertext::decode(
        std::vector<std::uint8_t>(h.capsule().begin(), h.capsule().end()));
    ASSERT_TRUE(c.ok());
    auto fresh = mupre::refresh(
        *a0_.key, *c, std::vector<std::uint8_t>(h.wrapped_key().begin(), h.wrapped_key().end()),
        mupre::ItemBinding{"doc", "alice"}, a0_.key->public_key());
    ASSERT_TRUE(fresh.ok());
    const auto capsule = fresh->capsule.encode();
    req_.set_item_id("doc");
    req_.set_expected_version(version_);
    req_.set_capsule(std::string(capsule.begin(), capsule.end()));
    req_.set_wrapped_key(std::string(fresh->wrapped_key.begin(), fresh->wrapped_key.end()));
  }
  grpc::Status act(Service& s) override {
    grpc::ClientContext ctx;
    a0_.authorize(ctx);
    return s.stub().RefreshItem(&ctx, req_, &resp_);
  }
  void check(Service& s, bool done) override {
    const v1::DownloadHeader h = s.header(a0_, "doc");
    EXPECT_EQ(h.item().version(), done ? version_ + 1 : version_);
    EXPECT_EQ(h.signed_capsule() == req_.capsule(), done);
    EXPECT_EQ(s.read(a0_, "alice", "doc"), plain_);
  }
  void check_retried(Service& s) override {
    EXPECT_EQ(resp_.version(), version_ + 1);
    check(s, true);
  }

 private:
  TestDevice a0_;
  const std::string plain_ = random_text(50000);
  std::int64_t version_ = 0;
  v1::RefreshItemRequest req_;
  v1::RefreshItemResponse resp_;
};

// alice shares with bob: one key, whose retry does not make a second.
class ReKey : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    s.account("bob", b0_);
    ASSERT_TRUE(upload_item(s.stub(), a0_, "alice", "doc", plain_).ok());
    auto rk = mupre::make_rekey(*a0_.key, b0_.key->public_key());
    ASSERT_TRUE(rk.ok());
    const auto bytes = rk->encode();
    req_.set_rekey(std::string(bytes.begin(), bytes.end()));
    req_.set_kind(v1::REKEY_KIND_SHARE);
  }
  grpc::Status act(Service& s) override {
    grpc::ClientContext ctx;
    a0_.authorize(ctx);
    return s.stub().InstallReKey(&ctx, req_, &resp_);
  }
  void check(Service& s, bool done) override {
    const auto keys = s.rekeys(a0_);
    EXPECT_EQ(keys.size(), done ? 1u : 0u);
    if (done) {
      EXPECT_EQ(s.read(b0_, "alice", "doc"), plain_);
      if (resp_.rekey_id() != 0 && !keys.empty()) {
        EXPECT_EQ(keys[0].rekey_id(), resp_.rekey_id());
      }
    } else {
      s.read(b0_, "alice", "doc", StatusCode::NOT_FOUND);
    }
  }

 private:
  TestDevice a0_, b0_;
  const std::string plain_ = random_text(50000);
  v1::InstallReKeyRequest req_;
  v1::InstallReKeyResponse resp_;
};

// alice revokes her share with bob: the retry is answered as the first revocation.
class Revoke : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    s.account("bob", b0_);
    ASSERT_TRUE(upload_item(s.stub(), a0_, "alice", "doc", plain_).ok());
    std::int64_t id = 0;
    ASSERT_TRUE(install_rekey(s.stub(), a0_, b0_, v1::REKEY_KIND_SHARE, {}, &id).ok());
    req_.set_rekey_id(id);
    EXPECT_EQ(s.read(b0_, "alice", "doc"), plain_);
  }
  grpc::Status act(Service& s) override {
    grpc::ClientContext ctx;
    a0_.authorize(ctx);
    v1::RevokeReKeyResponse resp;
    return s.stub().RevokeReKey(&ctx, req_, &resp);
  }
  void check(Service& s, bool done) override {
    EXPECT_EQ(s.rekeys(a0_).size(), done ? 0u : 1u);
    if (done) {
      s.read(b0_, "alice", "doc", StatusCode::NOT_FOUND);
    } else {
      EXPECT_EQ(s.read(b0_, "alice", "doc"), plain_);
    }
  }

 private:
  TestDevice a0_, b0_;
  const std::string plain_ = random_text(50000);
  v1::RevokeReKeyRequest req_;
};

// bob registers a recovery key for alice (alice's invitation).
void protect(Service& s, const TestDevice& a0, const TestDevice& b0, TestDevice& bob_key) {
  const grpc::Status r =
      register_recovery_key(s.stub(), b0, "alice", make_invitation(a0, "alice", "bob"), bob_key);
  ASSERT_TRUE(r.ok()) << r.error_message();
}

// A request signed once, so that the retry is the very same request.
v1::RequestRecoveryRequest recovery_request_of(const TestDevice& d) {
  v1::RequestRecoveryRequest req;
  req.set_user("alice");
  req.set_device_name("new");
  *req.mutable_keys() = d.keys();
  req.add_via("bob");
  req.set_requested_at(unix_now());
  const std::string pk = d.keys().encryption_key();
  const auto msg = hopbox::certs::recovery_request_message(
      "alice", "new", std::vector<std::uint8_t>(pk.begin(), pk.end()), req.requested_at(), {"bob"});
  req.set_signature(d.sign_message(as_string(msg)));
  return req;
}

// A new device asks bob to recover alice's account: bob's primary is asked, alice's devices
// are told; or nobody hears of it and no pending device exists.
class RecoveryRequest : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    s.account("bob", b0_);
    protect(s, a0_, b0_, bob_key_);
    req_ = recovery_request_of(fresh_);
  }
  grpc::Status act(Service& s) override {
    grpc::ClientContext ctx;
    return s.stub().RequestRecovery(&ctx, req_, &resp_);
  }
  void check(Service& s, bool done) override {
    int pending = 0;
    for (const auto& d : s.devices(a0_)) {
      if (d.pending_recovery()) {
        ++pending;
        EXPECT_EQ(d.keys().encryption_key(), fresh_.keys().encryption_key());
      }
    }
    EXPECT_EQ(pending, done ? 1 : 0);
    EXPECT_EQ(s.recoveries(a0_).size(), done ? 1u : 0u);
    EXPECT_EQ(s.waiting(b0_, v1::Notification::kRecoveryRequest), done ? 1 : 0);
    EXPECT_EQ(s.waiting(a0_, v1::Notification::kRecoveryStarted), done ? 1 : 0);
  }
  void check_retried(Service& s) override {
    check(s, true);
    EXPECT_EQ(s.recoveries(a0_).at(0).device_id(), resp_.device_id());
  }

 private:
  TestDevice a0_, b0_, bob_key_, fresh_;
  v1::RequestRecoveryRequest req_;
  v1::RequestRecoveryResponse resp_;
};

// alice's secondary announces it takes over: alice's primary is told, or nothing happened.
class Announce : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    s.device(a0_, a1_);
  }
  grpc::Status act(Service& s) override {
    grpc::ClientContext ctx;
    a1_.authorize(ctx);
    v1::AnnouncePromotionResponse resp;
    return s.stub().AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp);
  }
  void check(Service& s, bool done) override {
    const auto listed = s.recoveries(a0_);
    ASSERT_EQ(listed.size(), done ? 1u : 0u);
    if (done) {
      EXPECT_EQ(listed[0].device_id(), a1_.id);
    }
    EXPECT_EQ(s.waiting(a0_, v1::Notification::kRecoveryStarted), done ? 1 : 0);
  }

 private:
  TestDevice a0_, a1_;
};

// alice's secondary, announced, takes over from her primary; bob, who shares with alice, is
// told; or nothing changed.
class Promote : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    s.device(a0_, a1_);
    s.account("bob", b0_);
    ASSERT_TRUE(install_rekey(s.stub(), b0_, a0_, v1::REKEY_KIND_SHARE, {}, nullptr).ok());
    grpc::ClientContext ctx;
    a1_.authorize(ctx);
    v1::AnnouncePromotionResponse resp;
    ASSERT_TRUE(s.stub().AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp).ok());
  }
  grpc::Status act(Service& s) override {
    grpc::ClientContext ctx;
    a1_.authorize(ctx);
    v1::PromoteDeviceRequest req;
    req.set_lost_device_id(a0_.id);
    v1::PromoteDeviceResponse resp;
    return s.stub().PromoteDevice(&ctx, req, &resp);
  }
  void check(Service& s, bool done) override {
    for (const auto& d : s.devices(a1_)) {
      if (d.device_id() == a0_.id) {
        EXPECT_EQ(d.primary(), !done);
        EXPECT_EQ(d.lost(), done);
      }
      if (d.device_id() == a1_.id) {
        EXPECT_EQ(d.primary(), done);
      }
    }
    EXPECT_EQ(s.recoveries(a1_).size(), done ? 0u : 1u);
    EXPECT_EQ(s.waiting(b0_, v1::Notification::kRecovered), done ? 1 : 0);
  }

 private:
  TestDevice a0_, a1_, b0_;
};

// bob returns his shares for a new device's R3 recovery of alice's account (threshold 1):
// the approval, the key it opens and the flag saying so, or none of them.
class Shares : public Operation {
 public:
  void arrange(Service& s) override {
    s.account("alice", a0_);
    s.account("bob", b0_);
    protect(s, a0_, b0_, bob_key_);
    static constexpr std::uint8_t kInfo[] = {'h', 'o', 'p', 'b', 'o', 'x',
                                             ' ', 'v', '1', ' ', 'R', '3'};
    const auto secret = mupre::bls12_381::scalar_random_nonzero();
    auto sealing_key = mupre::key_from_scalar(secret, kInfo);
    auto rk = mupre::make_rekey(*a0_.key, bob_key_.key->public_key());
    ASSERT_TRUE(rk.ok());
    const auto rk_bytes = rk->encode();
    auto sharing = mupre::split(secret, 1, 1);
    ASSERT_TRUE(sharing.ok());
    v1::ThresholdRecovery config;
    config.set_threshold(1);
    auto& p = *config.add_protectors();
    p.set_user("bob");
    p.set_recovery_key_device(bob_key_.id);
    p.set_commitments(as_string(sharing->commitments.encode()));
    const auto capsule = mupre::encapsulate(bob_key_.key->public_key()).capsule.encode();
    p.set_shares_capsule(std::string(capsule.begin(), capsule.end()));
    p.set_sealed_rekey(as_string(hopbox::threshold::seal(
        sealing_key, hopbox::threshold::associated_data("rekey", "alice", "bob"),
        std::vector<std::uint8_t>(rk_bytes.begin(), rk_bytes.end()))));
    p.set_shares_sealed(std::string(hopbox::threshold::kOverhead + mupre::kShareSize, 's'));
    {
      grpc::ClientContext ctx;
      a0_.authorize(ctx);
      v1::PutThresholdRecoveryResponse resp;
      const grpc::Status put = s.stub().PutThresholdRecovery(&ctx, config, &resp);
      ASSERT_TRUE(put.ok()) << put.error_message();
    }
    {
      grpc::ClientContext ctx;
      v1::RequestRecoveryResponse resp;
      ASSERT_TRUE(s.stub().RequestRecovery(&ctx, recovery_request_of(fresh_), &resp).ok());
      fresh_.id = resp.device_id();
    }
    req_.set_user("alice");
    req_.set_device_id(fresh_.id);
    const auto fp = fresh_.key->public_key().fingerprint();
    req_.set_encryption_key_fingerprint(std::string(fp.begin(), fp.end()));
    std::array<std::uint8_t, mupre::kShareSize> share{};
    sharing->shares.at(0).encode(share);
    req_.add_shares(std::string(share.begin(), share.end()));
  }
  grpc::Status act(Service& s) override {
    grpc::ClientContext ctx;
    b0_.authorize(ctx);
    return s.stub().SubmitRecoveryShares(&ctx, req_, &resp_);
  }
  void check(Service& s, bool done) override {
    grpc::ClientContext ctx;
    a0_.authorize(ctx);
    v1::GetRecoveryProgressRequest req;
    req.set_device_id(fresh_.id);
    v1::RecoveryProgress progress;
    ASSERT_TRUE(s.stub().GetRecoveryProgress(&ctx, req, &progress).ok());
    EXPECT_EQ(progress.valid(), done ? 1 : 0);
    EXPECT_EQ(progress.keys_installed(), done);
    int opened = 0;  // alice's key to bob's recovery key, bound to this request
    for (const auto& k : s.rekeys(a0_)) opened += k.only_towards_device_id() == fresh_.id;
    EXPECT_EQ(opened, done ? 1 : 0);
  }
  void check_retried(Service& s) override {
    EXPECT_TRUE(resp_.keys_installed());
    check(s, true);
  }

 private:
  TestDevice a0_, b0_, bob_key_, fresh_;
  v1::SubmitRecoverySharesRequest req_;
  v1::RecoveryProgress resp_;
};

std::unique_ptr<Operation> operation_named(std::string_view name) {
  if (name == "upload_new") return std::make_unique<UploadNew>();
  if (name == "upload_replacing") return std::make_unique<UploadReplacing>();
  if (name == "refresh") return std::make_unique<Refresh>();
  if (name == "rekey") return std::make_unique<ReKey>();
  if (name == "revoke") return std::make_unique<Revoke>();
  if (name == "recovery_request") return std::make_unique<RecoveryRequest>();
  if (name == "announce") return std::make_unique<Announce>();
  if (name == "shares") return std::make_unique<Shares>();
  if (name == "promote") return std::make_unique<Promote>();
  return nullptr;
}

// The operations that reach a crash point: those named by its call ("upload": two).
std::vector<std::string> operations_at(std::string_view point) {
  const std::string call(point.substr(0, point.find('.')));
  if (call == "upload") return {"upload_new", "upload_replacing"};
  return {call};
}

struct Case {
  std::string point;
  std::string operation;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.operation << " at " << c.point;
}

std::vector<Case> every_case() {
  std::vector<Case> out;
  for (const std::string_view point : kCrashPoints) {
    for (const auto& op : operations_at(point)) out.push_back({std::string(point), op});
  }
  return out;
}

// The payload files on disk, and the digests the database names.
std::set<std::string> stored_payloads(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir / "payloads" / "objects")) {
    if (e.is_regular_file()) out.insert(e.path().filename().string());
  }
  return out;
}
std::set<std::string> named_payloads(const fs::path& dir) {
  sqlite3* db = nullptr;
  std::set<std::string> out;
  EXPECT_EQ(sqlite3_open_v2((dir / "hopbox.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
            SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT DISTINCT payload_digest FROM items", -1, &st, nullptr),
            SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    out.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

class CrashPoint : public ::testing::TestWithParam<Case> {};

TEST_P(CrashPoint, NothingAcknowledgedLostNothingHalfDoneAndTheRetrySucceeds) {
  const Case& c = GetParam();
  const auto op = operation_named(c.operation);
  ASSERT_NE(op, nullptr) << "no operation " << c.operation << " for crash point " << c.point;
  Service s;
  // Acknowledged before anything else: must survive every crash.
  TestDevice keeper;
  s.account("keeper", keeper);
  const std::string kept = random_text(100000);
  ASSERT_TRUE(upload_item(s.stub(), keeper, "keeper", "kept", kept).ok());
  op->arrange(s);
  ASSERT_FALSE(testing::Test::HasFatalFailure());

  ASSERT_EQ(s.server().stop(SIGTERM), 0);
  s.server().start(c.point);
  s.reconnect();
  const grpc::Status crashed = op->act(s);
  // The call must not have been answered: the point was reached and the process died there.
  ASSERT_EQ(crashed.error_code(), StatusCode::UNAVAILABLE)
      << c.point << " was never reached: " << crashed.error_message();
  EXPECT_TRUE(s.server().died_by_sigkill());

  s.server().start();
  s.reconnect();
  EXPECT_TRUE(fs::is_empty(s.server().dir() / "payloads" / "tmp"));
  EXPECT_EQ(stored_payloads(s.server().dir()), named_payloads(s.server().dir()));
  EXPECT_EQ(s.read(keeper, "keeper", "kept"), kept);
  const bool after_last_commit = c.point.ends_with(".committed");
  op->check(s, after_last_commit);

  const grpc::Status retried = op->act(s);
  ASSERT_TRUE(retried.ok()) << retried.error_code() << " " << retried.error_message();
  op->check_retried(s);
  EXPECT_EQ(stored_payloads(s.server().dir()), named_payloads(s.server().dir()));
  EXPECT_EQ(s.read(keeper, "keeper", "kept"), kept);
}

INSTANTIATE_TEST_SUITE_P(EveryStep, CrashPoint, ::testing::ValuesIn(every_case()),
                         [](const ::testing::TestParamInfo<Case>& param) {
                           std::string name = param.param.operation + "_at_" + param.param.point;
                           for (char& ch : name) {
                             if (ch == '.') ch = '_';
                           }
                           return name;
                         });

// Every point has an operation that reaches it (an unknown call would fail above too, but
// here it says which).
TEST(CrashPoints, EveryPointHasAnOperation) {
  for (const std::string_view point : kCrashPoints) {
    for (const auto& op : operations_at(point)) {
      EXPECT_NE(operation_named(op), nullptr) << point;
    }
  }
}

// A name not in the list is a usage error at start-up: a typo cannot pass for a crash point
// that is never reached.
TEST(CrashPoints, AnUnknownNameIsRefusedAtStart) {
  char tmpl[] = "/tmp/hopboxd-crash-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const fs::path dir = tmpl;
  hopbox::testing::ChildProcess p;
  const int code =
      p.start_or_exit(HOPBOXD_BINARY,
                      {"--data-dir", (dir / "data").string(), "--listen", "127.0.0.1:0",
                       "--port-file", (dir / "port").string(), "--crash-at", "upload.comitted"},
                      dir / "log", dir / "port");
  EXPECT_EQ(code, 2);
  EXPECT_NE(read_all(dir / "log").find("no crash point upload.comitted"), std::string::npos)
      << read_all(dir / "log");
  EXPECT_FALSE(fs::exists(dir / "data" / "hopbox.db"));  // refused before touching anything
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace hopboxd::test
