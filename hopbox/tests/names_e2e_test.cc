// Issue 13: real file names and folders, encrypted; the cloud sees opaque ids only. Real
// processes (hopboxd, the hopbox command line, SoftHSM2 tokens), as in e2e_test.cc.
#include <string>
#include <vector>

#include "e2e_fixture.h"
#include "test_client.h"

namespace hopbox {
namespace {

namespace v1 = hopbox::v1;

const std::string kName =
    "\xC3\x9C"
    "berweisung M\xC3\xA4rz 2026.pdf";  // Überweisung März 2026.pdf
const std::string kFolder = "Steuern/2026";

class Names : public EndToEnd {
 protected:
  // Every value of every column of every table in hopboxd's database that holds `needle`.
  std::vector<std::string> cloud_rows_holding(const std::string& needle) {
    std::vector<std::string> found;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((server_->dir() / "hopbox.db").c_str(), &db), SQLITE_OK);
    std::vector<std::string> tables;
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table'", -1, &st, nullptr);
    while (sqlite3_step(st) == SQLITE_ROW) {
      tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    }
    sqlite3_finalize(st);
    EXPECT_GT(tables.size(), 5u);
    for (const auto& t : tables) {
      EXPECT_EQ(sqlite3_prepare_v2(db, ("SELECT * FROM \"" + t + "\"").c_str(), -1, &st, nullptr),
                SQLITE_OK);
      while (sqlite3_step(st) == SQLITE_ROW) {
        for (int c = 0; c < sqlite3_column_count(st); ++c) {
          const auto* p = static_cast<const char*>(sqlite3_column_blob(st, c));
          const std::string v(
              p == nullptr ? ""
                           : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, c))));
          if (v.find(needle) != std::string::npos)
            found.push_back(t + "." + sqlite3_column_name(st, c));
        }
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return found;
  }
  // An item's opaque id as this account's `ls --json` gives it.
  std::string id_of(const std::string& device, const std::string& path) {
    for (const auto& e : ok(device, "ls")) {
      if (e["path"] == path) return e["id"].get<std::string>();
    }
    ADD_FAILURE() << "no " << path;
    return "";
  }
  std::string quoted(const std::string& s) { return "'" + s + "'"; }
  // The value of `column` of alice's item `id`, as the cloud stores it.
  std::string column_of(const std::string& column, const std::string& id) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((server_->dir() / "hopbox.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, ("SELECT " + column + " FROM items WHERE item_id = ?").c_str(),
                                 -1, &st, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    std::string v;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(st, 0));
      if (p != nullptr) v.assign(p, static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }
  // A dishonest cloud exchanges `column` between two items.
  void swap_column(const std::string& column, const std::string& a, const std::string& b) {
    const std::string va = column_of(column, a), vb = column_of(column, b);
    ASSERT_FALSE(va.empty());
    ASSERT_NE(va, vb);
    cloud_sql("UPDATE items SET " + column + " = ? WHERE item_id = '" + a + "'", {vb});
    cloud_sql("UPDATE items SET " + column + " = ? WHERE item_id = '" + b + "'", {va});
  }
};

TEST_F(Names, AFileWithSpacesAndAccentsInAFolderRoundTripsByName) {
  make_user("alice");
  ok("alice1", "put " + file("scan.pdf", "PDF bytes").string() + " --as " + quoted(kName) +
                   " --folder " + kFolder);
  const json listing = ok("alice2", "ls");
  ASSERT_EQ(listing.size(), 1u);
  EXPECT_EQ(listing[0]["item"], kName);
  EXPECT_EQ(listing[0]["folder"], kFolder);
  EXPECT_EQ(listing[0]["id"].get<std::string>().size(), 32u);
  const json got =
      ok("alice2", "get " + quoted(kFolder + "/" + kName) + " -o " + (dir_ / "out.pdf").string());
  EXPECT_EQ(got["item"], kFolder + "/" + kName);
  EXPECT_EQ(read(dir_ / "out.pdf"), "PDF bytes");
  // The folder is part of the name: the same name elsewhere is another item.
  EXPECT_EQ(hopbox("alice1", "get " + quoted(kName) + " -o " + (dir_ / "x").string()).exit_code, 3);
  EXPECT_EQ(ok("alice1", "ls Steuern").size(), 1u);
  EXPECT_EQ(ok("alice1", "ls Privat").size(), 0u);
  // Replacing and deleting go by the real name too.
  EXPECT_EQ(hopbox("alice1", "put " + file("scan.pdf", "v2").string() + " --as " + quoted(kName) +
                                 " --folder " + kFolder)
                .exit_code,
            3);
  ok("alice1", "put " + file("scan.pdf", "v2").string() + " --as " + quoted(kName) + " --folder " +
                   kFolder + " --replace");
  ok("alice1", "refresh " + quoted(kFolder + "/" + kName));
  ok("alice1", "get " + quoted(kFolder + "/" + kName) + " -o " + (dir_ / "v2").string());
  EXPECT_EQ(read(dir_ / "v2"), "v2");
  ok("alice2", "rm " + quoted(kFolder + "/" + kName));
  EXPECT_EQ(ok("alice1", "ls").size(), 0u);
}

TEST_F(Names, NamesNoFileSystemAllowsAreUsageErrors) {
  make_user("alice");
  const std::string f = file("a.txt", "A").string();
  for (const std::string& bad :
       std::vector<std::string>{"--as ..", "--as .", "--folder a/../b", "--folder ./x",
                                "--as " + std::string(256, 'n')}) {
    EXPECT_EQ(hopbox("alice1", "put " + f + " " + bad).exit_code, 2) << bad;
  }
  EXPECT_EQ(hopbox("alice1", "put " + f + " --as \"$(printf '\\377\\376')\"").exit_code,
            2);                                              // not UTF-8
  EXPECT_EQ(hopbox("alice1", "put - < " + f).exit_code, 2);  // no --as
}

TEST_F(Names, ATreeWithSpacesAndAccentsRoundTripsByteForByte) {
  make_user("alice");
  const fs::path tree = dir_ / "Fotos Sommer";
  fs::create_directories(tree / "Tag 1" / "Caf\xC3\xA9");
  fs::create_directories(tree / "leer");
  std::ofstream(tree / "liste.txt") << "one\ntwo\n";
  std::ofstream(tree / "Tag 1" / "Str\xC3\xA4nd.jpg", std::ios::binary)
      << std::string("\0\x01\xff", 3);
  std::ofstream(tree / "Tag 1" / "Caf\xC3\xA9" /
                "cr\xC3\xA8me br\xC3\xBBl\xC3\xA9"
                ".txt")
      << "sweet";
  EXPECT_EQ(ok("alice1", "put -r " + quoted(tree.string())).size(), 3u);
  const json listing = ok("alice2", "ls " + quoted("Fotos Sommer/Tag 1"));
  EXPECT_EQ(listing.size(), 2u);
  // get -r writes the folder itself under -o, as put -r read it.
  ok("alice2", "get -r " + quoted("Fotos Sommer") + " -o " + (dir_ / "back").string());
  const fs::path back = dir_ / "back" / "Fotos Sommer";
  for (const fs::path& rel : std::vector<fs::path>{
           fs::path("liste.txt"), fs::path("Tag 1") / "Str\xC3\xA4nd.jpg",
           fs::path("Tag 1") / "Caf\xC3\xA9" / "cr\xC3\xA8me br\xC3\xBBl\xC3\xA9.txt"}) {
    EXPECT_EQ(read(back / rel), read(tree / rel)) << rel;
  }
  EXPECT_EQ(read(back / "Tag 1" / "Str\xC3\xA4nd.jpg").size(), 3u);
}

TEST_F(Names, StandardInputRoundTrips) {
  make_user("alice");
  const fs::path in = file("in.bin", std::string("from a pipe\0\n", 13));
  ok("alice1", "put - --as " + quoted("pipe d\xC3\xA9j\xC3\xA0.bin") + " < " + in.string());
  const CliRun out = hopbox("alice2", "get " + quoted("pipe d\xC3\xA9j\xC3\xA0.bin") + " -o -");
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.out, std::string("from a pipe\0\n", 13));
}

