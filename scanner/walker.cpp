#include "scanner/walker.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <system_error>
#include <utility>

#include <tbb/parallel_for_each.h>

#include "scanner/open_path.h"

namespace flscan::scanner {
namespace fs = boost::filesystem;

namespace {

std::string errno_text(int error) { return std::system_category().message(error); }

// One directory on the path from a PATH operand down to the directory being listed. The chain is
// shared (immutable) by every item below it, so loop checks need no lock and no global set.
struct DirLink {
  dev_t dev = 0;
  ino_t ino = 0;
  std::string path;
  std::shared_ptr<const DirLink> parent;
};

struct Item {
  fs::path path;
  std::string relative;  // below the PATH operand, '/'-separated; empty for the operand itself
  std::size_t depth = 0;
  bool is_root = false;
  bool via_symlink = false;
  struct stat st {};  // for non-roots: what listing the parent found (lstat, or stat if followed)
  dev_t root_dev = 0;
  std::shared_ptr<const DirLink> ancestors;
};

// How a failed lstat/stat/opendir maps onto the report: gone means it vanished after its parent
// was listed; refused is a permission problem; anything else is an I/O error.
NotScannedReason reason_for_errno(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR: return NotScannedReason::vanished;
    case EACCES:
    case EPERM: return NotScannedReason::permission_denied;
    default: return NotScannedReason::io_error;
  }
}

// Why a PATH operand that is no regular file, directory or disk is not read, and what to do.
std::string special_operand_detail(mode_t mode) {
  std::string what;
  if (S_ISFIFO(mode)) {
    what = "a FIFO (named pipe), never opened: reading one can block forever";
  } else if (S_ISSOCK(mode)) {
    what = "a socket, never opened";
  } else if (S_ISCHR(mode)) {
    what = "a character device, never opened: reading one can hang or have side effects (a disk is a block device, "
           "opened as a disk image)";
  } else if (S_ISBLK(mode)) {
    what = "a block device that could not be opened as a disk image";
  } else {
    what = "file type " + std::to_string(mode & S_IFMT) + ", never opened";
  }
  return what + "; flscan reads regular files, directories and disks: copy the data to a file and scan that (with --image "
         "if it is a disk image)";
}

std::string symlink_target(const fs::path& link) {
  std::string target(4096, '\0');
  const ssize_t n = readlink_path(link.c_str(), target.data(), target.size());
  if (n < 0) return {};
  target.resize(static_cast<std::size_t>(n));
  return target;
}

// Reports to the visitor, counting instead of throwing when even that fails (it runs inside
// catch handlers of a TBB body, where nothing may escape).
class SafeReporter {
 public:
  explicit SafeReporter(WalkVisitor& visitor) : visitor_(visitor) {}

  void not_scanned(const fs::path& path, NotScannedReason reason, std::string detail) noexcept {
    try {
      visitor_.not_scanned(path, reason, std::move(detail));
    } catch (...) {
      lost_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] std::uint64_t lost() const { return lost_.load(); }

 private:
  WalkVisitor& visitor_;
  std::atomic<std::uint64_t> lost_{0};
};

class WalkRun {
 public:
  WalkRun(const WalkSettings& settings, const ExcludeMatcher& excludes, WalkVisitor& visitor)
      : settings_(settings), excludes_(excludes), visitor_(visitor), reporter_(visitor) {}

  // The TBB body: one item, every exception caught here (a throw would cancel the whole walk).
  void operator()(const Item& item, tbb::feeder<Item>& feeder) {
    try {
      if (item.is_root) {
        start_root(item, feeder);
      } else {
        dispatch(item, feeder);
      }
    } catch (const std::exception& e) {
      reporter_.not_scanned(item.path, NotScannedReason::internal_error, e.what());
    } catch (...) {
      reporter_.not_scanned(item.path, NotScannedReason::internal_error, "unknown exception");
    }
  }

  [[nodiscard]] std::uint64_t lost() const { return reporter_.lost(); }

 private:
  // The entry's shard key (shard.h): its path below the PATH operand, or the operand's name.
  static std::string key_of(const Item& item) {
    return item.relative.empty() ? operand_key(item.path.string()) : item.relative;
  }
  // True when this run reports the entry (no --shard, or its shard is this one).
  [[nodiscard]] bool owns(const std::string& key) const { return !settings_.shard || in_shard(key, *settings_.shard); }

