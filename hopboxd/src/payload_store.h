// Encrypted payloads on disk, named by the SHA-256 of their bytes (content addressed, so a
// stored payload never changes). A payload is written to a temporary file and moved into place
// only when complete and on disk: a crash mid-upload leaves at most a temporary file, which
// the next start removes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hopboxd {

class PayloadStore {
 public:
  // Creates DIR/objects and DIR/tmp; empties DIR/tmp (left-overs of interrupted uploads).
  explicit PayloadStore(std::filesystem::path dir);

  class Writer {
   public:
    ~Writer();  // removes the temporary file unless finish() succeeded
    Writer(Writer&&) noexcept;
    Writer& operator=(Writer&&) = delete;
    bool append(std::span<const std::uint8_t> bytes);
    std::uint64_t size() const { return size_; }
    // True when append() or finish() failed for want of room (a full disk, a quota, a file
    // size limit): the client is told so, not that the service broke.
    bool out_of_room() const { return out_of_room_; }
    // Flushes and fsyncs the file; returns its digest (hex), or nothing on an I/O error.
    std::optional<std::string> finish();
    // Moves the finished file into place under its digest. The service calls this under the
    // same lock as the commit of the item that uses it, so that a concurrent deletion of an
    // item with the same content cannot remove the file between the two.
    bool publish();

   private:
    friend class PayloadStore;
    Writer(const PayloadStore* store, std::filesystem::path tmp, int fd);
    struct Hash;
    const PayloadStore* store_;
    std::filesystem::path tmp_;
    int fd_;
    std::uint64_t size_ = 0;
    std::unique_ptr<Hash> hash_;
    std::string digest_;
    bool done_ = false;
    bool out_of_room_ = false;
  };

  std::optional<Writer> begin() const;
  // The stored file of a digest (for reading), if present.
  std::optional<std::filesystem::path> path_of(const std::string& digest) const;
  void remove(const std::string& digest) const;
  // Removes objects not in `live`.
  void collect_garbage(const std::vector<std::string>& live) const;

 private:
  std::filesystem::path object_path(const std::string& digest) const;
  std::filesystem::path dir_;
};

}  // namespace hopboxd
