// Where `get` writes decrypted bytes: standard output, or a file written aside as
// TARGET.hopbox-partial and renamed to TARGET only once complete and verified. The partial file
// is removed on every failure, and on SIGINT/SIGTERM once remove_partial_on_signals() ran.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace hopbox {

// The file `get` writes item `name` to: `out` ("-": standard output), inside `out` when it is a
// folder, or `name` when `out` is empty.
std::filesystem::path download_target(const std::filesystem::path& out, const std::string& name);

class DownloadSink {
 public:
  // Opens the partial file (or takes standard output for "-"); throws ClientError.
  explicit DownloadSink(std::filesystem::path target);
  // Removes the partial file unless commit() succeeded.
  ~DownloadSink();
  DownloadSink(const DownloadSink&) = delete;
  DownloadSink& operator=(const DownloadSink&) = delete;

  void write(const void* data, std::size_t size);  // throws ClientError
  // Closes and renames the partial file to the target (or flushes standard output).
  void commit();
  // Closes and removes the partial file at once.
  void discard();

 private:
  std::filesystem::path target_, partial_;
  int fd_ = -1;
  bool to_stdout_ = false;
};

// SIGINT and SIGTERM remove the download's partial file, if any, and exit 130 or 143. Decrypted
// bytes must not stay behind when the user interrupts a download.
void remove_partial_on_signals();

}  // namespace hopbox
