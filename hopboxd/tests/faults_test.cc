// hopboxd with a database it cannot write (issue 14, "Faults and time"): reads go on, writes are
// refused as UNAVAILABLE with a reason, nothing is lost, and the retry works once the database
// can be written again. As root, file permissions do not apply, so hopboxd runs as nobody
// (ChildProcess::run_as) over a data folder given to nobody, all but the database.
#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include "test_client.h"

namespace hopboxd::test {
namespace {

using grpc::StatusCode;

constexpr int kNobody = 65534;

std::string random_text(std::size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), s.size());
  return s;
}

// chown -R: the folder and everything in it.
void give_to(const fs::path& dir, int uid) {
  ASSERT_EQ(lchown(dir.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid)), 0);
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    ASSERT_EQ(lchown(e.path().c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(uid)), 0)
        << e.path();
  }
}

// The payload files hopboxd keeps (one per distinct payload), in-progress ones aside.
std::size_t stored_payloads(const fs::path& data_dir) {
  std::size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(data_dir / "payloads" / "objects")) {
    if (e.is_regular_file()) ++n;
  }
  return n;
}

class ReadOnlyDatabase : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "runs hopboxd as another user: needs root";
    stub_ = server_.stub();
  }
  // Restarts hopboxd as nobody, over a data folder that nobody owns but for the database file,
  // which stays root's (mode 0644): readable, not writable.
  void restart_with_a_database_nobody_can_write() {
    ASSERT_EQ(server_.stop(SIGTERM), 0);
    give_to(server_.dir(), kNobody);
    const fs::path db = server_.dir() / "hopbox.db";
    ASSERT_EQ(lchown(db.c_str(), 0, 0), 0);
    fs::permissions(db, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                            fs::perms::others_read);
    server_.run_as(kNobody, kNobody);
    server_.start();
    stub_ = server_.stub();
  }
  // Items of alice's account.
  grpc::Status upload(const TestDevice& d, const std::string& item, const std::string& plain) {
    return upload_item(*stub_, d, "alice", item, plain);
  }
  grpc::Status download(const TestDevice& d, const std::string& owner, const std::string& item,
                        std::string& plain) {
    return download_item(*stub_, d, owner, item, plain);
  }

  TestServer server_;
  std::unique_ptr<v1::Hopbox::Stub> stub_;
};

// Expects the refusal of a write on the read-only database: UNAVAILABLE, saying why.
#define EXPECT_NOT_WRITABLE(status)                                                     \
  do {                                                                                  \
    const grpc::Status s_ = (status);                                                   \
    EXPECT_EQ(s_.error_code(), StatusCode::UNAVAILABLE) << s_.error_message();          \
    EXPECT_NE(s_.error_message().find("database cannot be written"), std::string::npos) \
        << s_.error_message();                                                          \
  } while (0)

TEST_F(ReadOnlyDatabase, ServesReadsRefusesWritesAsUnavailableLosesNothingAndTheRetryWorks) {
  TestDevice alice, bob;
  ASSERT_TRUE(create_account(*stub_, "alice", alice).ok());
  ASSERT_TRUE(create_account(*stub_, "bob", bob).ok());
  const std::string kept = random_text(200000);
  ASSERT_TRUE(upload(alice, "kept", kept).ok());
  ASSERT_EQ(stored_payloads(server_.dir()), 1u);

  restart_with_a_database_nobody_can_write();
  EXPECT_NE(read_all(server_.dir() / "server.log").find("cannot be written (read-only)"),
            std::string::npos);
  // Reads, with the sessions the devices already hold.
  std::string got;
  ASSERT_TRUE(download(alice, "alice", "kept", got).ok());
  EXPECT_EQ(got, kept);
  {
    grpc::ClientContext ctx;
    alice.authorize(ctx);
    v1::ListItemsResponse list;
    ASSERT_TRUE(stub_->ListItems(&ctx, v1::ListItemsRequest(), &list).ok());
    ASSERT_EQ(list.items_size(), 1);
    EXPECT_EQ(list.items(0).item_id(), "kept");
  }
  // Writes: an upload (its payload not kept either), a share, a new session.
  const std::string later = random_text(300000);
  EXPECT_NOT_WRITABLE(upload(alice, "later", later));
  EXPECT_EQ(stored_payloads(server_.dir()), 1u);
  EXPECT_TRUE(fs::is_empty(server_.dir() / "payloads" / "tmp"));
  EXPECT_NOT_WRITABLE(install_rekey(*stub_, alice, bob, v1::REKEY_KIND_SHARE, {}, nullptr));
  EXPECT_NOT_WRITABLE(alice.login(*stub_));
  EXPECT_TRUE(server_.running());
  EXPECT_EQ(download(alice, "alice", "later", got).error_code(), StatusCode::NOT_FOUND);
  ASSERT_TRUE(download(alice, "alice", "kept", got).ok());
  EXPECT_EQ(got, kept);

  // Writable again (still as nobody): the same writes now succeed, and nothing was lost.
  ASSERT_EQ(server_.stop(SIGTERM), 0);
  give_to(server_.dir(), kNobody);
  server_.start();
  stub_ = server_.stub();
  ASSERT_TRUE(upload(alice, "later", later).ok());
  ASSERT_TRUE(install_rekey(*stub_, alice, bob, v1::REKEY_KIND_SHARE, {}, nullptr).ok());
  const grpc::Status shared = download(bob, "alice", "later", got);
  ASSERT_TRUE(shared.ok()) << shared.error_code() << " " << shared.error_message();
  EXPECT_EQ(got, later);
  ASSERT_TRUE(download(alice, "alice", "kept", got).ok());
  EXPECT_EQ(got, kept);
  EXPECT_TRUE(alice.login(*stub_).ok());
}

// A database nobody can even read: hopboxd does not start, and says which file and why.
TEST_F(ReadOnlyDatabase, ADatabaseThatCannotBeOpenedStopsStartUpNamingIt) {
  ASSERT_EQ(server_.stop(SIGTERM), 0);
  give_to(server_.dir(), kNobody);
  const fs::path db = server_.dir() / "hopbox.db";
  ASSERT_EQ(lchown(db.c_str(), 0, 0), 0);
  fs::permissions(db, fs::perms::owner_read | fs::perms::owner_write);
  hopbox::testing::ChildProcess hopboxd;
  hopboxd.run_as(kNobody, kNobody);
  const fs::path log = server_.dir() / "refused.log";
  const int code =
      hopboxd.start_or_exit(HOPBOXD_BINARY,
                            {"--data-dir", server_.dir().string(), "--listen", "127.0.0.1:0",
                             "--port-file", (server_.dir() / "port").string()},
                            log, server_.dir() / "port");
  EXPECT_EQ(code, 1) << read_all(log);
  EXPECT_NE(read_all(log).find("cannot open database " + db.string()), std::string::npos)
      << read_all(log);
}

}  // namespace
}  // namespace hopboxd::test
