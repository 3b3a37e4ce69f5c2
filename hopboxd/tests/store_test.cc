// The embedded store on real SQLite files and the payload directory on a real filesystem.
#include <gtest/gtest.h>
#include <sodium.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "payload_store.h"
#include "sqlite_store.h"

namespace hopboxd {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hopboxd-store-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

DeviceRecord device(std::uint8_t tag) {
  DeviceRecord d;
  d.name = "dev" + std::to_string(tag);
  d.signing_key = {1, 2, tag};
  d.encryption_key = {3, 4, tag};
  d.fingerprint = Bytes(32, tag);
  return d;
}

ItemRecord item(UserId owner, const std::string& id, const std::string& digest) {
  ItemRecord r;
  r.owner_id = owner;
  r.item_id = id;
  r.capsule = {1};
  r.wrapped_key = {2};
  r.payload_header = {3};
  r.payload_digest = digest;
  r.payload_size = 10;
  return r;
}

TEST(SqliteStore, AccountsPersistAcrossReopenAndDuplicatesAreRefused) {
  TempDir dir;
  const std::string db = (dir.path() / "h.db").string();
  UserId alice = 0;
  {
    SqliteStore s(db);
    auto d = s.create_account("alice", device(1));
    ASSERT_TRUE(d.has_value());
    alice = d->user_id;
    EXPECT_FALSE(s.create_account("alice", device(2)).has_value());
    EXPECT_FALSE(s.create_account("bob", device(1)).has_value());  // same key fingerprint
    EXPECT_FALSE(s.user_id("bob").has_value());  // the failed account left nothing behind
    ASSERT_TRUE(s.add_device(alice, device(3)).has_value());
  }
  SqliteStore again(db);  // migrations already applied: opens as is
  ASSERT_EQ(again.user_id("alice"), alice);
  const auto devices = again.devices_of(alice);
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_TRUE(devices[0].primary);
  EXPECT_EQ(again.device_by_fingerprint(Bytes(32, 3))->name, "dev3");
}

TEST(SqliteStore, ChallengesAreSingleUseAndExpire) {
  TempDir dir;
  SqliteStore s((dir.path() / "h.db").string());
  const auto d = s.create_account("alice", device(1));
  ASSERT_TRUE(d.has_value());
  const Bytes c1(32, 7), c2(32, 8);
  s.put_challenge(d->id, c1, 100, 16);
  s.put_challenge(d->id, c2, 100, 16);
  EXPECT_TRUE(s.take_challenge(d->id, c1, 50));
  EXPECT_FALSE(s.take_challenge(d->id, c1, 50));   // used
  EXPECT_FALSE(s.take_challenge(d->id, c2, 100));  // expired
  s.put_session(Bytes(32, 9), d->id, 200);
  EXPECT_EQ(s.session_device(Bytes(32, 9), 199), d->id);
  EXPECT_FALSE(s.session_device(Bytes(32, 9), 200).has_value());
}

TEST(SqliteStore, OutstandingChallengesAreCappedAndExpiredStateIsPurged) {
  TempDir dir;
  SqliteStore s((dir.path() / "h.db").string());
  const auto d = s.create_account("alice", device(1));
  ASSERT_TRUE(d.has_value());
  // Four allowed: the oldest of five makes way, the newest four stay usable.
  for (std::uint8_t i = 0; i < 5; ++i) s.put_challenge(d->id, Bytes(32, i), 100 + i, 4);
  EXPECT_FALSE(s.take_challenge(d->id, Bytes(32, 0), 50));
  for (std::uint8_t i = 1; i < 5; ++i) EXPECT_TRUE(s.take_challenge(d->id, Bytes(32, i), 50));
  // Expired challenges and sessions go; live ones stay.
  s.put_challenge(d->id, Bytes(32, 20), 100, 4);
  s.put_challenge(d->id, Bytes(32, 21), 300, 4);
  s.put_session(Bytes(32, 30), d->id, 100);
  s.put_session(Bytes(32, 31), d->id, 300);
  s.purge_expired(200);
  EXPECT_FALSE(s.session_device(Bytes(32, 30), 0).has_value());  // gone, even asked "before"
  EXPECT_EQ(s.session_device(Bytes(32, 31), 200), d->id);
  EXPECT_FALSE(s.take_challenge(d->id, Bytes(32, 20), 0));
  EXPECT_TRUE(s.take_challenge(d->id, Bytes(32, 21), 200));
}

TEST(SqliteStore, ReKeysFromOneKeyAreBounded) {
  TempDir dir;
  SqliteStore s((dir.path() / "h.db").string());
  const auto a = s.create_account("alice", device(1));
  const auto b = s.create_account("bob", device(2));
  ASSERT_TRUE(a && b);
  ReKeyRecord r;
  r.creator_device = a->id;
  r.edge = Edge{0, a->id, b->id, EdgeKind::kShare, a->user_id, SharePolicy{}, std::nullopt};
  r.rekey = {9};
  r.from_fingerprint = a->fingerprint;
  r.to_fingerprint = b->fingerprint;
  const auto first = s.put_rekey_bounded(r, 2);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(s.put_rekey_bounded(r, 2).has_value());
  EXPECT_FALSE(s.put_rekey_bounded(r, 2).has_value());
  ASSERT_TRUE(s.delete_rekey(*first, a->user_id));
  EXPECT_TRUE(s.put_rekey_bounded(r, 2).has_value());
}

// A revocation is remembered for the account that made it, so that its retry is answered alike.
TEST(SqliteStore, RevokedKeysAreRememberedForTheirAccount) {
  TempDir dir;
  SqliteStore s((dir.path() / "h.db").string());
  const auto a = s.create_account("alice", device(1));
  const auto b = s.create_account("bob", device(2));
  ASSERT_TRUE(a && b);
  ReKeyRecord r;
  r.creator_device = a->id;
  r.edge = Edge{0, a->id, b->id, EdgeKind::kShare, a->user_id, SharePolicy{}, std::nullopt};
  r.rekey = {9};
  r.from_fingerprint = a->fingerprint;
  r.to_fingerprint = b->fingerprint;
  const auto id = s.put_rekey(r);
  EXPECT_FALSE(s.revoked_rekey(id, a->user_id));
  ASSERT_TRUE(s.delete_rekey(id, a->user_id));
  EXPECT_FALSE(s.delete_rekey(id, a->user_id));
  EXPECT_TRUE(s.revoked_rekey(id, a->user_id));
  EXPECT_FALSE(s.revoked_rekey(id, b->user_id));
  EXPECT_FALSE(s.revoked_rekey(id + 1, a->user_id));
}

// Several calls in atomically() commit together, or none does; a call that rolls back on its
// own inside it takes only its part.
TEST(SqliteStore, AtomicallyCommitsEveryCallOrNone) {
  TempDir dir;
  SqliteStore s((dir.path() / "h.db").string());
  EXPECT_THROW(s.atomically([&] {
    ASSERT_TRUE(s.create_account("alice", device(1)));
    ASSERT_TRUE(s.create_account("bob", device(2)));
    throw std::runtime_error("the service fails half-way");
  }),
               std::runtime_error);
  EXPECT_FALSE(s.user_id("alice"));
  EXPECT_FALSE(s.user_id("bob"));
  s.atomically([&] {
    ASSERT_TRUE(s.create_account("alice", device(1)));
    EXPECT_FALSE(s.create_account("alice", device(3)));  // refused, rolled back alone
    ASSERT_TRUE(s.create_account("bob", device(2)));
  });
  EXPECT_TRUE(s.user_id("alice"));
  EXPECT_TRUE(s.user_id("bob"));
  EXPECT_FALSE(s.device_by_fingerprint(device(3).fingerprint));
}

TEST(SqliteStore, ItemVersionsAndOrphanedPayloads) {
  TempDir dir;
  SqliteStore s((dir.path() / "h.db").string());
  const auto d = s.create_account("alice", device(1));
  ASSERT_TRUE(d.has_value());
  std::vector<std::string> orphaned;
  EXPECT_EQ(s.put_item(item(d->user_id, "a", "d1"), false, orphaned), 1);
  EXPECT_EQ(s.put_item(item(d->user_id, "b", "d1"), false, orphaned), 1);  // same payload
  EXPECT_FALSE(s.put_item(item(d->user_id, "a", "d2"), false, orphaned).has_value());
  EXPECT_EQ(s.put_item(item(d->user_id, "a", "d2"), true, orphaned), 2);
  EXPECT_TRUE(orphaned.empty());  // d1 is still used by b
  ASSERT_TRUE(s.delete_item(d->user_id, "b", orphaned));
  EXPECT_EQ(orphaned, std::vector<std::string>{"d1"});
  EXPECT_FALSE(s.delete_item(d->user_id, "b", orphaned));
  EXPECT_EQ(s.item(d->user_id, "a")->payload_digest, "d2");
}

TEST(SqliteStore, AnItemsSealedNameIsKeptAcrossVersionsAndRefreshes) {
  TempDir dir;
  SqliteStore s((dir.path() / "h.db").string());
  const auto d = s.create_account("alice", device(1));
  ASSERT_TRUE(d.has_value());
  std::vector<std::string> orphaned;
  ItemRecord r = item(d->user_id, "a", "d1");
  r.sealed_name = Bytes{1, 2, 3};
  EXPECT_EQ(s.put_item(r, false, orphaned), 1);
  EXPECT_EQ(s.item(d->user_id, "a")->sealed_name, (Bytes{1, 2, 3}));
  r.sealed_name = Bytes{4};
  EXPECT_EQ(s.put_item(r, true, orphaned), 2);
  EXPECT_EQ(s.refresh_item(d->user_id, "a", 2, r.capsule, r.wrapped_key, r.signature), 3);
  EXPECT_EQ(s.items_of(d->user_id).at(0).sealed_name, Bytes{4});
}

TEST(SqliteStore, EdgesKeepTheirKindPolicyAndExpiry) {
  TempDir dir;
  SqliteStore s((dir.path() / "h.db").string());
  const auto a = s.create_account("alice", device(1));
  const auto b = s.create_account("bob", device(2));
  ASSERT_TRUE(a && b);
  ReKeyRecord r;
  r.creator_device = a->id;
  r.edge = Edge{0,          a->id,
                b->id,      EdgeKind::kShare,
                a->user_id, SharePolicy{SharePolicy::Scope::kListedItems, "", {"x", "y"}},
                1234,       0};
  r.rekey = {9};
  r.from_fingerprint = a->fingerprint;
  r.to_fingerprint = b->fingerprint;
  const auto id = s.put_rekey(r);
  const auto back = s.rekey(id);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->edge.kind, EdgeKind::kShare);
  EXPECT_EQ(back->edge.policy.items, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(back->edge.expires, 1234);
  EXPECT_EQ(s.sharers_with(b->user_id), std::vector<UserId>{a->user_id});
  EXPECT_EQ(s.edges_for(a->user_id, b->user_id).size(), 1u);
  ASSERT_TRUE(s.delete_rekey(id, a->user_id));
  const auto next = s.put_rekey(r);
  EXPECT_GT(next, id);  // ids are never reused
}

// R3 state belongs to one request (a pending device) and goes with it: on refusal (the
// refuser's approval), expiry or removal, completion, and a new set-up (everything).
TEST(SqliteStore, ThresholdApprovalsBelongToOneRequest) {
  TempDir dir;
  const std::string path = (dir.path() / "h.db").string();
  SqliteStore s(path);
  const auto alice = s.create_account("alice", device(1));
  const auto bob = s.create_account("bob", device(2));
  const auto carol = s.create_account("carol", device(3));
  ASSERT_TRUE(alice && bob && carol);
  DeviceRecord pending = device(4);
  pending.pending_recovery = true;
  const auto r1 = s.add_device(alice->user_id, pending);
  const auto r2 = s.add_device(alice->user_id, device(5));
  ASSERT_TRUE(r1 && r2);
  s.put_threshold_config(alice->user_id, Bytes{1, 2});
  EXPECT_EQ(s.threshold_config(alice->user_id), (Bytes{1, 2}));
  s.put_recovery_approval(alice->user_id, r1->id, bob->user_id, Bytes{7});
  s.put_recovery_approval(alice->user_id, r1->id, carol->user_id, Bytes{8});
  s.put_recovery_approval(alice->user_id, r2->id, bob->user_id, Bytes{9});
  ASSERT_EQ(s.recovery_approvals(r1->id).size(), 2u);
  EXPECT_EQ(s.recovery_approvals(r2->id).at(0).shares, Bytes{9});  // not r1's
  EXPECT_EQ(s.recovery_approvals(r2->id).at(0).approver_name, "bob");

  // A bad submission marks, and keeps an earlier valid approval; a valid one clears the mark.
  s.mark_bad_shares(alice->user_id, r1->id, bob->user_id);
  EXPECT_TRUE(s.recovery_approvals(r1->id).at(0).bad);
  EXPECT_EQ(s.recovery_approvals(r1->id).at(0).shares, Bytes{7});
  s.put_recovery_approval(alice->user_id, r1->id, bob->user_id, Bytes{7});
  EXPECT_FALSE(s.recovery_approvals(r1->id).at(0).bad);

  // Refusal: the refuser's approval of that request only.
  EXPECT_TRUE(s.refuse_recovery_approvals(r1->id, carol->user_id));
  EXPECT_FALSE(s.refuse_recovery_approvals(r1->id, carol->user_id));
  ASSERT_EQ(s.recovery_approvals(r1->id).size(), 1u);
  EXPECT_EQ(s.recovery_approvals(r1->id).at(0).approver, bob->user_id);
  EXPECT_EQ(s.recovery_approvals(r2->id).size(), 1u);

  // Installed once per request; cleared with the request's approvals.
  EXPECT_TRUE(s.mark_recovery_installed(alice->user_id, r1->id));
  EXPECT_FALSE(s.mark_recovery_installed(alice->user_id, r1->id));
  EXPECT_TRUE(s.recovery_installed(r1->id));
  EXPECT_FALSE(s.recovery_installed(r2->id));
  s.clear_recovery_approvals(r1->id);
  EXPECT_TRUE(s.recovery_approvals(r1->id).empty());
  EXPECT_FALSE(s.recovery_installed(r1->id));
  EXPECT_EQ(s.recovery_approvals(r2->id).size(), 1u);

  // A key bound to r2 goes when r2 is removed, and so do r2's approvals.
  ReKeyRecord k;
  k.creator_device = alice->id;
  k.edge =
      Edge{0, alice->id, bob->id, EdgeKind::kRecovery, alice->user_id, {}, std::nullopt, r2->id};
  k.rekey = {1};
  const auto bound = s.put_rekey(k);
  EXPECT_EQ(s.rekey(bound)->edge.only_towards, r2->id);
  EXPECT_TRUE(s.mark_recovery_installed(alice->user_id, r2->id));
  EXPECT_EQ(s.remove_device(r2->id), std::vector<std::int64_t>{bound});
  EXPECT_TRUE(s.recovery_approvals(r2->id).empty());
  EXPECT_FALSE(s.recovery_installed(r2->id));

  // A new set-up replaces the old whole.
  s.put_recovery_approval(alice->user_id, r1->id, bob->user_id, Bytes{7});
  EXPECT_TRUE(s.mark_recovery_installed(alice->user_id, r1->id));
  s.put_threshold_config(alice->user_id, Bytes{3});
  EXPECT_TRUE(s.recovery_approvals(r1->id).empty());
  EXPECT_FALSE(s.recovery_installed(r1->id));
  s.put_threshold_config(alice->user_id, {});  // withdrawn
  EXPECT_FALSE(s.threshold_config(alice->user_id).has_value());
}

// A database from before R3 had its own tables: the set-up moves, the per-user approvals
// (which counted for any request) and the generic recovery_blobs table go.
TEST(SqliteStore, MigrationMovesTheThresholdSetUpAndDropsPerUserApprovals) {
  TempDir dir;
  const std::string path = (dir.path() / "h.db").string();
  {
    // The tables of schema version 3 that the migrations read or change.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const char* sql = R"sql(
CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL DEFAULT (unixepoch()));
CREATE TABLE devices (id INTEGER PRIMARY KEY AUTOINCREMENT);
CREATE TABLE items (owner_id INTEGER NOT NULL, item_id TEXT NOT NULL);
CREATE TABLE rekeys (id INTEGER PRIMARY KEY AUTOINCREMENT);
CREATE TABLE notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, to_device INTEGER,
  from_device INTEGER);
CREATE TABLE recovery_blobs (user_id INTEGER NOT NULL REFERENCES users(id), name TEXT NOT NULL,
  blob BLOB NOT NULL, PRIMARY KEY (user_id, name));
INSERT INTO users(name) VALUES ('alice'), ('bob');
INSERT INTO recovery_blobs VALUES (1, 'r3:config', x'0102'), (1, 'r3:share:carol', x'07'),
  (1, 'r3:installed', x'01'), (2, 'r3:config', x'');
PRAGMA user_version = 3;
)sql";
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  SqliteStore s(path);
  EXPECT_EQ(s.threshold_config(*s.user_id("alice")), (Bytes{1, 2}));
  EXPECT_FALSE(s.threshold_config(*s.user_id("bob")).has_value());  // withdrawn
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "SELECT * FROM recovery_blobs", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST(SqliteStore, AFileThatIsNotADatabaseIsAClearError) {
  TempDir dir;
  const fs::path db = dir.path() / "h.db";
  std::ofstream(db) << "this is not an SQLite database, just some text that is long enough";
  try {
    SqliteStore s(db.string());
    FAIL() << "opened a corrupt database";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("sqlite"), std::string::npos) << e.what();
  }
}

