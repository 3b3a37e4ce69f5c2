// hopbox-vectors FILE: recomputes every value of a known-answer file with our engine and
// names the first mismatch. Exit status: 0 all match, 1 a mismatch, 2 unusable input.
//
// Understood formats (told apart by their keys):
//   {"pairs": [...], "hashes": [...]}   BLS12-381 pairing data
//   (vectors/bls12381/pairing_circl.json)
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mupre/bls12_381.h"
#include "mupre/hex.h"

namespace {

using namespace mupre::bls12_381;
using Bytes = std::vector<std::uint8_t>;
using nlohmann::json;

// Input that cannot be checked at all (as opposed to a value that does not match).
struct BadInput : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Mismatch {
  std::string where;
  std::string expected;
  std::string actual;
};

std::string field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) {
    throw BadInput(where + ": missing string field \"" + key + "\"");
  }
  return obj[key].get<std::string>();
}

Bytes hex_field(const json& obj, const char* key, const std::string& where) {
  const auto v = mupre::from_hex(field(obj, key, where));
  if (!v) throw BadInput(where + "." + key + ": not hexadecimal");
  return *v;
}

template <class T, class Decode>
T decode(const json& obj, const char* key, const std::string& where, Decode dec) {
  const Bytes b = hex_field(obj, key, where);
  T out;
  const Status s = dec(b, out);
  if (s != Status::kOk) {
    throw BadInput(where + "." + key + ": " + status_message(s));
  }
  return out;
}

Bytes g1_bytes(const G1& p) {
  Bytes b(kG1CompressedSize);
  g1_compress(p, b.data());
  return b;
}
Bytes g2_bytes(const G2& p) {
  Bytes b(kG2CompressedSize);
  g2_compress(p, b.data());
  return b;
}
Bytes gt_bytes(const GT& a) {
  Bytes b(kGtSize);
  gt_to_bytes(a, b.data());
  return b;
}

// Compares one value; records the first mismatch only.
bool same(const Bytes& actual, const json& obj, const char* key, const std::string& where,
          std::vector<Mismatch>& out) {
  const Bytes expected = hex_field(obj, key, where);
  if (expected == actual) return true;
  out.push_back({where + "." + key, mupre::to_hex(expected), mupre::to_hex(actual)});
  return false;
}

std::size_t check_pairing_file(const json& doc, std::vector<Mismatch>& mismatches) {
  std::size_t checked = 0;
  const json& pairs = doc["pairs"];
  if (!pairs.is_array()) throw BadInput("\"pairs\" is not an array");
  for (std::size_t i = 0; i < pairs.size() && mismatches.empty(); ++i) {
    const json& e = pairs[i];
    const std::string where = "pairs[" + std::to_string(i) + "]";
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
    const json& hashes = doc["hashes"];
    if (!hashes.is_array()) throw BadInput("\"hashes\" is not an array");
    for (std::size_t i = 0; i < hashes.size() && mismatches.empty(); ++i) {
      const json& h = hashes[i];
      const std::string where = "hashes[" + std::to_string(i) + "]";
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

int run(const char* path) {
  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "hopbox-vectors: cannot open %s\n", path);
    return 2;
  }
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    std::fprintf(stderr, "hopbox-vectors: %s is not JSON: %s\n", path, e.what());
    return 2;
  }
  std::vector<Mismatch> mismatches;
  std::size_t checked = 0;
  try {
    if (doc.is_object() && doc.contains("pairs")) {
      checked = check_pairing_file(doc, mismatches);
    } else {
      std::fprintf(stderr, "hopbox-vectors: %s: unknown format (expected a \"pairs\" key)\n", path);
      return 2;
    }
  } catch (const BadInput& e) {
    std::fprintf(stderr, "hopbox-vectors: %s: %s\n", path, e.what());
    return 2;
  } catch (const json::exception& e) {
    std::fprintf(stderr, "hopbox-vectors: %s: malformed entry: %s\n", path, e.what());
    return 2;
  }
  if (!mismatches.empty()) {
    const Mismatch& m = mismatches.front();
    std::printf("MISMATCH at %s\n  expected %s\n  computed %s\n", m.where.c_str(),
                m.expected.c_str(), m.actual.c_str());
    return 1;
  }
  std::printf("ok: %zu entries of %s match\n", checked, path);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::fprintf(argc == 2 ? stdout : stderr,
                 "usage: hopbox-vectors FILE\n"
                 "Recomputes every value of a known-answer JSON file (BLS12-381 pairing data)\n"
                 "and names the first mismatch. Exit: 0 match, 1 mismatch, 2 unusable input.\n");
    return argc == 2 ? 0 : 2;
  }
  return run(argv[1]);
}
