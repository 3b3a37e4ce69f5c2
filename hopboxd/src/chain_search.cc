#include "chain_search.h"

#include <algorithm>
#include <deque>
#include <map>
#include <tuple>
#include <utility>

namespace hopboxd {

bool policy_admits(const SharePolicy& p, const ItemView& item) {
  switch (p.scope) {
    case SharePolicy::Scope::kAllItems:
      return true;
    case SharePolicy::Scope::kFolder:
      return !p.folder.empty() && p.folder == item.folder;
    case SharePolicy::Scope::kListedItems:
      return std::find(p.items.begin(), p.items.end(), item.id) != p.items.end();
  }
  return false;
}

namespace {

// Phase 0: still on the owner's side; phase 1: after the one share edge (or on the
// requester's side when owner and requester are the same user). The third member is the
// device the next edge must reach (after an edge bound to one request), or 0.
using State = std::tuple<DeviceKeyId, int, DeviceKeyId>;

bool usable(const Edge& e, int phase, const ChainQuery& q, int& next_phase) {
  if (e.expires && *e.expires <= q.now) return false;
  if (e.kind == EdgeKind::kShare) {
    if (phase != 0 || e.user != q.item.owner || !policy_admits(e.policy, q.item)) return false;
    next_phase = 1;
    return true;
  }
  next_phase = phase;
  return e.user == (phase == 0 ? q.item.owner : q.requester);
}

}  // namespace

std::optional<std::vector<EdgeId>> find_chain(const ChainQuery& q, const std::vector<Edge>& edges) {
  if (q.holder == q.target) return std::vector<EdgeId>{};
  // Outgoing edges per node, in id order so that ties resolve to the smallest ids.
  std::map<DeviceKeyId, std::vector<const Edge*>> out;
  for (const Edge& e : edges) out[e.from].push_back(&e);
  for (auto& [node, list] : out) {
    std::sort(list.begin(), list.end(), [](const Edge* a, const Edge* b) { return a->id < b->id; });
  }
  // Breadth-first over (node, phase); parent links rebuild the chain.
  std::map<State, std::pair<State, EdgeId>> parent;
  std::deque<std::pair<State, unsigned>> queue;
  const State start{q.holder, 0, 0};
  parent[start] = {start, 0};
  queue.push_back({start, 0});
  while (!queue.empty()) {
    const auto [state, depth] = queue.front();
    queue.pop_front();
    if (depth == q.max_hops) continue;
    const auto [node, phase, towards] = state;
    const auto it = out.find(node);
    if (it == out.end()) continue;
    for (const Edge* e : it->second) {
      int next_phase = 0;
      if (towards != 0 && e->to != towards) continue;
      if (!usable(*e, phase, q, next_phase)) continue;
      const State next{e->to, next_phase, e->only_towards};
      if (parent.count(next) != 0) continue;
      parent[next] = {state, e->id};
      // A chain cannot end on a bound edge: the device it is bound to must follow.
      if (e->to == q.target && e->only_towards == 0) {
        std::vector<EdgeId> chain;
        for (State s = next; s != start; s = parent[s].first) chain.push_back(parent[s].second);
        std::reverse(chain.begin(), chain.end());
        return chain;
      }
      queue.push_back({next, depth + 1});
    }
  }
  return std::nullopt;
}

}  // namespace hopboxd