TEST(PayloadStore, OnlyFinishedPayloadsAppearAndGarbageIsCollected) {
  TempDir dir;
  std::string digest;
  {
    PayloadStore p(dir.path());
    {
      auto w = p.begin();
      ASSERT_TRUE(w.has_value());
      const std::uint8_t data[] = {1, 2, 3};
      ASSERT_TRUE(w->append(data));
      // abandoned: destroyed without finish()
    }
    EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
    auto w = p.begin();
    ASSERT_TRUE(w.has_value());
    const std::uint8_t data[] = {'a', 'b', 'c'};
    ASSERT_TRUE(w->append(data));
    auto d = w->finish();
    ASSERT_TRUE(d.has_value());
    digest = *d;
    EXPECT_FALSE(p.path_of(digest).has_value());  // finished, not yet published
    ASSERT_TRUE(w->publish());
    // SHA-256("abc")
    EXPECT_EQ(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_TRUE(p.path_of(digest).has_value());
    EXPECT_FALSE(p.path_of("../../etc/passwd").has_value());
    // A temporary file left by a crash.
    std::ofstream(dir.path() / "tmp" / "upload-crashed") << "partial";
  }
  PayloadStore reopened(dir.path());
  EXPECT_TRUE(fs::is_empty(dir.path() / "tmp"));
  EXPECT_TRUE(reopened.path_of(digest).has_value());
  reopened.collect_garbage({});
  EXPECT_FALSE(reopened.path_of(digest).has_value());
}

}  // namespace
}  // namespace hopboxd
