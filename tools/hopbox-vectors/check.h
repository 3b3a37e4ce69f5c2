// Shared by the checkers of hopbox-vectors: reading hex fields, comparing, reporting.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mupre/bls12_381.h"
#include "mupre/hex.h"

namespace hopbox_vectors {

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

inline std::string field(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) {
    throw BadInput(where + ": missing string field \"" + key + "\"");
  }
  return obj[key].get<std::string>();
}

inline Bytes hex_field(const json& obj, const char* key, const std::string& where) {
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

inline Bytes g1_bytes(const G1& p) {
  Bytes b(kG1CompressedSize);
  g1_compress(p, b.data());
  return b;
}
inline Bytes g2_bytes(const G2& p) {
  Bytes b(kG2CompressedSize);
  g2_compress(p, b.data());
  return b;
}
inline Bytes gt_bytes(const GT& a) {
  Bytes b(kGtSize);
  gt_to_bytes(a, b.data());
  return b;
}

// Refuses a key the format does not define: an output renamed or misspelt would otherwise be
// skipped, and the entry counted as matched without anything compared.
inline void only_keys(const json& obj, std::initializer_list<std::string_view> allowed,
                      const std::string& where) {
  if (!obj.is_object()) throw BadInput(where + ": not an object");
  for (const auto& [key, value] : obj.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      throw BadInput(where + ": unknown key \"" + key + "\"");
    }
  }
}

// An entry whose outputs are all optional must still carry one: otherwise it checks nothing.
inline void some_output(const json& obj, std::initializer_list<std::string_view> outputs,
                        const std::string& where) {
  for (const auto key : outputs) {
    if (obj.contains(std::string(key))) return;
  }
  std::string names;
  for (const auto key : outputs) names += (names.empty() ? "" : ", ") + std::string(key);
  throw BadInput(where + ": no expected output to compare (one of " + names + ")");
}

inline const json& nonempty_array(const json& obj, const char* key, const std::string& where) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_array()) {
    throw BadInput(where + ": missing array \"" + key + "\"");
  }
  if (obj[key].empty()) throw BadInput(where + ": \"" + key + "\" is empty");
  return obj[key];
}

// Compares one value; records the first mismatch only.
inline bool same(const Bytes& actual, const json& obj, const char* key, const std::string& where,
                 std::vector<Mismatch>& out) {
  const Bytes expected = hex_field(obj, key, where);
  if (expected == actual) return true;
  out.push_back({where + "." + key, mupre::to_hex(expected), mupre::to_hex(actual)});
  return false;
}

// Each checker recomputes a whole file, stops at the first mismatch and returns how many
// entries matched. BadInput for anything it cannot check.
std::size_t check_pairing_file(const json& doc, std::vector<Mismatch>& mismatches);
std::size_t check_scheme_file(const json& doc, std::vector<Mismatch>& mismatches);

}  // namespace hopbox_vectors