TEST_F(Names, TheCloudsDatabaseHoldsNeitherFileNorFolderNames) {
  make_user("alice");
  make_user("bob");
  ok("alice1",
     "put " + file("scan.pdf", "PDF").string() + " --as " + quoted(kName) + " --folder " + kFolder);
  ok("alice1", "share bob --yes --folder " + kFolder);
  ok("bob1", "ls --shared");  // bob learns the name from the metadata, not from the cloud
  for (const std::string& needle :
       std::vector<std::string>{kName,
                                std::string("\xC3\x9C"
                                            "berweisung"),
                                std::string("Steuern"), std::string("scan.pdf")}) {
    EXPECT_EQ(cloud_rows_holding(needle), std::vector<std::string>()) << needle;
  }
  // The scan itself finds what is there.
  EXPECT_FALSE(cloud_rows_holding("alice").empty());
}

TEST_F(Names, AFolderShareLetsTheRecipientListAndGetExactlyThatFolderByName) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("a.pdf", "in 2026").string() + " --folder Steuern/2026");
  ok("alice1", "put " + file("b.pdf", "in Steuern").string() + " --folder Steuern");
  ok("alice1", "put " + file("c.txt", "private").string() + " --folder Privat");
  ok("alice1", "put " + file("d.txt", "top").string());
  ok("alice1", "share bob --yes --folder Steuern/2026/");
  const json shared = ok("bob2", "ls --shared");
  ASSERT_EQ(shared.size(), 1u);
  EXPECT_EQ(shared[0]["owner"], "alice");
  EXPECT_EQ(shared[0]["folder"], "Steuern/2026");
  EXPECT_EQ(shared[0]["item"], "a.pdf");
  ok("bob2", "get alice/Steuern/2026/a.pdf -o " + (dir_ / "a").string());
  EXPECT_EQ(read(dir_ / "a"), "in 2026");
  ok("bob1", "get Steuern/2026/a.pdf --owner alice -o " + (dir_ / "a1").string());
  EXPECT_EQ(read(dir_ / "a1"), "in 2026");
  // The parent folder is another folder.
  EXPECT_EQ(hopbox("bob2", "get alice/Steuern/b.pdf -o " + (dir_ / "b").string()).exit_code, 3);
  EXPECT_EQ(hopbox("bob2", "get Privat/c.txt --owner alice -o " + (dir_ / "c").string()).exit_code,
            3);
  EXPECT_FALSE(fs::exists(dir_ / "b"));
  ok("bob2", "get -r Steuern --owner alice -o " + (dir_ / "tree").string());
  EXPECT_EQ(read(dir_ / "tree" / "Steuern" / "2026" / "a.pdf"), "in 2026");
  EXPECT_FALSE(fs::exists(dir_ / "tree" / "Steuern" / "b.pdf"));
}

