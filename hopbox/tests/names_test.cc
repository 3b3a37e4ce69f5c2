// The name rules and the name key's derivations (names.h), without a service.
#include "names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hopbox::names {
namespace {

TEST(NameRules, AFileSystemsNamesAreAcceptedAndNothingElse) {
  EXPECT_TRUE(
      valid_name("\xC3\x9C"
                 "berweisung M\xC3\xA4rz 2026.pdf"));
  EXPECT_TRUE(valid_name(".hidden"));
  EXPECT_TRUE(valid_name(std::string(240, 'a')));
  EXPECT_FALSE(valid_name(std::string(241, 'a')));      // NAME.hopbox-partial must fit in 255
  EXPECT_TRUE(valid_name("caf\xC3\xA9 \xC2\xA0nbsp"));  // U+00A0 is not a control
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a/b", std::string("a\0b", 3), "\xff", "\xC3",
                                "\xC0\xAF", "\xED\xA0\x80"}) {  // overlong, surrogate
    EXPECT_FALSE(valid_name(bad)) << bad;
  }
  // Controls would reach the terminal of whoever lists a sharer's items: a carriage return
  // and an escape fake a line, C1 controls (U+0085, U+009B) act as newline or CSI.
  for (const std::string& bad :
       std::vector<std::string>{"x\r\x1b[2Kalice/taxes.pdf", "a\nb", "tab\there", "del\x7f",
                                "c1\xC2\x85", "csi\xC2\x9B"}) {
    EXPECT_FALSE(valid_name(bad)) << bad;
  }
}

TEST(NameRules, FoldersAreNormalizedAndBounded) {
  EXPECT_EQ(normalize_folder("/Steuern//2026/"), "Steuern/2026");
  EXPECT_EQ(normalize_folder(""), "");
  EXPECT_FALSE(normalize_folder("a/../b"));
  EXPECT_FALSE(normalize_folder("./a"));
  EXPECT_TRUE(normalize_folder(std::string(4, 'x') + "/" + std::string(240, 'y')));
  EXPECT_FALSE(normalize_folder(std::string(4, 'x') + "/" + std::string(241, 'y')));
  std::string deep;
  for (int i = 0; i < 5; ++i) deep += std::string(250, 'z') + "/";
  EXPECT_FALSE(normalize_folder(deep));  // more than 1024 bytes
}

TEST(NameRules, IdsAreKeyedAndDependOnFolderAndName) {
  const NameKey k = NameKey::generate(), other = NameKey::generate();
  const std::string id = item_id(k, "a/b", "c");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id, item_id(k, "a/b", "c"));
  EXPECT_NE(id, item_id(other, "a/b", "c"));
  EXPECT_NE(id, item_id(k, "", "c"));
  EXPECT_EQ(folder_label(k, ""), "");
  EXPECT_NE(folder_label(k, "a"), folder_label(k, "a/b"));  // a subfolder is another folder
  EXPECT_NE(folder_label(k, "a"), item_id(k, "", "a"));
}

TEST(NameRules, ASealedNameOpensOnlyForItsOwnerItemAndKey) {
  const NameKey k = NameKey::generate();
  const Path p{"Steuern/2026",
               "\xC3\x9C"
               "berweisung.pdf"};
  const std::string id = item_id(k, p.folder, p.name);
  const std::string sealed = seal(k, "alice", id, p);
  const auto opened = open(k, "alice", id, sealed);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->folder, p.folder);
  EXPECT_EQ(opened->name, p.name);
  EXPECT_FALSE(open(k, "bob", id, sealed));
  EXPECT_FALSE(open(NameKey::generate(), "alice", id, sealed));
  // Moved to another item of the same owner: refused.
  const std::string other_id = item_id(k, "", "other.txt");
  EXPECT_FALSE(open(k, "alice", other_id, sealed));
  std::string flipped = sealed;
  flipped[flipped.size() - 1] ^= 1;
  EXPECT_FALSE(open(k, "alice", id, flipped));
  EXPECT_FALSE(open(k, "alice", id, sealed.substr(0, 20)));
  // A path sealed under an id it does not give is refused too.
  EXPECT_FALSE(open(k, "alice", other_id, seal(k, "alice", other_id, p)));
}

}  // namespace
}  // namespace hopbox::names
