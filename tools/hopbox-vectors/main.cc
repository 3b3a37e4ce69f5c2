// hopbox-vectors FILE: recomputes every value of a known-answer file with our engine and
// names the first mismatch. Exit status: 0 all match, 1 a mismatch, 2 unusable input.
//
// Understood formats (told apart by their keys):
//   {"pairs": [...], "hashes": [...]}   BLS12-381 pairing data
//                                       (vectors/bls12381/pairing_circl.json)
//   {"scheme": "mupre v1", "chains": [...]}   mupre known answers (vectors/mupre/mupre_v1.json)
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "check.h"

namespace {

using namespace hopbox_vectors;

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
    if (doc.is_object() && doc.contains("scheme")) {
      checked = check_scheme_file(doc, mismatches);
    } else if (doc.is_object() && doc.contains("pairs")) {
      checked = check_pairing_file(doc, mismatches);
    } else {
      std::fprintf(stderr,
                   "hopbox-vectors: %s: unknown format (expected a \"scheme\" or \"pairs\" key)\n",
                   path);
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
                 "Recomputes every value of a known-answer JSON file (BLS12-381 pairing data,\n"
                 "or mupre scheme chains) and names the first mismatch. Exit: 0 match, 1 mismatch, "
                 "2 unusable input.\n");
    return argc == 2 ? 0 : 2;
  }
  return run(argv[1]);
}
