#include "identifier.h"

#include <gtest/gtest.h>

#include <vector>

namespace hopbox_ca {
namespace {

struct Pair {
  const char* existing;
  const char* candidate;
  bool refused;  // refused as confusable with `existing` (or as mixed-script / invalid)
  const char* why;
};

// New identifiers checked against one that exists: refused when a reader could mistake them,
// accepted when they merely look alike to a machine.
const Pair kPairs[] = {
    {"alice", "\xD0\xB0lice", true, "Cyrillic a in a Latin name (mixed scripts)"},
    {"modern", "rnodern", true, "rn for m"},
    {"mallory", "rnallory", true, "rn for m"},
    {"paypal", "\xD1\x80\xD0\xB0\xD1\x83\xD1\x80\xD0\xB0l", true, "Cyrillic letters, Latin l"},
    {"scope", "\xD1\x95\xD1\x81\xD0\xBE\xD1\x80\xD0\xB5", true, "all-Cyrillic look-alike"},
    {"carol", "caro1", true, "digit one for l"},
    {"william", "wi11iam", true, "digit ones for l"},
    {"frank", "fr\xD0\xB0nk", true, "Cyrillic a"},
    {"heidi",
     "\xD2\xBB"
     "eidi",
     true, "Cyrillic shha for h"},
    {"ivan", "\xD1\x96van", true, "Ukrainian i"},
    {"peggy", "p\xD0\xB5ggy", true, "Cyrillic ie"},
    {"olivia", "\xCE\xBFlivia", true, "Greek omicron (mixed scripts)"},
    {"bob", "BOB", true, "same after case folding"},
    {"dave", "dave\xE2\x80\x8B", true, "zero-width space is folded away"},
    {"erin", "\xEF\xBD\x85\xEF\xBD\x92\xEF\xBD\x89\xEF\xBD\x8E", true, "fullwidth letters"},
    {"alice", "alicia", false, "a different name"},
    {"bob", "rob", false, "a different name"},
    {"trent", "trend", false, "a different name"},
    {"ivan", "\xD0\xB8\xD0\xB2\xD0\xB0\xD0\xBD", false, "Cyrillic ivan does not look like ivan"},
    {"alpha", "\xCE\xB1\xCE\xBB\xCF\x86\xCE\xB1", false, "Greek alpha, single script"},
    {"mike", "nike", false, "a different name"},
    {"user.one", "user-one", false, "dot and dash are distinct"},
    {"anna", "anna2", false, "a digit added"},
};

class IdentifierPairs : public ::testing::TestWithParam<Pair> {};

TEST_P(IdentifierPairs, RefusedExactlyWhenConfusable) {
  const IdentifierPolicy policy;
  const Pair& p = GetParam();
  const std::string existing = policy.normalize(p.existing);
  bool refused = false;
  try {
    const std::string candidate = policy.normalize(p.candidate);
    refused = candidate == existing || policy.skeleton(candidate) == policy.skeleton(existing);
  } catch (const IdentifierRefused&) {
    refused = true;
  }
  EXPECT_EQ(refused, p.refused) << p.existing << " / " << p.candidate << ": " << p.why;
}

INSTANTIATE_TEST_SUITE_P(Table, IdentifierPairs, ::testing::ValuesIn(kPairs));

TEST(Identifier, NormalizesToFoldedNfkc) {
  const IdentifierPolicy policy;
  EXPECT_EQ(policy.normalize("Alice"), "alice");
  EXPECT_EQ(policy.normalize("Stra\xC3\x9F"
                             "e"),
            "strasse");
  EXPECT_EQ(policy.normalize("\xEF\xBC\xA1"
                             "bc"),
            "abc");
}

TEST(Identifier, InvalidCharactersAndLengthsAreRefused) {
  const IdentifierPolicy policy;
  for (const std::string& bad :
       std::vector<std::string>{"", "alice smith", "alice!", "a/b", "tab\tname", "\xF0\x9F\x98\x80",
                                "bad\xFFutf8", std::string(65, 'a')}) {
    EXPECT_THROW(policy.normalize(bad), IdentifierRefused) << bad;
  }
  EXPECT_NO_THROW(policy.normalize(std::string(64, 'a')));
  EXPECT_NO_THROW(policy.normalize("alice@example.org"));
}

}  // namespace
}  // namespace hopbox_ca
