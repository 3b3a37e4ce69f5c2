// The chain search grammar on graphs of devices, users, shares, recovery edges, expiry.
#include "chain_search.h"

#include <gtest/gtest.h>

namespace hopboxd {
namespace {

// Users: alice = 1, bob = 2, carol = 3, rita (recovery user) = 4.
// Device keys: alice a1 (primary) 11, a2 12, a3 13; bob b1 21, b2 22; carol c1 31;
// rita's recovery key for alice 41, for bob 42.
constexpr UserId kAlice = 1, kBob = 2, kCarol = 3;

Edge own(EdgeId id, DeviceKeyId from, DeviceKeyId to, UserId user) {
  return Edge{id, from, to, EdgeKind::kOwnDevice, user, {}, std::nullopt, 0};
}
Edge share(EdgeId id, DeviceKeyId from, DeviceKeyId to, UserId sharer, SharePolicy p = {}) {
  return Edge{id, from, to, EdgeKind::kShare, sharer, std::move(p), std::nullopt, 0};
}
Edge recovery(EdgeId id, DeviceKeyId from, DeviceKeyId to, UserId protected_user) {
  return Edge{id, from, to, EdgeKind::kRecovery, protected_user, {}, std::nullopt, 0};
}

ChainQuery query(const std::string& item, UserId owner, DeviceKeyId holder, DeviceKeyId target,
                 UserId requester, const std::string& folder = "") {
  ChainQuery q;
  q.item = ItemView{item, owner, folder};
  q.holder = holder;
  q.target = target;
  q.requester = requester;
  q.now = 1000;
  return q;
}

std::vector<Edge> base_graph() {
  return {
      own(1, 11, 12, kAlice),      own(2, 12, 13, kAlice),      own(3, 11, 13, kAlice),
      own(4, 21, 22, kBob),        share(5, 11, 21, kAlice),    share(6, 21, 31, kBob),
      recovery(7, 11, 41, kAlice), recovery(8, 41, 14, kAlice),  // alice's new device 14
      recovery(9, 21, 42, kBob),   recovery(10, 42, 23, kBob),   // bob's new device 23
  };
}

TEST(ChainSearch, HolderIsTheTargetNeedsNoReencryption) {
  auto c = find_chain(query("x", kAlice, 11, 11, kAlice), base_graph());
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->empty());
}

TEST(ChainSearch, OwnDevicesTakeTheShortestPath) {
  auto c = find_chain(query("x", kAlice, 11, 13, kAlice), base_graph());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (std::vector<EdgeId>{3}));  // direct, not 11 -> 12 -> 13
}

TEST(ChainSearch, OneShareThenTheRequestersOwnDevices) {
  auto c = find_chain(query("x", kAlice, 11, 22, kBob), base_graph());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (std::vector<EdgeId>{5, 4}));
}

TEST(ChainSearch, ASecondShareEdgeIsNeverFollowed) {
  // alice -> bob -> carol would re-share alice's item: refused.
  EXPECT_FALSE(find_chain(query("x", kAlice, 11, 31, kCarol), base_graph()).has_value());
  // bob's own item reaches carol through bob's share.
  auto c = find_chain(query("y", kBob, 21, 31, kCarol), base_graph());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (std::vector<EdgeId>{6}));
}

TEST(ChainSearch, AShareEdgeOnlyCarriesTheSharersItems) {
  // bob's share to carol does not admit alice's items even if bob holds them.
  auto g = base_graph();
  EXPECT_FALSE(find_chain(query("x", kAlice, 21, 31, kCarol), g).has_value());
}

TEST(ChainSearch, RecoveryEdgesCarryOnlyTheirUsersData) {
  // alice's new device reaches alice's items through the recovery key.
  auto c = find_chain(query("x", kAlice, 11, 14, kAlice), base_graph());
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (std::vector<EdgeId>{7, 8}));
  // bob's recovery edges carry alice's item shared with bob to bob's new device ...
  auto shared = find_chain(query("x", kAlice, 11, 23, kBob), base_graph());
  ASSERT_TRUE(shared.has_value());
  EXPECT_EQ(*shared, (std::vector<EdgeId>{5, 9, 10}));
  // ... but alice's recovery edges never carry bob's items, even were they to connect.
  auto g = base_graph();
  g.push_back(own(11, 23, 11, kBob));  // (nonsense edge from bob's device to alice's key)
  EXPECT_FALSE(find_chain(query("y", kBob, 21, 14, kAlice), g).has_value());
}

