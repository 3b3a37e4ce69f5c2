// The shortest re-encryption chain from an item's capsule holder to a requesting device, under
// the grammar of ../shared/spec/DESIGN.md:
//
//   (owner's own-device or owner's recovery edges)* [one share edge whose policy admits the item]
//   (requester's own-device or requester's recovery edges)*
//
// so data is never re-shared by a recipient, and a recovery edge carries only the data of the
// user it was made for. Pure logic: the store hands in the candidate edges.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hopboxd {

using DeviceKeyId = std::int64_t;  // a node: one device encryption key
using EdgeId = std::int64_t;
using UserId = std::int64_t;

enum class EdgeKind { kOwnDevice, kShare, kRecovery };

// Which items a share edge admits. Expiry applies to every kind of edge.
struct SharePolicy {
  enum class Scope { kAllItems, kFolder, kListedItems };
  Scope scope = Scope::kAllItems;
  std::string folder;              // kFolder
  std::vector<std::string> items;  // kListedItems
};

struct Edge {
  EdgeId id = 0;
  DeviceKeyId from = 0, to = 0;
  EdgeKind kind = EdgeKind::kOwnDevice;
  // Whose data the edge may carry: the devices' owner (own-device), the sharer (share), the
  // protected user (recovery).
  UserId user = 0;
  SharePolicy policy;                   // kShare only
  std::optional<std::int64_t> expires;  // unix seconds; absent: never
  // Nonzero: the edge is admissible only when the next edge of the chain reaches this device
  // (R3 keys opened by the service serve one recovery request, never another).
  DeviceKeyId only_towards = 0;
};

struct ItemView {
  std::string id;
  UserId owner = 0;
  std::string folder;
};

struct ChainQuery {
  ItemView item;
  DeviceKeyId holder = 0;  // the capsule's current holder key
  DeviceKeyId target = 0;  // the requesting device's key
  UserId requester = 0;    // the requesting device's user
  std::int64_t now = 0;
  unsigned max_hops = 31;  // the capsule must stay within mupre's 32 levels
};

// Edge ids in order from holder to target; empty when holder == target; nothing when no
// admissible chain of at most max_hops edges exists. Among shortest chains, the one whose
// discovery prefers smaller edge ids (deterministic).
std::optional<std::vector<EdgeId>> find_chain(const ChainQuery& q, const std::vector<Edge>& edges);

bool policy_admits(const SharePolicy& p, const ItemView& item);

}  // namespace hopboxd