// FOLDER/NAME of one's own and OWNER/NAME of a share can be the same words: never guessed.
TEST_F(Names, APathThatIsBothOwnAndSharedAsksForTheOwner) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("x.txt", "alice's own").string() + " --folder bob");
  ok("bob1", "put " + file("x.txt", "bob's").string());
  ok("bob1", "share alice --yes --item x.txt");
  const CliRun both = hopbox("alice1", "get bob/x.txt -o " + (dir_ / "both").string());
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(last_error().find("--owner alice or --owner bob"), std::string::npos) << last_error();
  EXPECT_FALSE(fs::exists(dir_ / "both"));
  ok("alice1", "get bob/x.txt --owner alice -o " + (dir_ / "own").string());
  EXPECT_EQ(read(dir_ / "own"), "alice's own");
  ok("alice1", "get x.txt --owner bob -o " + (dir_ / "shared").string());
  EXPECT_EQ(read(dir_ / "shared"), "bob's");
  // Only one of them: that one, as before.
  ok("alice1", "rm bob/x.txt");
  ok("alice1", "get bob/x.txt -o " + (dir_ / "only").string());
  EXPECT_EQ(read(dir_ / "only"), "bob's");
}

// ---- Attacks (label `attack`) ----

class NamesAttack : public Names {};

