// Account takeover through the recovery protocols, tried against a real hopboxd process by a
// misbehaving client that speaks the real API: what an enrolled stranger, a recipient or a
// recovery user may send, and what the service must refuse.
#include <gtest/gtest.h>

#include <thread>

#include "certs/verify.h"
#include "test_client.h"

namespace hopboxd::test {
namespace {

using grpc::StatusCode;

class Takeover : public ::testing::Test {
 protected:
  // A day's waiting period, as deployed: nothing completes within a test unless it should.
  TestServer server_{{"--recovery-wait-seconds", "86400"}};
  std::unique_ptr<v1::Hopbox::Stub> stub_ = server_.stub();

  void account(const std::string& user, TestDevice& d) {
    const grpc::Status s = create_account(*stub_, user, d);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // `helper` protects `user` properly: an invitation from `user`'s primary.
  void protect(const TestDevice& user_primary, const std::string& user, const TestDevice& helper,
               const std::string& helper_name, TestDevice& recovery_key) {
    const grpc::Status s = register_recovery_key(
        *stub_, helper, user, make_invitation(user_primary, user, helper_name), recovery_key);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  std::vector<std::string> devices_seen_by(const TestDevice& who, const std::string& user) {
    grpc::ClientContext ctx;
    who.authorize(ctx);
    v1::ListDevicesRequest req;
    req.set_user(user);
    v1::ListDevicesResponse resp;
    EXPECT_TRUE(stub_->ListDevices(&ctx, req, &resp).ok());
    std::vector<std::string> keys;
    for (const auto& d : resp.devices()) keys.push_back(d.keys().encryption_key());
    return keys;
  }
};

TEST_F(Takeover, ARecoveryKeyNeedsTheProtectedUsersSignedInvitation) {
  TestDevice alice, bob, mallory, mallory_key;
  account("alice", alice);
  account("bob", bob);
  account("mallory", mallory);
  // No invitation at all.
  EXPECT_EQ(register_recovery_key(*stub_, mallory, "alice", v1::RecoveryInvitation(), mallory_key)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  // alice's genuine invitation to bob, replayed by mallory.
  const v1::RecoveryInvitation to_bob = make_invitation(alice, "alice", "bob");
  EXPECT_EQ(register_recovery_key(*stub_, mallory, "alice", to_bob, mallory_key).error_code(),
            StatusCode::PERMISSION_DENIED);
  // An invitation naming mallory, but signed by mallory's own key.
  EXPECT_EQ(register_recovery_key(*stub_, mallory, "alice",
                                  make_invitation(mallory, "alice", "mallory"), mallory_key)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  // One signed by alice's primary but expired.
  EXPECT_EQ(register_recovery_key(*stub_, mallory, "alice",
                                  make_invitation(alice, "alice", "mallory", -10), mallory_key)
                .error_code(),
            StatusCode::PERMISSION_DENIED);
  // The genuine one works for bob, and alice's primary hears it from the service.
  TestDevice bob_key;
  ASSERT_TRUE(register_recovery_key(*stub_, bob, "alice", to_bob, bob_key).ok());
  const auto inbox = inbox_of(*stub_, alice);
  ASSERT_EQ(inbox.size(), 1u);
  ASSERT_TRUE(inbox[0].has_recovery_accepted());
  EXPECT_EQ(inbox[0].recovery_accepted().invitation_nonce(), to_bob.nonce());
  EXPECT_EQ(inbox[0].recovery_accepted().recovery_key_device(), bob_key.id);
  EXPECT_EQ(inbox[0].from_user(), "bob");
}

TEST_F(Takeover, DevicesSendOnlyTheKindsTheyMaySendToWhomTheyMay) {
  TestDevice alice, alice2, mallory;
  account("alice", alice);
  ASSERT_TRUE(add_device(*stub_, alice, alice2).ok());
  account("mallory", mallory);
  // A "recovery accepted" is the service's to make: encoded into a SendNotificationRequest as
  // the Notification's field, it is not a kind a device can send and nothing is delivered.
  v1::Notification forged;
  forged.mutable_recovery_accepted()->set_recovery_key_device(mallory.id);
  v1::SendNotificationRequest base;
  base.set_to_device_id(alice.id);
  std::string wire = base.SerializeAsString();
  const std::string payload = forged.SerializeAsString();  // field 13 of Notification
  wire += payload;
  v1::SendNotificationRequest smuggled;
  ASSERT_TRUE(smuggled.ParseFromString(wire));
  EXPECT_EQ(send_notification(*stub_, mallory, smuggled).error_code(),
            StatusCode::INVALID_ARGUMENT);
  // An invitation naming another account as the protected one, or sent by a secondary.
  v1::SendNotificationRequest inv;
  inv.set_to_device_id(alice.id);
  *inv.mutable_recovery_invitation() = make_invitation(mallory, "bob", "alice");
  EXPECT_EQ(send_notification(*stub_, mallory, inv).error_code(), StatusCode::PERMISSION_DENIED);
  v1::SendNotificationRequest from_secondary;
  from_secondary.set_to_device_id(mallory.id);
  *from_secondary.mutable_recovery_invitation() = make_invitation(alice2, "alice", "mallory");
  EXPECT_EQ(send_notification(*stub_, alice2, from_secondary).error_code(),
            StatusCode::INVALID_ARGUMENT);
  // A refusal to a device that never asked mallory.
  v1::SendNotificationRequest refusal;
  refusal.set_to_device_id(alice2.id);
  refusal.mutable_recovery_refused();
  EXPECT_EQ(send_notification(*stub_, mallory, refusal).error_code(),
            StatusCode::PERMISSION_DENIED);
  // Access requests go to another account's primary only.
  v1::SendNotificationRequest ask;
  ask.set_to_device_id(alice2.id);
  ask.mutable_access_request()->set_message("x");
  EXPECT_EQ(send_notification(*stub_, mallory, ask).error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(inbox_of(*stub_, alice).empty());
  EXPECT_TRUE(inbox_of(*stub_, alice2).empty());
  // And one account cannot flood another's inbox.
  ask.set_to_device_id(alice.id);
  int accepted = 0;
  grpc::Status last;
  for (int i = 0; i < 20 && (last = send_notification(*stub_, mallory, ask)).ok(); ++i) ++accepted;
  EXPECT_EQ(accepted, 16);
  EXPECT_EQ(last.error_code(), StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(Takeover, ARecoveryRequestIsTheNewKeysOwnAndHiddenFromStrangers) {
  TestDevice alice, bob, bob_key, mallory, fresh;
  account("alice", alice);
  account("bob", bob);
  account("mallory", mallory);
  protect(alice, "alice", bob, "bob", bob_key);
  // Signed by another key than the one it registers.
  {
    TestDevice impostor;
    grpc::ClientContext ctx;
    v1::RequestRecoveryRequest req;
    req.set_user("alice");
    req.set_device_name("new");
    *req.mutable_keys() = fresh.keys();
    req.add_via("bob");
    req.set_requested_at(std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
    const std::string pk = fresh.keys().encryption_key();
    const auto msg = hopbox::certs::recovery_request_message(
        "alice", "new", std::vector<std::uint8_t>(pk.begin(), pk.end()), req.requested_at(),
        {"bob"});
    req.set_signature(impostor.sign_message(std::string(msg.begin(), msg.end())));
    v1::RequestRecoveryResponse resp;
    EXPECT_EQ(stub_->RequestRecovery(&ctx, req, &resp).error_code(), StatusCode::UNAUTHENTICATED);
    // Unsigned.
    grpc::ClientContext c2;
    req.clear_signature();
    EXPECT_EQ(stub_->RequestRecovery(&c2, req, &resp).error_code(), StatusCode::UNAUTHENTICATED);
  }
  // Naming a recovery user who does not protect alice: the same answer as for bob (nobody
  // learns whom alice trusts), but mallory is not asked.
  TestDevice probe;
  ASSERT_TRUE(request_recovery(*stub_, "alice", {"mallory"}, probe).ok());
  EXPECT_TRUE(inbox_of(*stub_, mallory).empty());
  std::int64_t not_before = 0;
  ASSERT_TRUE(request_recovery(*stub_, "alice", {"bob"}, fresh, &not_before).ok());
  EXPECT_GT(not_before, 0);
  // bob's request carries the exact keys; nobody else sees the pending device listed.
  // (bob, a recovery user of alice, hears of every recovery of hers: the probe's too.)
  std::vector<v1::Notification> asked;
  for (const auto& n : inbox_of(*stub_, bob)) {
    if (n.has_recovery_request()) asked.push_back(n);
  }
  ASSERT_EQ(asked.size(), 1u);
  EXPECT_EQ(asked[0].recovery_request().keys().encryption_key(), fresh.keys().encryption_key());
  EXPECT_EQ(asked[0].recovery_request().keys().signing_key(), fresh.keys().signing_key());
  for (const TestDevice* other : {&mallory, &bob}) {
    for (const auto& k : devices_seen_by(*other, "alice")) {
      EXPECT_NE(k, fresh.keys().encryption_key());
    }
  }
  // alice's own primary is told (after bob's acceptance of her invitation).
  const auto told = inbox_of(*stub_, alice);
  ASSERT_EQ(told.size(), 3u);  // bob's acceptance, then both requests
  ASSERT_TRUE(told[2].has_recovery_started());
  EXPECT_EQ(told[2].recovery_started().device_id(), fresh.id);
  EXPECT_EQ(told[2].recovery_started().not_before(), not_before);
}

// Whom a user protects shows to that user and to the protected user only; the protected
// user's primary withdraws a recovery user's key, and with it every say in its recoveries.
TEST_F(Takeover, ProtectorsAreNotListedToOthersAndARemovedOneKeepsNoSay) {
  TestDevice alice, alice2, bob, carol, bob_key;
  account("alice", alice);
  ASSERT_TRUE(add_device(*stub_, alice, alice2).ok());
  account("bob", bob);
  account("carol", carol);
  protect(alice, "alice", bob, "bob", bob_key);
  const std::string key = bob_key.keys().encryption_key();
  auto lists = [&](const TestDevice& who) {
    const auto seen = devices_seen_by(who, "bob");
    return std::find(seen.begin(), seen.end(), key) != seen.end();
  };
  EXPECT_FALSE(lists(carol));
  EXPECT_TRUE(lists(alice));
  EXPECT_TRUE(lists(bob));
  const auto remove = [&](const TestDevice& caller) {
    grpc::ClientContext ctx;
    caller.authorize(ctx);
    v1::RemoveDeviceRequest req;
    req.set_device_id(bob_key.id);
    v1::RemoveDeviceResponse resp;
    return stub_->RemoveDevice(&ctx, req, &resp);
  };
  EXPECT_EQ(remove(carol).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(remove(alice2).error_code(), StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(remove(alice).ok());
  EXPECT_FALSE(lists(alice));
  // A recovery of alice via bob now asks nobody, and bob cannot end it by refusing.
  TestDevice fresh;
  ASSERT_TRUE(request_recovery(*stub_, "alice", {"bob"}, fresh).ok());
  EXPECT_TRUE(inbox_of(*stub_, bob).empty());
  v1::SendNotificationRequest refusal;
  refusal.set_to_device_id(fresh.id);
  refusal.mutable_recovery_refused();
  EXPECT_FALSE(send_notification(*stub_, bob, refusal).ok());
  grpc::ClientContext ctx;
  alice.authorize(ctx);
  v1::ListRecoveriesResponse listed;
  ASSERT_TRUE(stub_->ListRecoveries(&ctx, v1::ListRecoveriesRequest(), &listed).ok());
  ASSERT_EQ(listed.recoveries_size(), 1);
  EXPECT_EQ(listed.recoveries(0).via_size(), 0);
}

TEST_F(Takeover, NoPromotionWithoutACompletedRecoveryOfThatDevice) {
  TestDevice alice, alice2, bob;
  account("alice", alice);
  ASSERT_TRUE(add_device(*stub_, alice, alice2).ok());
  account("bob", bob);
  const auto promote = [&](const TestDevice& caller) {
    grpc::ClientContext ctx;
    caller.authorize(ctx);
    v1::PromoteDeviceRequest req;
    req.set_lost_device_id(alice.id);
    v1::PromoteDeviceResponse resp;
    return stub_->PromoteDevice(&ctx, req, &resp);
  };
  // Not announced: refused.
  EXPECT_EQ(promote(alice2).error_code(), StatusCode::FAILED_PRECONDITION);
  // Announced: the primary is told and the waiting period runs; a second announcement does not
  // restart it.
  grpc::ClientContext ctx;
  alice2.authorize(ctx);
  v1::AnnouncePromotionResponse announced;
  ASSERT_TRUE(stub_->AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &announced).ok());
  EXPECT_GT(announced.not_before(), 0);
  const grpc::Status waiting = promote(alice2);
  EXPECT_EQ(waiting.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(waiting.error_message().find("waiting period"), std::string::npos);
  const auto told = inbox_of(*stub_, alice);
  ASSERT_EQ(told.size(), 1u);
  ASSERT_TRUE(told[0].has_recovery_started());
  EXPECT_FALSE(told[0].recovery_started().new_device());
  // Another account cannot see or cancel it; the primary cancels it.
  const auto cancel = [&](const TestDevice& caller, std::int64_t device) {
    grpc::ClientContext c;
    caller.authorize(c);
    v1::CancelRecoveryRequest req;
    req.set_device_id(device);
    v1::CancelRecoveryResponse resp;
    return stub_->CancelRecovery(&c, req, &resp);
  };
  EXPECT_EQ(cancel(bob, alice2.id).error_code(), StatusCode::NOT_FOUND);
  ASSERT_TRUE(cancel(alice, alice2.id).ok());
  EXPECT_EQ(promote(alice2).error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(cancel(alice, alice2.id).error_code(), StatusCode::NOT_FOUND);
  // The primary still works.
  EXPECT_TRUE(upload_item(*stub_, alice, "alice", "x", "still mine").ok());
}

// A (stolen) secondary announces and cancels in a loop to fill the primary's inbox, so that a
// later, real announcement would reach nobody: the newest always arrives, and the inbox does not
// grow.
TEST_F(Takeover, AnnouncementsCannotBeCrowdedOutOrFloodAnInbox) {
  TestDevice alice, alice2, alice3;
  account("alice", alice);
  ASSERT_TRUE(add_device(*stub_, alice, alice2).ok());
  ASSERT_TRUE(add_device(*stub_, alice, alice3).ok());
  const auto announce = [&](const TestDevice& d) {
    grpc::ClientContext ctx;
    d.authorize(ctx);
    v1::AnnouncePromotionResponse resp;
    return stub_->AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp);
  };
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(announce(alice2).ok());
    grpc::ClientContext ctx;
    alice2.authorize(ctx);
    v1::CancelRecoveryRequest req;
    req.set_device_id(alice2.id);
    v1::CancelRecoveryResponse resp;
    ASSERT_TRUE(stub_->CancelRecovery(&ctx, req, &resp).ok());
  }
  ASSERT_TRUE(announce(alice3).ok());  // the real one
  const auto inbox = inbox_of(*stub_, alice);
  EXPECT_LE(inbox.size(), 32u);
  ASSERT_FALSE(inbox.empty());
  bool newest_arrived = false;
  for (const auto& n : inbox) {
    newest_arrived |= n.has_recovery_started() && n.recovery_started().device_id() == alice3.id;
  }
  EXPECT_TRUE(newest_arrived);
}

TEST_F(Takeover, StrangersCannotBlockAGenuineRecovery) {
  TestDevice alice, bob, bob_key;
  account("alice", alice);
  account("bob", bob);
  protect(alice, "alice", bob, "bob", bob_key);
  // A stranger fills every place with requests of its own.
  std::vector<TestDevice> junk(8);
  for (auto& d : junk) ASSERT_TRUE(request_recovery(*stub_, "alice", {"bob"}, d).ok());
  TestDevice genuine;
  EXPECT_EQ(request_recovery(*stub_, "alice", {"bob"}, genuine).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
  // bob refuses one (the only recovery user it asked): that request ends at once and frees its
  // place; alice's devices cancel the rest.
  v1::SendNotificationRequest refusal;
  refusal.set_to_device_id(junk[0].id);
  refusal.mutable_recovery_refused();
  ASSERT_TRUE(send_notification(*stub_, bob, refusal).ok());
  grpc::ClientContext ctx;
  alice.authorize(ctx);
  v1::ListRecoveriesResponse listed;
  ASSERT_TRUE(stub_->ListRecoveries(&ctx, v1::ListRecoveriesRequest(), &listed).ok());
  EXPECT_EQ(listed.recoveries_size(), 7);
  ASSERT_TRUE(request_recovery(*stub_, "alice", {"bob"}, genuine).ok());
  // The refused device is gone: it cannot sign in.
  EXPECT_FALSE(junk[0].login(*stub_).ok());
}

// alice lost every device, so nobody can cancel the strangers' requests, and they refill as
// fast as bob refuses. alice reads her new device's code to bob by phone; bob vouches for it,
// and it enters in the place of the oldest request nobody vouched for. Nobody else can vouch.
TEST_F(Takeover, AVouchedRequestEntersEvenWhenStrangersFillEveryPlace) {
  TestDevice alice, bob, carol, bob_key;
  account("alice", alice);
  account("bob", bob);
  account("carol", carol);
  protect(alice, "alice", bob, "bob", bob_key);
  std::vector<TestDevice> junk(8);
  for (auto& d : junk) ASSERT_TRUE(request_recovery(*stub_, "alice", {"bob"}, d).ok());
  TestDevice genuine;
  const grpc::Status full = request_recovery(*stub_, "alice", {"bob"}, genuine);
  EXPECT_EQ(full.error_code(), StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(full.error_message().find("recovery expect"), std::string::npos);
  const std::string sk = genuine.keys().signing_key(), ek = genuine.keys().encryption_key();
  const std::string code = hopbox::certs::safety_number({"alice",
                                                         hopbox::certs::Bytes(sk.begin(), sk.end()),
                                                         hopbox::certs::Bytes(ek.begin(), ek.end()),
                                                         {}});
  const auto vouch = [&](const TestDevice& who, const std::string& for_user, const std::string& c) {
    grpc::ClientContext ctx;
    who.authorize(ctx);
    v1::ExpectRecoveryRequest req;
    req.set_protected_user(for_user);
    req.set_key_code(c);
    v1::ExpectRecoveryResponse resp;
    return stub_->ExpectRecovery(&ctx, req, &resp);
  };
  // carol does not protect alice; a stranger's own request vouches for nothing; bad codes.
  EXPECT_EQ(vouch(carol, "alice", code).error_code(), StatusCode::NOT_FOUND);
  EXPECT_EQ(vouch(bob, "alice", "12345").error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(request_recovery(*stub_, "alice", {"bob"}, genuine).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
  ASSERT_TRUE(vouch(bob, "alice", code).ok());
  ASSERT_TRUE(request_recovery(*stub_, "alice", {"bob"}, genuine).ok());
  // The oldest stranger's request made way; the rest stand; the places stay bounded.
  EXPECT_FALSE(junk[0].login(*stub_).ok());
  EXPECT_TRUE(junk[1].login(*stub_).ok());
  TestDevice more;
  EXPECT_EQ(request_recovery(*stub_, "alice", {"bob"}, more).error_code(),
            StatusCode::RESOURCE_EXHAUSTED);
  // bob is asked about the genuine device, with its exact keys.
  bool asked = false;
  for (const auto& n : inbox_of(*stub_, bob)) {
    asked |= n.has_recovery_request() && n.recovery_request().keys().encryption_key() == ek;
  }
  EXPECT_TRUE(asked);
}

// A stranger's request makes a pending device that signs in as the protected account. It may
// do only what its recovery needs; it must not see what the account's own devices see: whom
// the account is protected by, nor the keys of other pending requests (the genuine one's).
TEST_F(Takeover, AStrangersPendingDeviceLearnsNoProtectorNorOtherRequests) {
  TestDevice alice, bob, bob_key, mallory, genuine, probe;
  account("alice", alice);
  account("bob", bob);
  account("mallory", mallory);
  protect(alice, "alice", bob, "bob", bob_key);
  ASSERT_TRUE(request_recovery(*stub_, "alice", {"bob"}, genuine).ok());
  // mallory names nobody who protects alice: the answer is the same, nobody is asked.
  ASSERT_TRUE(request_recovery(*stub_, "alice", {"mallory"}, probe).ok());
  ASSERT_TRUE(probe.login(*stub_).ok());
  // Whom does bob protect? Only bob and alice may know.
  for (const auto& k : devices_seen_by(probe, "bob")) {
    EXPECT_NE(k, bob_key.keys().encryption_key()) << "a stranger's pending device sees bob's "
                                                     "recovery key for alice";
  }
  for (const auto& k : devices_seen_by(probe, "alice")) {
    EXPECT_NE(k, genuine.keys().encryption_key())
        << "a stranger's pending device sees the genuine pending device's keys";
  }
}

// alice's primary removes bob's recovery key: bob must keep no say in her recoveries. The
// invitation he answered is still within its week; answering it again would make him a
// recovery user of alice once more (asked, refusing, vouching), without a new invitation.
// An invitation registers one key, once.
TEST_F(Takeover, ARemovedRecoveryUserCannotReplayTheInvitationHeAnswered) {
  TestDevice alice, bob, bob_key, bob_key2;
  account("alice", alice);
  account("bob", bob);
  const v1::RecoveryInvitation invitation = make_invitation(alice, "alice", "bob");
  ASSERT_TRUE(register_recovery_key(*stub_, bob, "alice", invitation, bob_key).ok());
  {
    grpc::ClientContext ctx;
    alice.authorize(ctx);
    v1::RemoveDeviceRequest req;
    req.set_device_id(bob_key.id);
    v1::RemoveDeviceResponse resp;
    ASSERT_TRUE(stub_->RemoveDevice(&ctx, req, &resp).ok());
  }
  const grpc::Status replayed = register_recovery_key(*stub_, bob, "alice", invitation, bob_key2);
  EXPECT_FALSE(replayed.ok()) << "bob registered a recovery key for alice again with the "
                                 "invitation he had used already";
  // What that gives him: his vouch counts again.
  grpc::ClientContext ctx;
  bob.authorize(ctx);
  v1::ExpectRecoveryRequest req;
  req.set_protected_user("alice");
  req.set_key_code(std::string(25, '1'));
  v1::ExpectRecoveryResponse resp;
  EXPECT_EQ(stub_->ExpectRecovery(&ctx, req, &resp).error_code(), StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace hopboxd::test
