// Real file names and folders as encrypted metadata (issue 13; docs/formats.md, "Names"). The
// cloud sees opaque ids derived with the account's name key; the real path travels sealed.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "keystore.h"

namespace hopbox::names {

inline constexpr std::size_t kKeySize = 32;
// Bytes of one name: most file systems allow 255, and a download is first written beside its
// target as NAME.hopbox-partial (15 bytes more).
inline constexpr std::size_t kMaxComponent = 240;
inline constexpr std::size_t kMaxFolder = 1024;  // bytes of a '/'-separated folder path
// The reserved item holding the account's name key (ids beginning with "." are the client's).
inline constexpr char kNameKeyItem[] = ".names";

// The account's name key, wiped on destruction.
class NameKey {
 public:
  NameKey() = default;
  explicit NameKey(std::span<const std::uint8_t> bytes);  // REQUIRES: kKeySize bytes
  ~NameKey();
  NameKey(const NameKey&) = default;
  NameKey& operator=(const NameKey&) = default;
  static NameKey generate();
  const std::array<std::uint8_t, kKeySize>& bytes() const { return k_; }

 private:
  std::array<std::uint8_t, kKeySize> k_{};
};

// A file name a file system allows: valid UTF-8, 1..255 bytes, no NUL nor '/', not "." or "..".
bool valid_name(const std::string& s);
// A folder path with empty components dropped ("a//b/" is "a/b"); nullopt when a component is
// not a valid name or the whole is longer than kMaxFolder. "" is the top level.
std::optional<std::string> normalize_folder(const std::string& s);
// "folder/name", or "name" at the top level.
std::string join(const std::string& folder, const std::string& name);

// The opaque id of the item at folder/name: hex HMAC-SHA256, 32 characters.
std::string item_id(const NameKey& k, const std::string& folder, const std::string& name);
// The opaque folder label the cloud sees ("" stays "": the top level).
std::string folder_label(const NameKey& k, const std::string& folder);

struct Path {
  std::string folder;
  std::string name;
};
// XChaCha20-Poly1305 of the path, bound to its owner and item id.
std::string seal(const NameKey& k, const std::string& owner, const std::string& item_id,
                 const Path& path);
// nullopt unless the box opens for exactly this owner and item id and holds a valid path whose
// id under k is item_id.
std::optional<Path> open(const NameKey& k, const std::string& owner, const std::string& item_id,
                         const std::string& sealed);

}  // namespace hopbox::names
