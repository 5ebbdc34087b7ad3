// Crash-safe file replacement: a reader sees the old content or the new, never a mix, and a
// kill -9 or power cut at any moment leaves one of the two on disk.
#pragma once

#include <filesystem>
#include <string_view>
#include <system_error>

namespace netbootd {

/// Writes `content` to a temporary file next to `path`, fsyncs it, renames it over `path` and
/// fsyncs the directory. `mode` applies to the new file. Returns an error naming the step that
/// failed; on error `path` is untouched and the temporary file is removed.
std::error_code write_file_atomic(const std::filesystem::path& path, std::string_view content,
                                  std::filesystem::perms mode = std::filesystem::perms(0644));

/// fsyncs a directory so a rename or create inside it is durable.
std::error_code fsync_directory(const std::filesystem::path& dir);

} // namespace netbootd
