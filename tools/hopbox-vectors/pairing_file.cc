// The BLS12-381 pairing and hash file format (vectors/bls12381/pairing_circl.json).
#include "check.h"

namespace hopbox_vectors {

std::size_t check_pairing_file(const json& doc, std::vector<Mismatch>& mismatches) {
  std::size_t checked = 0;
  only_keys(doc, {"pairs", "hashes"}, "file");
  const json& pairs = nonempty_array(doc, "pairs", "file");
  for (std::size_t i = 0; i < pairs.size() && mismatches.empty(); ++i) {
    const json& e = pairs[i];
    const std::string where = "pairs[" + std::to_string(i) + "]";
    only_keys(e, {"p", "q", "k", "e", "kp", "kq", "ek"}, where);
    some_output(e, {"e", "kp", "kq", "ek"}, where);
    const G1 p = decode<G1>(e, "p", where, g1_decode);
    const G2 q = decode<G2>(e, "q", where, g2_decode);
    const Scalar k = decode<Scalar>(e, "k", where, scalar_from_bytes);
    const GT pq = pairing(p, q);
    if (e.contains("e") && !same(gt_bytes(pq), e, "e", where, mismatches)) break;
    if (e.contains("kp") && !same(g1_bytes(g1_mul(p, k)), e, "kp", where, mismatches)) break;
    if (e.contains("kq") && !same(g2_bytes(g2_mul(q, k)), e, "kq", where, mismatches)) break;
    if (e.contains("ek") && !same(gt_bytes(gt_pow(pq, k)), e, "ek", where, mismatches)) break;
    ++checked;
  }
  if (doc.contains("hashes")) {
    const json& hashes = nonempty_array(doc, "hashes", "file");
    for (std::size_t i = 0; i < hashes.size() && mismatches.empty(); ++i) {
      const json& h = hashes[i];
      const std::string where = "hashes[" + std::to_string(i) + "]";
      only_keys(h, {"msg", "dst", "g1", "g2"}, where);
      some_output(h, {"g1", "g2"}, where);
      const Bytes msg = hex_field(h, "msg", where);
      const std::string dst_text = field(h, "dst", where);
      const Bytes dst(dst_text.begin(), dst_text.end());
      if (h.contains("g1") && !same(g1_bytes(hash_to_g1(msg, dst)), h, "g1", where, mismatches)) {
        break;
      }
      if (h.contains("g2") && !same(g2_bytes(hash_to_g2(msg, dst)), h, "g2", where, mismatches)) {
        break;
      }
      ++checked;
    }
  }
  return checked;
}

}  // namespace hopbox_vectors
