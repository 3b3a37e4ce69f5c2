// Files that hold secrets or keys: created owner-only from the first byte, whatever the umask,
// and replaced atomically so that a crash leaves the old or the new content, never a mix.
#pragma once

#include <filesystem>
#include <string_view>

namespace hopbox::files {

// Creates `dir` (and missing parents) and makes `dir` itself mode 0700. An existing `dir` is
// narrowed to 0700 too (a link to a folder: the folder). Throws std::runtime_error.
void make_private_dir(const std::filesystem::path& dir);

// Writes `bytes` to `path`, mode 0600: into a fresh temporary file in the same folder (opened
// O_CREAT|O_EXCL|O_NOFOLLOW, so a planted file or link is never written through), fsynced,
// then renamed over `path`, and the folder fsynced. Throws std::runtime_error.
void write_private_file(const std::filesystem::path& path, std::string_view bytes);

}  // namespace hopbox::files
