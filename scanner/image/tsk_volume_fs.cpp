#include "scanner/image/tsk_volume_fs.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "scanner/image/limits.h"
#include "scanner/image/tsk_file.h"

namespace flscan::scanner::image {
namespace {

constexpr TSK_INUM_T kNtfsFirstUserEntry = 16;  // as volume_walk.cpp

// The entries the scan lists (volume_walk.h): allocated, not virtual, not an NTFS system file.
bool visible(const TSK_FS_INFO& fs, const TSK_FS_NAME& name) {
  if (name.name == nullptr || name.name[0] == '\0' || TSK_FS_ISDOT(name.name)) return false;
  if ((name.flags & TSK_FS_NAME_FLAG_ALLOC) == 0) return false;
  if (name.type == TSK_FS_NAME_TYPE_VIRT || name.type == TSK_FS_NAME_TYPE_VIRT_DIR) return false;
  if (TSK_FS_TYPE_ISFAT(fs.ftype) && std::string_view(name.name).ends_with(" (Volume Label Entry)")) return false;
  return !(TSK_FS_TYPE_ISNTFS(fs.ftype) && name.meta_addr < kNtfsFirstUserEntry);
}

host::EntryKind kind_of(TSK_FS_NAME_TYPE_ENUM type) {
  switch (type) {
    case TSK_FS_NAME_TYPE_DIR:
      return host::EntryKind::directory;
    case TSK_FS_NAME_TYPE_REG:
      return host::EntryKind::regular;
    default:
      return host::EntryKind::other;
  }
}

}  // namespace

TskVolumeFs::TskVolumeFs(const std::vector<ImageLayout>& images, const std::vector<ImageVolume>& volumes) {
  for (const ImageLayout& image : images) {
    std::string image_failure;  // why `image` could not be opened (empty: it is images_.back())
    bool opened = false;
    for (const VolumeLayout& volume : image.volumes) {
      const std::string root = volume.report.path();
      // Only volumes the scan read: the listing may have failed where the detection succeeded.
      const bool scanned = std::any_of(volumes.begin(), volumes.end(), [&root](const ImageVolume& v) {
        return v.status == VolumeStatus::scanned && v.path() == root;
      });
      if (!scanned) continue;
      if (!opened) {
        opened = true;
        tsk_error_reset();
        ImgPtr img = open_source(image.source);
        if (img) {
          images_.push_back(std::move(img));
        } else {
          image_failure = tsk_error_text("open the image");
        }
        tsk_error_reset();
      }
      if (!image_failure.empty()) {
        failures_.push_back({root, image_failure});
        continue;
      }
      auto filesystem = open_volume_filesystem(images_.back().get(), volume);
      tsk_error_reset();
      if (!filesystem) {
        failures_.push_back({root, filesystem.error()});
        continue;
      }
      volumes_.push_back(Volume{root, std::move(*filesystem)});
      roots_.push_back(root);
    }
  }
}

void note_host_failures(const TskVolumeFs& fs, std::vector<ImageVolume>& volumes) {
  for (const TskVolumeFs::Failure& failure : fs.failures()) {
    for (ImageVolume& volume : volumes) {
      if (volume.path() == failure.root) {
        volume.host_error =
            "the volume's files were scanned, but it could not be opened again to look for a Windows "
            "installation (" +
            failure.reason + ")";
      }
    }
  }
}

// Filesystems first: they read through the images.
TskVolumeFs::~TskVolumeFs() { volumes_.clear(); }

TskVolumeFs::Resolved TskVolumeFs::resolve(const std::string& path) const {
  Resolved resolved;
  for (const Volume& volume : volumes_) {
    if (path != volume.root &&
        !(path.size() > volume.root.size() && path.starts_with(volume.root) && path[volume.root.size()] == '/')) {
      continue;
    }
    TSK_FS_INFO* fs = volume.opened.fs.get();
    TSK_INUM_T inum = fs->root_inum;
    host::EntryKind kind = host::EntryKind::directory;
    std::size_t pos = volume.root.size();
    std::size_t depth = 0;
    while (pos < path.size()) {
      ++pos;  // the '/'
      const std::size_t end = std::min(path.find('/', pos), path.size());
      const std::string_view component(path.data() + pos, end - pos);
      pos = end;
      if (component.empty()) continue;
      if (kind != host::EntryKind::directory || ++depth > limits::kMaxDirectoryDepth) return {};
      tsk_error_reset();
      DirPtr dir(tsk_fs_dir_open_meta(fs, inum));
      tsk_error_reset();
      if (!dir) return {};
      const std::size_t count = std::min(tsk_fs_dir_getsize(dir.get()), limits::kMaxEntriesPerDirectory);
      bool found = false;
      for (std::size_t i = 0; i < count && !found; ++i) {
        const TSK_FS_NAME* name = tsk_fs_dir_get_name(dir.get(), i);
        if (name == nullptr || !visible(*fs, *name) || component != name->name) continue;
        inum = name->meta_addr;
        kind = kind_of(name->type);
        found = true;
      }
      if (!found) return {};
    }
    resolved.volume = &volume;
    resolved.inum = inum;
    resolved.kind = kind;
    return resolved;
  }
  return resolved;
}

tl::expected<host::DirectoryNames, host::HostError> TskVolumeFs::list(const std::string& dir,
                                                                      std::size_t max_entries) const {
  const Resolved resolved = resolve(dir);
  if (resolved.volume == nullptr || resolved.kind != host::EntryKind::directory) {
    return tl::unexpected(host::HostError{dir, "cannot list: no such directory in the image"});
  }
  TSK_FS_INFO* fs = resolved.volume->opened.fs.get();
  tsk_error_reset();
  DirPtr opened(tsk_fs_dir_open_meta(fs, resolved.inum));
  if (!opened) return tl::unexpected(host::HostError{dir, "cannot list: " + tsk_error_text("open directory")});
  host::DirectoryNames listing;
  const std::size_t count = std::min(tsk_fs_dir_getsize(opened.get()), limits::kMaxEntriesPerDirectory);
  for (std::size_t i = 0; i < count; ++i) {
    const TSK_FS_NAME* name = tsk_fs_dir_get_name(opened.get(), i);
    if (name == nullptr || !visible(*fs, *name)) continue;
    if (listing.names.size() == max_entries) {
      listing.truncated = true;
      break;
    }
    listing.names.emplace_back(name->name);
  }
  return listing;
}

host::EntryKind TskVolumeFs::kind(const std::string& path) const { return resolve(path).kind; }

tl::expected<host::FileSnapshot, host::HostError> TskVolumeFs::snapshot(const std::string& path,
                                                                        std::uint64_t max_bytes) const {
  const Resolved resolved = resolve(path);
  if (resolved.volume == nullptr || resolved.kind == host::EntryKind::missing) {
    return tl::unexpected(host::HostError{path, "cannot open: no such file in the image"});
  }
  if (resolved.kind != host::EntryKind::regular) return tl::unexpected(host::HostError{path, "not a regular file"});
  auto file = TskFile::open(resolved.volume->opened.fs.get(), resolved.inum);
  if (!file) return tl::unexpected(host::HostError{path, "cannot open: " + file.error().detail});
  const auto stamp = (*file)->stamp();
  const std::uint64_t size = stamp ? stamp->size : 0;
  TskFile& reader = **file;
  return host::FileSnapshot::from_reader(
      path, size, max_bytes,
      [&reader](std::uint64_t offset, std::span<std::uint8_t> out) -> tl::expected<std::size_t, std::string> {
        auto got = reader.read_at(offset, out.data(), out.size());
        if (!got) return tl::unexpected(got.error().detail);
        return *got;
      });
}

}  // namespace flscan::scanner::image