  void skip(const Item& item, SkipReason reason, std::string detail) {
    if (owns(key_of(item))) visitor_.skipped(item.path, reason, std::move(detail));
  }

  void start_root(const Item& root, tbb::feeder<Item>& feeder) {
    Item item = root;
    struct stat lst {};
    if (stat_path(item.path.c_str(), &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode)) item.via_symlink = true;
    if (stat_path(item.path.c_str(), &item.st, 0) != 0) {
      const int error = errno;
      if (item.via_symlink && (error == ENOENT || error == ELOOP)) {
        skip(item, SkipReason::broken_symlink, "stat: " + errno_text(error));
        return;
      }
      const auto reason = error == ENOENT ? NotScannedReason::not_found : reason_for_errno(error);
      visitor_.not_scanned(item.path, reason, "stat: " + errno_text(error));
      return;
    }
    item.root_dev = item.st.st_dev;
    // An operand the user named is read, opened as an image (block devices: scan_job, before the
    // walk) or reported NOT SCANNED: never skipped as a special file inside a tree is (issue 12).
    if (!S_ISREG(item.st.st_mode) && !S_ISDIR(item.st.st_mode)) {
      visitor_.not_scanned(item.path, NotScannedReason::special_file, special_operand_detail(item.st.st_mode));
      return;
    }
    dispatch(item, feeder);
  }

  void dispatch(const Item& item, tbb::feeder<Item>& feeder) {
    const mode_t mode = item.st.st_mode;
    if (S_ISREG(mode)) {
      std::string key = key_of(item);
      if (owns(key)) {
        visitor_.file(FileEntry{item.path, item.via_symlink, std::move(key)});
      } else {
        visitor_.file_in_other_shard(item.path);
      }
    } else if (S_ISDIR(mode)) {
      list_directory(item, feeder);
    } else if (S_ISFIFO(mode)) {
      skip(item, SkipReason::fifo, "FIFO (named pipe)");
    } else if (S_ISSOCK(mode)) {
      skip(item, SkipReason::socket, "socket");
    } else if (S_ISBLK(mode)) {
      skip(item, SkipReason::device, "block device");
    } else if (S_ISCHR(mode)) {
      skip(item, SkipReason::device, "character device");
    } else {
      skip(item, SkipReason::other_type, "file type " + std::to_string(mode & S_IFMT));
    }
  }

  // The ancestor with the same identity as `st`, if this directory is being walked above itself.
  static const DirLink* find_loop(const Item& item) {
    for (const DirLink* link = item.ancestors.get(); link != nullptr; link = link->parent.get()) {
      if (link->dev == item.st.st_dev && link->ino == item.st.st_ino) return link;
    }
    return nullptr;
  }

  void list_directory(const Item& item, tbb::feeder<Item>& feeder) {
    if (item.depth > settings_.max_depth) {
      visitor_.not_scanned(item.path, NotScannedReason::too_deep,
                           "more than " + std::to_string(settings_.max_depth) + " directory levels below the PATH");
      return;
    }
    if (const DirLink* ancestor = find_loop(item)) {
      visitor_.not_scanned(item.path, NotScannedReason::loop,
                           "same directory as its ancestor " + ancestor->path + " (already being scanned)");
      return;
    }
    auto self = std::make_shared<const DirLink>(DirLink{item.st.st_dev, item.st.st_ino, item.path.string(), item.ancestors});

    // Opened with O_NOATIME where permitted (open_path.h): listing must not touch the tree.
    DirectoryReader reader(item.path.c_str());
    if (reader.error() != 0) {
      const int error = reader.error();
      const auto reason = error == ENOENT ? NotScannedReason::vanished : NotScannedReason::unlistable_directory;
      visitor_.not_scanned(item.path, reason, "opendir: " + errno_text(error));
      return;
    }
    if (owns(key_of(item))) visitor_.directory_listed(item.path);
    std::uint64_t listed = 0;
    while (const char* name = reader.next()) {
      visit_child(item, self, item.path / name, feeder);
      ++listed;
    }
    if (reader.error() != 0) {
      visitor_.not_scanned(item.path, NotScannedReason::unlistable_directory,
                           "readdir failed after " + std::to_string(listed) +
                               " entries: " + errno_text(reader.error()));
    }
  }

