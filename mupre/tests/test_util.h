// Helpers shared by the mupre tests: hex, reading the shared known-answer files.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mupre/hex.h"

namespace mupre::test {

inline std::vector<std::uint8_t> from_hex(const std::string& s) {
  auto v = mupre::from_hex(s);
  if (!v) throw std::runtime_error("bad hex in test data: " + s);
  return *v;
}

inline std::string vectors_path(const std::string& rel) {
  return std::string(HOPBOX_VECTORS_DIR) + "/" + rel;
}

inline std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return nlohmann::json::parse(in);
}

inline std::vector<std::uint8_t> bytes_of(const std::string& s) {
  return {s.begin(), s.end()};
}

}  // namespace mupre::test
