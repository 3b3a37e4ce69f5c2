// Secrets on disk (security review, issue 12): the device state and the software keystore's
// key file are owner-only from their creation, whatever the umask, and a file or link planted
// in the state folder is never reused or written through. Real files in a real folder.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "hopbox/private_files.h"
#include "software_keystore.h"
#include "state.h"

namespace hopbox {
namespace {

namespace fs = std::filesystem;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool regular(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class PrivateFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/hopbox-files-XXXXXX";
    dir_ = mkdtemp(tmpl);
    saved_umask_ = ::umask(0);  // the most permissive: nothing narrows a careless mode
  }
  void TearDown() override {
    ::umask(saved_umask_);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // A link where a fixed temporary name would be, to a file that others can read.
  void plant_link(const fs::path& folder, const std::string& name) {
    fs::create_directories(folder);
    { std::ofstream(dir_ / "stolen") << ""; }
    fs::permissions(dir_ / "stolen", fs::perms::all);
    fs::create_symlink(dir_ / "stolen", folder / name);
  }
  static DeviceState state() {
    DeviceState s;
    s.server = "127.0.0.1:1";
    s.user = "alice";
    s.sealed_key = "00";
    s.session_token = "a session token";
    return s;
  }
  fs::path dir_;
  mode_t saved_umask_ = 022;
};

TEST_F(PrivateFiles, TheDeviceStateIsOwnerOnlyUnderAPermissiveUmask) {
  save_state(dir_ / "dev", state());
  EXPECT_EQ(mode_of(dir_ / "dev" / "device.json"), 0600u);
  EXPECT_EQ(mode_of(dir_ / "dev"), 0700u);
  EXPECT_EQ(load_state(dir_ / "dev").session_token, "a session token");
}

TEST_F(PrivateFiles, AFolderMadeByOthersIsNarrowedToTheOwner) {
  fs::create_directories(dir_ / "dev");
  fs::permissions(dir_ / "dev", fs::perms::all);
  save_state(dir_ / "dev", state());
  EXPECT_EQ(mode_of(dir_ / "dev"), 0700u);
}

TEST_F(PrivateFiles, TheDeviceStateIsNeverWrittenThroughAPlantedLink) {
  plant_link(dir_ / "dev", "device.json.tmp");
  save_state(dir_ / "dev", state());
  EXPECT_EQ(read(dir_ / "stolen"), "");
  EXPECT_TRUE(regular(dir_ / "dev" / "device.json"));
  EXPECT_EQ(mode_of(dir_ / "dev" / "device.json"), 0600u);
}

TEST_F(PrivateFiles, APlantedWorldReadableTemporaryFileIsNotReused) {
  fs::create_directories(dir_ / "dev");
  { std::ofstream(dir_ / "dev" / "device.json.tmp") << ""; }
  fs::permissions(dir_ / "dev" / "device.json.tmp", fs::perms::all);
  save_state(dir_ / "dev", state());
  EXPECT_EQ(mode_of(dir_ / "dev" / "device.json"), 0600u);
  EXPECT_EQ(read(dir_ / "dev" / "device.json.tmp"), "");
}

TEST_F(PrivateFiles, ReplacingAWiderFileLeavesItOwnerOnly) {
  { std::ofstream(dir_ / "f") << "old"; }
  fs::permissions(dir_ / "f", fs::perms::all);
  files::write_private_file(dir_ / "f", "new");
  EXPECT_EQ(read(dir_ / "f"), "new");
  EXPECT_EQ(mode_of(dir_ / "f"), 0600u);
  // Nothing else is left in the folder: no temporary file survives.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(PrivateFiles, ARestrictiveUmaskStillYieldsExactlyOwnerReadWrite) {
  ::umask(0277);
  files::write_private_file(dir_ / "f", "x");
  EXPECT_EQ(mode_of(dir_ / "f"), 0600u);
  files::write_private_file(dir_ / "f", "y");  // and the owner can replace it again
  EXPECT_EQ(read(dir_ / "f"), "y");
}

TEST_F(PrivateFiles, TheSoftwareKeyFileIsOwnerOnlyAndNeverWrittenThroughAPlantedLink) {
  plant_link(dir_ / "dev", "software-keys.json.tmp");
  auto ks = SoftwareKeyStore::open(dir_ / "dev", "a passphrase");
  ks->generate_device_keys("laptop");
  EXPECT_EQ(read(dir_ / "stolen"), "");
  EXPECT_TRUE(regular(dir_ / "dev" / "software-keys.json"));
  EXPECT_EQ(mode_of(dir_ / "dev" / "software-keys.json"), 0600u);
}

}  // namespace
}  // namespace hopbox