  void visit_child(const Item& parent, const std::shared_ptr<const DirLink>& parent_link, const fs::path& path,
                   tbb::feeder<Item>& feeder) {
    Item child;
    child.path = path;
    const std::string name = path.filename().string();
    child.relative = parent.relative.empty() ? name : parent.relative + "/" + name;
    if (const std::string* pattern = excludes_.match(name, child.relative)) {
      skip(child, SkipReason::excluded, "--exclude " + *pattern);
      return;
    }
    if (stat_path(path.c_str(), &child.st, AT_SYMLINK_NOFOLLOW) != 0) {
      const int error = errno;
      visitor_.not_scanned(path, reason_for_errno(error), "lstat: " + errno_text(error));
      return;
    }
    if (S_ISLNK(child.st.st_mode)) {
      if (!settings_.follow_symlinks) {
        skip(child, SkipReason::symlink, "-> " + symlink_target(path));
        return;
      }
      child.via_symlink = true;
      if (stat_path(path.c_str(), &child.st, 0) != 0) {
        const int error = errno;
        if (error == ENOENT || error == ELOOP || error == ENOTDIR) {
          skip(child, SkipReason::broken_symlink, "-> " + symlink_target(path) + ": " + errno_text(error));
        } else {
          visitor_.not_scanned(path, reason_for_errno(error), "stat: " + errno_text(error));
        }
        return;
      }
    }
    if (settings_.one_file_system && child.st.st_dev != parent.root_dev) {
      skip(child, SkipReason::other_filesystem, "mount point or other device");
      return;
    }
    if (!S_ISDIR(child.st.st_mode) && !S_ISREG(child.st.st_mode)) {
      dispatch(child, feeder);  // special files are only reported: nothing to queue
      return;
    }
    child.depth = parent.depth + 1;
    child.root_dev = parent.root_dev;
    child.ancestors = parent_link;
    feeder.add(std::move(child));
  }

  const WalkSettings& settings_;
  const ExcludeMatcher& excludes_;
  WalkVisitor& visitor_;
  SafeReporter reporter_;
};

}  // namespace

ExcludeMatcher::ExcludeMatcher(const std::vector<std::string>& patterns) {
  for (const std::string& original : patterns) {
    std::string glob = original;
    while (glob.size() > 1 && glob.back() == '/') glob.pop_back();
    if (glob.find('/') == std::string::npos) {
      if (!glob.empty()) name_patterns_.push_back({glob, original});
      continue;
    }
    if (glob.rfind("./", 0) == 0) {
      glob.erase(0, 2);
    } else if (glob.front() == '/') {
      glob.erase(0, 1);
    }
    if (!glob.empty()) path_patterns_.push_back({glob, original});
  }
}

const std::string* ExcludeMatcher::match(std::string_view name, std::string_view relative) const {
  if (empty()) return nullptr;
  // fnmatch needs NUL-terminated strings; names never contain NUL.
  const std::string name_z(name);
  for (const Pattern& pattern : name_patterns_) {
    if (::fnmatch(pattern.glob.c_str(), name_z.c_str(), 0) == 0) return &pattern.original;
  }
  const std::string relative_z(relative);
  for (const Pattern& pattern : path_patterns_) {
    if (::fnmatch(pattern.glob.c_str(), relative_z.c_str(), FNM_PATHNAME) == 0) return &pattern.original;
  }
  return nullptr;
}

Walker::Walker(WalkSettings settings) : settings_(std::move(settings)), excludes_(settings_.excludes) {}

std::uint64_t Walker::walk(const std::vector<fs::path>& roots, WalkVisitor& visitor) const {
  std::vector<Item> items;
  items.reserve(roots.size());
  for (const fs::path& root : roots) {
    Item item;
    item.path = root;
    item.is_root = true;
    items.push_back(std::move(item));
  }
  WalkRun run(settings_, excludes_, visitor);
  tbb::parallel_for_each(items.begin(), items.end(),
                         [&run](const Item& item, tbb::feeder<Item>& feeder) { run(item, feeder); });
  return run.lost();
}

}  // namespace flscan::scanner
