// The mupre v1 known-answer format (vectors/mupre/mupre_v1.json): every key, capsule,
// re-encryption key and ciphertext level recomputed from the file's random choices.
#include <optional>

#include "check.h"
#include "mupre/known_answer.h"

namespace hopbox_vectors {

namespace {

namespace ka = mupre::known_answer;

std::size_t index_field(const json& obj, const char* key, std::size_t bound,
                        const std::string& where) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number_unsigned() ||
      obj[key].get<std::size_t>() >= bound) {
    throw BadInput(where + "." + key + ": missing or not an index below " + std::to_string(bound));
  }
  return obj[key].get<std::size_t>();
}

mupre::SecretKey secret_key(const json& obj, const std::string& where) {
  Bytes enc = {0x02, mupre::kSchemeMupreV1};
  const Bytes sk = hex_field(obj, "sk", where);
  enc.insert(enc.end(), sk.begin(), sk.end());
  auto k = mupre::SecretKey::decode(enc);
  if (!k) throw BadInput(where + ".sk: not a secret key (32 bytes, 0 < sk < r)");
  return std::move(*k);
}

Bytes key_bytes(const mupre::CapsuleKey& k) {
  return {k.bytes().begin(), k.bytes().end()};
}

// One chain; false at the first mismatch.
// Every value of an entry is an input or an expected output: all are required, none other.
bool check_chain(const json& chain, const std::string& where, std::vector<Mismatch>& out) {
  only_keys(chain, {"keys", "enc", "rks", "levels"}, where);
  std::vector<mupre::SecretKey> keys;
  const json& key_list = nonempty_array(chain, "keys", where);
  for (std::size_t i = 0; i < key_list.size(); ++i) {
    const std::string w = where + ".keys[" + std::to_string(i) + "]";
    only_keys(key_list[i], {"sk", "pk"}, w);
    keys.push_back(secret_key(key_list[i], w));
    if (!same(g1_bytes(keys.back().public_key().point()), key_list[i], "pk", w, out)) {
      return false;
    }
  }

  const std::string we = where + ".enc";
  if (!chain.contains("enc")) throw BadInput(we + ": missing");
  const json& enc = chain["enc"];
  only_keys(enc, {"to", "m", "r", "M", "C1", "C2", "K"}, we);
  const std::size_t to = index_field(enc, "to", keys.size(), we);
  const auto e =
      ka::encapsulate_with(keys[to].public_key(), decode<Scalar>(enc, "m", we, scalar_from_bytes),
                           decode<Scalar>(enc, "r", we, scalar_from_bytes));
  const auto b1 = ka::blocks(e.enc.capsule);
  if (!same(gt_bytes(e.m), enc, "M", we, out) || !same(g1_bytes(b1[0].u1), enc, "C1", we, out) ||
      !same(gt_bytes(b1[0].u2), enc, "C2", we, out) ||
      !same(key_bytes(e.enc.key), enc, "K", we, out)) {
    return false;
  }

  std::vector<mupre::ReKey> rks;
  std::vector<std::size_t> rk_to;
  if (!chain.contains("rks") || !chain["rks"].is_array()) {
    throw BadInput(where + ": missing array \"rks\"");
  }
  const json& rk_list = chain["rks"];  // empty for a chain of one level
  for (std::size_t i = 0; i < rk_list.size(); ++i) {
    const std::string w = where + ".rks[" + std::to_string(i) + "]";
    const json& rk = rk_list[i];
    only_keys(rk, {"from", "to", "x", "s", "X", "H2_X", "R", "D1", "D2"}, w);
    const std::size_t from = index_field(rk, "from", keys.size(), w);
    rk_to.push_back(index_field(rk, "to", keys.size(), w));
    const Scalar x = decode<Scalar>(rk, "x", w, scalar_from_bytes);
    const GT big_x = gt_pow_base(x);
    if (!same(gt_bytes(big_x), rk, "X", w, out) ||
        !same(g2_bytes(ka::h2(big_x)), rk, "H2_X", w, out)) {
      return false;
    }
    auto k = ka::make_rekey_with(keys[from], keys[rk_to.back()].public_key(), x,
                                 decode<Scalar>(rk, "s", w, scalar_from_bytes));
    if (!k) throw BadInput(w + ": " + mupre::error_message(k.error()));
    const auto parts = ka::parts(*k);
    if (!same(g2_bytes(parts.r), rk, "R", w, out) || !same(g1_bytes(parts.d1), rk, "D1", w, out) ||
        !same(gt_bytes(parts.d2), rk, "D2", w, out)) {
      return false;
    }
    rks.push_back(std::move(*k));
  }

  // Level 1 is the fresh capsule; level i + 1 is rks[i - 1] applied to level i.
  std::optional<mupre::Ciphertext> c = e.enc.capsule;
  std::vector<std::size_t> holders = {to};
  const json& levels = nonempty_array(chain, "levels", where);
  if (levels.size() != rk_list.size() + 1) {
    throw BadInput(where + ": " + std::to_string(levels.size()) + " levels for " +
                   std::to_string(rk_list.size()) + " re-encryption keys (one more level needed)");
  }
  for (std::size_t li = 0; li < levels.size(); ++li) {
    const std::string w = where + ".levels[" + std::to_string(li) + "]";
    const json& level = levels[li];
    only_keys(level, {"level", "blocks", "K"}, w);
    if (li > 0) {
      if (li - 1 >= rks.size()) throw BadInput(w + ": more levels than re-encryption keys");
      auto next = mupre::reencrypt(rks[li - 1], *c);
      if (!next)
        throw BadInput(w + ": re-encryption refused: " + mupre::error_message(next.error()));
      c = std::move(*next);
      holders.push_back(rk_to[li - 1]);
    }
    if (!level.contains("level") || !level["level"].is_number_unsigned() ||
        level["level"].get<std::size_t>() != c->level()) {
      out.push_back(
          {w + ".level", level.value("level", json()).dump(), std::to_string(c->level())});
      return false;
    }
    const json& blocks = nonempty_array(level, "blocks", w);
    const auto ours = ka::blocks(*c);
    if (blocks.size() != ours.size()) {
      out.push_back({w + ".blocks", std::to_string(blocks.size()) + " blocks",
                     std::to_string(ours.size()) + " blocks"});
      return false;
    }
    for (std::size_t j = 0; j < ours.size(); ++j) {
      const std::string wb = w + ".blocks[" + std::to_string(j) + "]";
      only_keys(blocks[j], {"U1", "U2", "holder"}, wb);
      if (!same(g1_bytes(ours[j].u1), blocks[j], "U1", wb, out) ||
          !same(gt_bytes(ours[j].u2), blocks[j], "U2", wb, out)) {
        return false;
      }
      const std::size_t holder = index_field(blocks[j], "holder", keys.size(), wb);
      if (holder != holders[j]) {
        out.push_back({wb + ".holder", std::to_string(holder), std::to_string(holders[j])});
        return false;
      }
    }
    auto k = mupre::decapsulate(keys[holders.back()], *c);
    if (!k) throw BadInput(w + ": decryption refused: " + mupre::error_message(k.error()));
    if (!same(key_bytes(*k), level, "K", w, out)) return false;
  }
  return true;
}

}  // namespace

std::size_t check_scheme_file(const json& doc, std::vector<Mismatch>& mismatches) {
  if (!doc["scheme"].is_string() || doc["scheme"] != "mupre v1") {
    throw BadInput("\"scheme\" is " + doc["scheme"].dump() +
                   "; this build implements \"mupre v1\"");
  }
  // The file states the scheme's constants; they must be ours, or nothing would match.
  if (doc.value("h2_dst", std::string()) != "HOPBOX-MUPRE-V1-RK" ||
      doc.value("kdf_info", std::string()) != "hopbox v1 capsule key") {
    throw BadInput("h2_dst or kdf_info differ from mupre v1's constants");
  }
  only_keys(doc, {"scheme", "h2_dst", "kdf_info", "chains"}, "file");
  const json& chains = nonempty_array(doc, "chains", "file");
  std::size_t checked = 0;
  for (std::size_t i = 0; i < chains.size(); ++i) {
    if (!check_chain(chains[i], "chains[" + std::to_string(i) + "]", mismatches)) break;
    ++checked;
  }
  return checked;
}

}  // namespace hopbox_vectors
