#include "ca_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "ca_service.h"

namespace hopbox_ca {
namespace {

namespace fs = std::filesystem;

class CaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("hopbox-ca-store-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = std::make_unique<CaStore>((dir_ / "ca.db").string());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  // same_keys: whether the request carries the keys of the certificate issued before.
  EnrollOutcome enroll(const std::string& id, const std::string& code, std::int64_t now,
                       bool same_keys = false) {
    Bytes out;
    return store_->enroll(
        id, hash_code(code), now, [same_keys](const Bytes&) { return same_keys; },
        [](std::int64_t serial) { return Bytes(1, std::uint8_t(serial)); }, out);
  }
  fs::path dir_;
  std::unique_ptr<CaStore> store_;
};

TEST_F(CaStoreTest, ConfusableSkeletonOfAnOpenInviteIsFound) {
  store_->put_invite("modern", "rnodern", hash_code("AAAA"), 100);
  EXPECT_EQ(store_->confusable_with("rnodern", "rnodern"), "modern");
  EXPECT_EQ(store_->confusable_with("modern", "rnodern"), std::nullopt);
}

TEST_F(CaStoreTest, WrongCodesBurnTheInvitation) {
  store_->put_invite("alice", "alice", hash_code("GOOD-CODE"), 100);
  for (int i = 0; i < CaStore::kMaxCodeAttempts; ++i) {
    EXPECT_EQ(enroll("alice", "WRONG", 50), EnrollOutcome::kWrongCode);
  }
  EXPECT_EQ(enroll("alice", "GOOD-CODE", 50), EnrollOutcome::kNoInvite);
}

TEST_F(CaStoreTest, ExpiredCodeIsRefused) {
  store_->put_invite("alice", "alice", hash_code("CODE"), 100);
  EXPECT_EQ(enroll("alice", "CODE", 101), EnrollOutcome::kExpired);
}

TEST_F(CaStoreTest, CodeIsUsableOnceAndIdentifierOnce) {
  store_->put_invite("alice", "alice", hash_code("ABCD-EFGH"), 100);
  EXPECT_EQ(enroll("alice", "abcd efgh", 50), EnrollOutcome::kIssued);
  EXPECT_EQ(enroll("alice", "ABCD-EFGH", 50), EnrollOutcome::kAlreadyCertified);
  EXPECT_TRUE(store_->is_certified("alice"));
  ASSERT_EQ(store_->certificates().size(), 1u);
  EXPECT_EQ(store_->certificates()[0].serial, 2);
  // The same keys and code resume (no new certificate) until the enrollment is confirmed.
  EXPECT_EQ(enroll("alice", "ABCD-EFGH", 60, true), EnrollOutcome::kResumed);
  EXPECT_EQ(enroll("alice", "WRONG", 60, true), EnrollOutcome::kAlreadyCertified);
  EXPECT_EQ(store_->certificates().size(), 1u);
  EXPECT_TRUE(store_->confirm_enrollment("alice", store_->certificates()[0].fingerprint, 70));
  EXPECT_EQ(enroll("alice", "ABCD-EFGH", 80, true), EnrollOutcome::kAlreadyCertified);
  EXPECT_EQ(store_->reset_identity("alice", 90), ResetOutcome::kConfirmed);
}

TEST_F(CaStoreTest, FailedIssuingLeavesTheInvitationOpen) {
  store_->put_invite("alice", "alice", hash_code("CODE"), 100);
  Bytes out;
  EXPECT_THROW(store_->enroll(
                   "alice", hash_code("CODE"), 50, [](const Bytes&) { return false; },
                   [](std::int64_t) -> Bytes { throw std::runtime_error("no"); }, out),
               std::runtime_error);
  EXPECT_FALSE(store_->is_certified("alice"));
  EXPECT_EQ(enroll("alice", "CODE", 50), EnrollOutcome::kIssued);
}

TEST_F(CaStoreTest, RevocationIsRecordedOnce) {
  const Bytes f(32, 7);
  EXPECT_TRUE(store_->revoke(f, "alice", 10, "test"));
  EXPECT_FALSE(store_->revoke(f, "alice", 11, "test"));
  EXPECT_EQ(store_->revoked_fingerprints(), std::vector<Bytes>{f});
}

}  // namespace
}  // namespace hopbox_ca
