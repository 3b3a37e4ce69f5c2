// The worked examples of a Markdown document: every block opened by "```hex NAME" and closed
// by "```", its lines joined and decoded. Tests use them to hold docs/formats.md to the code.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace hopbox::testing {

inline std::map<std::string, std::vector<std::uint8_t>> hex_examples(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  const auto nibble = [&](char c, const std::string& name) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<std::uint8_t>(c - 'a' + 10);
    throw std::runtime_error(path + ": example " + name + " is not lowercase hexadecimal");
  };
  std::map<std::string, std::vector<std::uint8_t>> out;
  std::string line, name, hex;
  while (std::getline(in, line)) {
    if (name.empty() && line.rfind("```hex ", 0) == 0) {
      name = line.substr(7);
      hex.clear();
    } else if (!name.empty() && line == "```") {
      if (hex.size() % 2 != 0) throw std::runtime_error(path + ": example " + name + " is odd");
      std::vector<std::uint8_t> bytes;
      for (std::size_t i = 0; i < hex.size(); i += 2) {
        bytes.push_back(
            static_cast<std::uint8_t>(nibble(hex[i], name) << 4 | nibble(hex[i + 1], name)));
      }
      out[name] = std::move(bytes);
      name.clear();
    } else if (!name.empty()) {
      hex += line;
    }
  }
  return out;
}

}  // namespace hopbox::testing