TEST(ChainSearch, PoliciesSelectFoldersAndListedItems) {
  SharePolicy folder{SharePolicy::Scope::kFolder, "photos", {}};
  SharePolicy listed{SharePolicy::Scope::kListedItems, "", {"doc-1", "doc-2"}};
  std::vector<Edge> g = {share(1, 11, 21, kAlice, folder), share(2, 11, 31, kAlice, listed)};
  EXPECT_TRUE(find_chain(query("p", kAlice, 11, 21, kBob, "photos"), g).has_value());
  EXPECT_FALSE(find_chain(query("p", kAlice, 11, 21, kBob, "work"), g).has_value());
  EXPECT_FALSE(find_chain(query("p", kAlice, 11, 21, kBob, ""), g).has_value());
  EXPECT_TRUE(find_chain(query("doc-2", kAlice, 11, 31, kCarol), g).has_value());
  EXPECT_FALSE(find_chain(query("doc-3", kAlice, 11, 31, kCarol), g).has_value());
}

TEST(ChainSearch, ExpiredEdgesAreIgnored) {
  auto g = base_graph();
  g[4].expires = 1000;  // the share alice -> bob, expired at "now"
  EXPECT_FALSE(find_chain(query("x", kAlice, 11, 22, kBob), g).has_value());
  g[4].expires = 1001;
  EXPECT_TRUE(find_chain(query("x", kAlice, 11, 22, kBob), g).has_value());
  // An expired own-device edge forces the longer way round.
  g[2].expires = 5;  // 11 -> 13
  auto c = find_chain(query("x", kAlice, 11, 13, kAlice), g);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (std::vector<EdgeId>{1, 2}));
}

TEST(ChainSearch, RevokedEdgesAreAbsentAndChainsReroute) {
  auto g = base_graph();
  g.erase(g.begin() + 2);  // revoke 11 -> 13
  auto c = find_chain(query("x", kAlice, 11, 13, kAlice), g);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (std::vector<EdgeId>{1, 2}));
}

TEST(ChainSearch, ChainsLongerThanTheLevelLimitAreRefused) {
  // A line of 40 of alice's devices.
  std::vector<Edge> g;
  for (int i = 0; i < 40; ++i) g.push_back(own(i + 1, 100 + i, 101 + i, kAlice));
  auto q = query("x", kAlice, 100, 131, kAlice);
  auto c = find_chain(q, g);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->size(), 31u);
  q.target = 132;
  EXPECT_FALSE(find_chain(q, g).has_value());
  q.target = 105;
  q.max_hops = 4;  // a capsule already at level 28
  EXPECT_FALSE(find_chain(q, g).has_value());
}

TEST(ChainSearch, ManyUsersAndDevicesFindTheShortestAdmissibleChain) {
  // 50 users with 4 devices each in a ring of own-device edges; every user shares all items
  // with the next user's first device.
  std::vector<Edge> g;
  EdgeId id = 1;
  const auto dev = [](int user, int d) { return static_cast<DeviceKeyId>(1000 * user + d); };
  for (int u = 1; u <= 50; ++u) {
    for (int d = 0; d < 4; ++d) g.push_back(own(id++, dev(u, d), dev(u, (d + 1) % 4), u));
    g.push_back(share(id++, dev(u, 0), dev(u % 50 + 1, 0), u));
  }
  // user 7's item from its device 0 to user 8's device 3: share, then 0 -> 1 -> 2 -> 3.
  auto c = find_chain(query("x", 7, dev(7, 0), dev(8, 3), 8), g);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->size(), 4u);
  // user 9 cannot get user 7's item (it would need two shares).
  EXPECT_FALSE(find_chain(query("x", 7, dev(7, 0), dev(9, 0), 9), g).has_value());
  // holder on user 7's device 2: 2 -> 3 -> 0, share, -> user 8's device 0.
  auto c2 = find_chain(query("x", 7, dev(7, 2), dev(8, 0), 8), g);
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ(c2->size(), 3u);
}

// R3: the service opened alice's key to rita's recovery key for request 14 only. Rita's edges
// from that key to two pending devices, 14 and 15: only 14 is served, and only through it.
TEST(ChainSearch, AKeyBoundToOneRequestServesOnlyThatDevice) {
  Edge bound = recovery(20, 11, 41, kAlice);
  bound.only_towards = 14;
  std::vector<Edge> g = {bound, recovery(21, 41, 14, kAlice), recovery(22, 41, 15, kAlice),
                         own(23, 14, 16, kAlice)};
  const auto c = find_chain(query("x", kAlice, 11, 14, kAlice), g);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(*c, (std::vector<EdgeId>{20, 21}));
  EXPECT_FALSE(find_chain(query("x", kAlice, 11, 15, kAlice), g).has_value());
  EXPECT_FALSE(find_chain(query("x", kAlice, 11, 41, kAlice), g).has_value());  // ends bound
  // Past the device it is bound to, the chain goes on as usual.
  const auto on = find_chain(query("x", kAlice, 11, 16, kAlice), g);
  ASSERT_TRUE(on.has_value());
  EXPECT_EQ(*on, (std::vector<EdgeId>{20, 21, 23}));
  // Unbound, the same key serves both (what R3 did before).
  g[0].only_towards = 0;
  EXPECT_TRUE(find_chain(query("x", kAlice, 11, 15, kAlice), g).has_value());
}

}  // namespace
}  // namespace hopboxd