TEST_F(NamesAttack, ARecipientOfEverythingCannotReadTheNameKey) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("a.txt", "A").string());
  ok("alice1", "share bob --yes");  // every item
  for (const auto& e : ok("bob1", "ls --shared")) EXPECT_NE(e["id"], ".names");
  auto stub = server_->stub();
  hopboxd::test::TestDevice bob = session_of("bob1");
  {
    grpc::ClientContext ctx;
    bob.authorize(ctx);
    v1::ListItemsRequest req;
    req.set_include_shared(true);
    v1::ListItemsResponse resp;
    ASSERT_TRUE(stub->ListItems(&ctx, req, &resp).ok());
    EXPECT_EQ(resp.items_size(), 1);  // a.txt of alice (bob has no items, no name key yet)
    for (const auto& i : resp.items()) {
      EXPECT_FALSE(i.owner() == "alice" && i.item_id() == ".names");
    }
  }
  {
    grpc::ClientContext ctx;
    bob.authorize(ctx);
    v1::DownloadRequest req;
    req.set_owner("alice");
    req.set_item_id(".names");
    auto reader = stub->Download(&ctx, req);
    v1::DownloadResponse msg;
    EXPECT_FALSE(reader->Read(&msg));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  // alice's own devices read it (her secondary through its own re-encryption key).
  EXPECT_EQ(cloud_int("SELECT COUNT(*) FROM items i JOIN users u ON u.id = i.owner_id "
                      "WHERE u.name = 'alice' AND i.item_id = '.names'"),
            1);
  fs::remove(dir_ / "alice2" / "name.key");
  ok("alice2", "get a.txt -o " + (dir_ / "a").string());
  EXPECT_TRUE(fs::exists(dir_ / "alice2" / "name.key"));
  EXPECT_EQ(fs::status(dir_ / "alice2" / "name.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(NamesAttack, TheCloudSwappingTwoItemsNamesIsRefused) {
  make_user("alice");
  make_user("bob");
  ok("alice1", "put " + file("a.txt", "the real a").string());
  ok("alice1", "put " + file("b.txt", "the real b").string());
  ok("alice1", "share bob --yes");
  ok("bob1", "ls --shared");
  const std::string a = id_of("alice1", "a.txt"), b = id_of("alice1", "b.txt");
  // The cloud swaps the sealed names: alice's listing refuses.
  swap_column("sealed_name", a, b);
  EXPECT_EQ(hopbox("alice2", "ls").exit_code, 4);
  swap_column("sealed_name", a, b);  // back
  ok("alice2", "ls");
  // The cloud swaps the metadata (what recipients read names from) and bumps the versions so
  // that bob's cache does not answer: bob refuses.
  swap_column("metadata", a, b);
  cloud_sql("UPDATE items SET version = version + 1 WHERE item_id IN ('" + a + "', '" + b + "')");
  // Both are skipped with a warning (the listing of the rest stands), and neither is fetched.
  EXPECT_EQ(ok("bob2", "ls --shared").size(), 0u);
  EXPECT_NE(last_error().find("skipped a shared item"), std::string::npos) << last_error();
  EXPECT_EQ(hopbox("bob2", "get a.txt --owner alice -o " + (dir_ / "a").string()).exit_code, 4);
  EXPECT_EQ(hopbox("alice2", "get a.txt -o " + (dir_ / "a").string()).exit_code, 4);
  EXPECT_FALSE(fs::exists(dir_ / "a"));
}

// A sharer picks the names of what he shares: get -r must not let them overwrite files or
// follow links on the recipient's machine (issue 13 review, finding 4).
TEST_F(NamesAttack, ASharersFolderNeitherOverwritesFilesNorFollowsLinks) {
  make_user("alice");
  make_user("bob");
  ok("bob1", "put " + file("rc", "evil rc").string() + " --as .bashrc --folder photos");
  ok("bob1",
     "put " + file("k", "evil key").string() + " --as authorized_keys --folder photos/.ssh");
  ok("bob1", "put " + file("p", "a photo").string() + " --as beach.jpg --folder photos");
  ok("bob1", "share alice --yes");
  // alice's home already holds photos/.bashrc, and photos/.ssh is a link to her real .ssh.
  const fs::path home = dir_ / "home";
  fs::create_directories(home / "photos");
  fs::create_directories(home / "real-ssh");
  std::ofstream(home / "photos" / ".bashrc") << "mine";
  fs::create_directory_symlink(home / "real-ssh", home / "photos" / ".ssh");
  const CliRun r = hopbox("alice1", "get -r photos --owner bob -o " + home.string());
  EXPECT_EQ(r.exit_code, 1) << last_error();
  EXPECT_NE(last_error().find("nothing is overwritten"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("symbolic link"), std::string::npos) << last_error();
  EXPECT_EQ(read(home / "photos" / ".bashrc"), "mine");
  EXPECT_FALSE(fs::exists(home / "real-ssh" / "authorized_keys"));
  EXPECT_EQ(read(home / "photos" / "beach.jpg"), "a photo");  // the rest is written
}

// put -r does not follow a link planted in the tree to a file outside it (finding 7).
TEST_F(NamesAttack, PutRecursiveDoesNotUploadWhatALinkPointsTo) {
  make_user("alice");
  const fs::path tree = dir_ / "project";
  fs::create_directories(tree);
  std::ofstream(tree / "readme.txt") << "hello";
  const fs::path secret = file("id_ed25519", "PRIVATE KEY");
  fs::create_symlink(secret, tree / "notes");
  const json up = ok("alice1", "put -r " + tree.string());
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up[0]["item"], "project/readme.txt");
  EXPECT_NE(last_error().find("not followed"), std::string::npos) << last_error();
  for (const auto& e : ok("alice1", "ls")) EXPECT_NE(e["item"], "notes");
}

// Anyone may share with anyone: one item whose metadata names no valid file (or controls that
// would rewrite the terminal) is skipped with a warning, never printed, and the rest of the
// listing stands (findings 1 and 2).
TEST_F(NamesAttack, AStrangersDamagedItemIsSkippedAndTheListingStands) {
  make_user("alice");
  hopbox::testing::init_softhsm_token("mallory1", "1234");
  ok("mallory1", "init --user mallory --token mallory1" + server_opts_);
  ok("mallory1", "put " + file("fine.txt", "fine").string());
  ok("mallory1", "share alice --yes");
  auto stub = server_->stub();
  hopboxd::test::TestDevice mallory = session_of("mallory1");
  v1::ListDevicesResponse devices;
  {
    grpc::ClientContext ctx;
    mallory.authorize(ctx);
    ASSERT_TRUE(stub->ListDevices(&ctx, v1::ListDevicesRequest(), &devices).ok());
  }
  const auto& key = devices.devices(0).keys().encryption_key();
  auto pk = mupre::PublicKey::decode(std::vector<std::uint8_t>(key.begin(), key.end()));
  ASSERT_TRUE(pk.ok());
  // An item of mallory's whose metadata is "{}": it names no file at all.
  ASSERT_TRUE(hopboxd::test::upload_item(*stub, mallory, "mallory",
                                         "0123456789abcdef0123456789abcdef", "x", "", {}, &*pk)
                  .ok());
  const json listed = ok("alice1", "ls --shared");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["item"], "fine.txt");
  EXPECT_NE(last_error().find("skipped a shared item"), std::string::npos) << last_error();
}

class NamesAttackCa : public Names {
 protected:
  bool with_ca() const override { return true; }
};

TEST_F(NamesAttackCa, TheCloudSwappingSealedNamesBreaksTheItemSignatures) {
  make_user("alice");
  ok("alice1", "put " + file("a.txt", "the real a").string());
  ok("alice1", "put " + file("b.txt", "the real b").string());
  const std::string a = id_of("alice1", "a.txt"), b = id_of("alice1", "b.txt");
  swap_column("sealed_name", a, b);
  // The signed facts cover the sealed name: the item no longer verifies, even by its id.
  EXPECT_EQ(hopbox("alice2", "get a.txt -o " + (dir_ / "a").string()).exit_code, 4);
  EXPECT_FALSE(fs::exists(dir_ / "a"));
  // Dropping it is caught the same way.
  cloud_sql("UPDATE items SET sealed_name = x'' WHERE item_id IN ('" + a + "', '" + b + "')");
  EXPECT_EQ(hopbox("alice2", "get b.txt -o " + (dir_ / "b").string()).exit_code, 4);
}

}  // namespace
}  // namespace hopbox
