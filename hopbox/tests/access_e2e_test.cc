// Access requests name what they ask for sealed for the owner's primary key (docs/formats.md,
// "Access requests"): real names (spaces, accents, folders) can be asked for, the cloud never
// reads them, and a sealed request counts only for the requester it was sealed by. Real
// processes (hopboxd, the hopbox command line, SoftHSM2 tokens), as in e2e_test.cc.
#include <grpcpp/grpcpp.h>

#include <string>
#include <vector>

#include "access.h"
#include "e2e_fixture.h"

namespace hopbox {
namespace {

namespace v1 = hopbox::v1;

const std::string kFolder =
    "Fotos/\xC3\x89t\xC3\xA9"
    " 2026";  // Fotos/Été 2026
const std::string kName = "plage 1.jpg";
const std::string kPath = kFolder + "/" + kName;

class AccessRequests : public EndToEnd {
 protected:
  // The client without --json: what a person reads. Standard error goes to last_error().
  std::string text_ok(const std::string& device, const std::string& args) {
    const auto [code, out] = hopbox::testing::run_capture(std::string(HOPBOX_BINARY) + " --state " +
                                                          (dir_ / device).string() + " " + args +
                                                          " 2>" + (dir_ / "stderr.txt").string());
    EXPECT_EQ(code, 0) << args << "\n" << last_error();
    return out;
  }
  static std::string quoted(const std::string& s) { return "'" + s + "'"; }
  void two_users() {
    ok("alice1", "init --user alice --token alice1 --device-name primary" + server_opts_);
    ok("bob1", "init --user bob --token bob1 --device-name primary" + server_opts_);
  }
  void put_photo() {
    ok("alice1", "put --folder " + quoted(kFolder) + " --as " + quoted(kName) + " " +
                     file("photo.jpg", "sand and sea").string());
  }
  // alice's shares (re-encryption keys to other users).
  std::vector<json> shares_of_alice() {
    std::vector<json> out;
    for (const auto& s : ok("alice1", "shares")) {
      if (s["kind"] == "REKEY_KIND_SHARE") out.push_back(s);
    }
    return out;
  }
};

// Attacks: the cloud reading the name, and sealed requests passed off as someone else's.
class AccessAttack : public AccessRequests {
 protected:
  // The files of hopboxd's data folder (database, its journal, the log) that hold `needle`.
  std::vector<std::string> cloud_files_holding(const std::string& needle) {
    std::vector<std::string> found;
    for (const auto& f : fs::recursive_directory_iterator(server_->dir())) {
      if (f.is_regular_file() && read(f.path()).find(needle) != std::string::npos) {
        found.push_back(f.path().filename().string());
      }
    }
    return found;
  }
  // alice's primary and its mupre key, as the service hands them to anyone.
  v1::Device alice_primary(const hopboxd::test::TestDevice& as) {
    grpc::ClientContext ctx;
    as.authorize(ctx);
    v1::ListDevicesRequest req;
    req.set_user("alice");
    v1::ListDevicesResponse resp;
    EXPECT_TRUE(server_->stub()->ListDevices(&ctx, req, &resp).ok());
    for (const auto& d : resp.devices()) {
      if (d.primary()) return d;
    }
    ADD_FAILURE() << "alice has no primary";
    return {};
  }
  grpc::Status send(const hopboxd::test::TestDevice& as, const v1::SendNotificationRequest& req) {
    grpc::ClientContext ctx;
    as.authorize(ctx);
    v1::SendNotificationResponse resp;
    return server_->stub()->SendNotification(&ctx, req, &resp);
  }
};

TEST_F(AccessRequests, ANameWithSpacesAccentsAndFoldersIsAskedForGrantedAndFetched) {
  two_users();
  put_photo();
  // Not shared yet: the refusal says how to ask for it, as it can be typed in a shell.
  EXPECT_EQ(
      hopbox("bob1", "get " + quoted("alice/" + kPath) + " -o " + (dir_ / "x").string()).exit_code,
      3);
  EXPECT_NE(last_error().find("hopbox request-access alice --item " + quoted(kPath) + "`"),
            std::string::npos)
      << last_error();
  // The message carries an escape sequence that would clear alice's terminal.
  ok("bob1", "request-access alice --item " + quoted(kPath) +
                 " --message \"$(printf 'for the album\\033[2J')\"");
  // alice reads what bob asks for, and grants exactly that item.
  const std::string watched = text_ok("alice1", "watch --seconds 1 --yes");
  EXPECT_NE(watched.find("bob asks for access to " + kPath + ": for the album?[2J"),
            std::string::npos)
      << watched;
  EXPECT_EQ(watched.find('\x1b'), std::string::npos) << watched;
  EXPECT_NE(watched.find("granted bob access to " + kPath), std::string::npos) << watched;
  const auto shares = shares_of_alice();
  ASSERT_EQ(shares.size(), 1u);
  EXPECT_EQ(shares[0]["scope"], "listed-items");
  EXPECT_EQ(shares[0]["items"], json::array({kPath}));
  // bob's watch names the path he asked for, from his own note of the request.
  const std::string answer = text_ok("bob1", "watch --seconds 1");
  EXPECT_NE(answer.find("alice granted your request for " + kPath), std::string::npos) << answer;
  ok("bob1", "get " + quoted("alice/" + kPath) + " -o " + (dir_ / "got.jpg").string());
  EXPECT_EQ(read(dir_ / "got.jpg"), "sand and sea");
  // Only that item.
  ok("alice1", "put --folder " + quoted(kFolder) + " " + file("other.jpg", "other").string());
  EXPECT_EQ(hopbox("bob1", "get " + quoted("alice/" + kFolder + "/other.jpg") + " -o " +
                               (dir_ / "o").string())
                .exit_code,
            3);
}

TEST_F(AccessRequests, AnItemTheOwnerDoesNotHaveIsRefusedAndTheRequesterLearnsWhich) {
  two_users();
  put_photo();
  ok("bob1", "request-access alice --item " + quoted(kFolder + "/plage 2.jpg"));
  const json answered = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(answered.size(), 1u) << answered.dump();
  EXPECT_EQ(answered[0].value("granted", json()), false);
  EXPECT_EQ(answered[0].value("item", json()), kFolder + "/plage 2.jpg");
  EXPECT_EQ(answered[0].value("refused_because", json()), "no such item");
  EXPECT_TRUE(shares_of_alice().empty());
  const json inbox = ok("bob1", "inbox");
  ASSERT_EQ(inbox.size(), 1u) << inbox.dump();
  EXPECT_EQ(inbox[0].value("granted", json()), false);
  EXPECT_EQ(inbox[0].value("item", json()), kFolder + "/plage 2.jpg");
  const std::string answer = text_ok("bob1", "watch --seconds 1");
  EXPECT_NE(answer.find("alice refused your request for " + kFolder + "/plage 2.jpg"),
            std::string::npos)
      << answer;
  // Read once: the note is gone with the answer.
  EXPECT_FALSE(fs::exists(dir_ / "bob1" / "access-requests.json") &&
               read(dir_ / "bob1" / "access-requests.json").find("plage 2") != std::string::npos);
}

TEST_F(AccessAttack, TheCloudNeverReadsTheNameAskedFor) {
  two_users();
  put_photo();
  ok("alice1", "put " + file("geheimplan.txt", "the plan").string());
  ok("bob1", "request-access alice --item geheimplan.txt");
  ok("bob1", "request-access alice --item " + quoted(kPath));
  // What the cloud holds once the requests are in, and once they are answered and used.
  const std::vector<std::string> needles = {"geheimplan", kName, "\xC3\x89t\xC3\xA9 2026", "Fotos"};
  for (const auto& n : needles) {
    EXPECT_EQ(cloud_files_holding(n), std::vector<std::string>()) << n;
  }
  const json answered = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(answered.size(), 2u) << answered.dump();
  EXPECT_EQ(answered[0].value("item", json()), "geheimplan.txt");
  EXPECT_EQ(answered[1].value("item", json()), kPath);
  ok("bob1", "watch --seconds 1");
  ok("bob1", "get alice/geheimplan.txt -o " + (dir_ / "plan").string());
  for (const auto& n : needles) {
    EXPECT_EQ(cloud_files_holding(n), std::vector<std::string>()) << n;
  }
}

TEST_F(AccessAttack, ASealedRequestCountsOnlyForTheRequesterAndOwnerItWasSealedFor) {
  two_users();
  put_photo();
  const hopboxd::test::TestDevice bob = session_of("bob1");
  const v1::Device alice = alice_primary(bob);
  auto pk = mupre::PublicKey::decode(std::vector<std::uint8_t>(
      alice.keys().encryption_key().begin(), alice.keys().encryption_key().end()));
  ASSERT_TRUE(pk.ok());
  const names::Path path{kFolder, kName};
  // Sealed by mallory's client for alice (or handed to bob by the cloud), sent by bob: alice
  // must not grant bob what mallory asked for. Then one naming another owner, and one altered.
  std::vector<std::string> sealed = {access::seal(*pk, "mallory", "alice", path),
                                     access::seal(*pk, "bob", "carol", path),
                                     access::seal(*pk, "bob", "alice", path)};
  sealed[2][sealed[2].size() - 20] ^= 1;
  for (const auto& s : sealed) {
    v1::SendNotificationRequest req;
    req.set_to_device_id(alice.device_id());
    req.mutable_access_request()->set_sealed_item(s);
    ASSERT_TRUE(send(bob, req).ok());
  }
  const json answered = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(answered.size(), 3u) << answered.dump();
  for (const auto& a : answered) {
    EXPECT_EQ(a.value("granted", json()), false) << a.dump();
    EXPECT_EQ(a.value("unreadable", false), true) << a.dump();
    EXPECT_FALSE(a.contains("share_id")) << a.dump();
  }
  EXPECT_TRUE(shares_of_alice().empty());
  EXPECT_EQ(ok("alice1", "inbox").size(), 0u);  // answered, not left to be granted later
  EXPECT_NE(
      hopbox("bob1", "get " + quoted("alice/" + kPath) + " -o " + (dir_ / "x").string()).exit_code,
      0);
  // The same request sealed by bob himself is granted: only the binding made the difference.
  v1::SendNotificationRequest honest;
  honest.set_to_device_id(alice.device_id());
  honest.mutable_access_request()->set_sealed_item(access::seal(*pk, "bob", "alice", path));
  ASSERT_TRUE(send(bob, honest).ok());
  const json granted = ok("alice1", "watch --seconds 1 --yes");
  ASSERT_EQ(granted.size(), 1u) << granted.dump();
  EXPECT_EQ(granted[0].value("granted", json()), true);
  EXPECT_EQ(granted[0].value("item", json()), kPath);
}

TEST_F(AccessAttack, TheServiceRefusesAPlaintextItemAndAnOversizedSealedOne) {
  two_users();
  ok("alice1", "put " + file("geheimplan.txt", "the plan").string());
  const hopboxd::test::TestDevice bob = session_of("bob1");
  const v1::Device alice = alice_primary(bob);
  v1::SendNotificationRequest plain;
  plain.set_to_device_id(alice.device_id());
  plain.mutable_access_request()->set_item("geheimplan.txt");
  const grpc::Status s = send(bob, plain);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("travels sealed"), std::string::npos) << s.error_message();
  v1::SendNotificationRequest big;
  big.set_to_device_id(alice.device_id());
  big.mutable_access_request()->set_sealed_item(std::string(access::kMaxSealedItem + 1, 'x'));
  EXPECT_EQ(send(bob, big).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(cloud_int("SELECT COUNT(*) FROM notifications"), 0);
  EXPECT_EQ(cloud_files_holding("geheimplan"), std::vector<std::string>());
}

}  // namespace
}  // namespace hopbox
