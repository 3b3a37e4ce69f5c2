// The sealed item of an access request (hopbox/src/access.h): opens for its owner's key and
// for exactly the requester and owner it was sealed for, and holds a valid path.
#include "access.h"

#include <gtest/gtest.h>

#include <string>

namespace hopbox::access {
namespace {

const names::Path kPath{"Fotos/\xC3\x89t\xC3\xA9 2026", "plage 1.jpg"};

TEST(AccessSeal, OpensForItsOwnerAndRequesterOnly) {
  const mupre::SecretKey alice = mupre::SecretKey::generate(), other = mupre::SecretKey::generate();
  const std::string s = seal(alice.public_key(), "bob", "alice", kPath);
  const auto p = open(alice, "bob", "alice", s);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->folder, kPath.folder);
  EXPECT_EQ(p->name, kPath.name);
  EXPECT_FALSE(open(alice, "mallory", "alice", s).ok());
  EXPECT_FALSE(open(alice, "bob", "carol", s).ok());
  EXPECT_EQ(open(other, "bob", "alice", s).error(), mupre::Error::kWrongHolder);
  // "bo" + "b\0alice" must not read as "bob" + "alice".
  EXPECT_FALSE(open(alice, "bo", std::string("b\0alice", 7), s).ok());
}

TEST(AccessSeal, EveryRequestHasTheSameSizeWhateverThePath) {
  const mupre::SecretKey alice = mupre::SecretKey::generate();
  // Folders of at most 1024 bytes, names of at most 240.
  const std::string c(240, 'f');
  const names::Path longest{c + "/" + c + "/" + c + "/" + c + "/" + std::string(60, 'g'),
                            std::string(240, 'n')};
  ASSERT_EQ(longest.folder.size(), names::kMaxFolder);
  EXPECT_EQ(seal(alice.public_key(), "bob", "alice", {"", "a"}).size(), kSealedSize);
  EXPECT_EQ(seal(alice.public_key(), "bob", "alice", longest).size(), kSealedSize);
  EXPECT_TRUE(open(alice, "bob", "alice", seal(alice.public_key(), "bob", "alice", longest)).ok());
  EXPECT_LE(kSealedSize, kMaxSealedItem);
}

TEST(AccessSeal, AnyAlteredByteOrLengthIsRefused) {
  const mupre::SecretKey alice = mupre::SecretKey::generate();
  const std::string s = seal(alice.public_key(), "bob", "alice", kPath);
  // The format byte, the capsule, the nonce, the ciphertext and the tag.
  for (const std::size_t at :
       {std::size_t{0}, std::size_t{40}, std::size_t{372}, std::size_t{400}, s.size() - 1}) {
    std::string bad = s;
    bad[at] ^= 0x01;
    EXPECT_FALSE(open(alice, "bob", "alice", bad).ok()) << at;
  }
  EXPECT_FALSE(open(alice, "bob", "alice", s.substr(0, s.size() - 1)).ok());
  EXPECT_FALSE(open(alice, "bob", "alice", s + '\0').ok());
  EXPECT_FALSE(open(alice, "bob", "alice", "").ok());
}

TEST(AccessSeal, APathOutsideTheNameRulesIsRefusedWhenOpened) {
  const mupre::SecretKey alice = mupre::SecretKey::generate();
  // What a dishonest requester's client could seal: not what any file system names.
  for (const names::Path& p : {names::Path{"a//b", "c"}, names::Path{"", ".."},
                               names::Path{"a", "x\x1b[2J"}, names::Path{"..", "c"}}) {
    EXPECT_FALSE(open(alice, "bob", "alice", seal(alice.public_key(), "bob", "alice", p)).ok())
        << p.folder << "/" << p.name;
  }
}

}  // namespace
}  // namespace hopbox::access
