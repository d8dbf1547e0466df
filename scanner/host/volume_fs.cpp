#include "scanner/host/volume_fs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "scanner/platform/open_path.h"

namespace flscan::host {

tl::expected<DirectoryNames, HostError> LocalFs::list(const std::string& dir, std::size_t max_entries) const {
  scanner::DirectoryReader reader(dir.c_str());
  if (reader.error() != 0) {
    return tl::unexpected(HostError{dir, "cannot list: " + std::string(std::strerror(reader.error()))});
  }
  DirectoryNames listing;
  while (listing.names.size() < max_entries) {
    const char* name = reader.next();
    if (name == nullptr) {
      if (reader.error() != 0) listing.read_error = std::strerror(reader.error());
      return listing;
    }
    listing.names.emplace_back(name);
  }
  // The cap is reached: one more entry means some were left unlisted.
  listing.truncated = reader.next() != nullptr;
  return listing;
}

EntryKind LocalFs::kind(const std::string& path) const {
  struct stat st {};
  if (scanner::stat_path(path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return EntryKind::missing;
  if (S_ISREG(st.st_mode)) return EntryKind::regular;
  if (S_ISDIR(st.st_mode)) return EntryKind::directory;
  // A symlink to a directory is listed through (DirectoryReader follows it, as opendir does).
  if (S_ISLNK(st.st_mode) && scanner::stat_path(path.c_str(), &st, 0) == 0 && S_ISDIR(st.st_mode)) {
    return EntryKind::directory;
  }
  return EntryKind::other;
}

tl::expected<FileSnapshot, HostError> LocalFs::snapshot(const std::string& path, std::uint64_t max_bytes) const {
  return FileSnapshot::take(path, max_bytes);
}

const LocalFs& local_fs() {
  static const LocalFs instance;
  return instance;
}

std::string join_path(std::string_view dir, std::string_view name) {
  std::string joined(dir);
  if (!joined.empty() && joined.back() != '/') joined.push_back('/');
  joined.append(name);
  return joined;
}

}  // namespace flscan::host
