#include "scanner/walk/walker.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <new>
#include <utility>

#include <tbb/parallel_for_each.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include "engine/limits.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/open_path.h"
#include "scanner/walk/dir_handle.h"
#include "scanner/walk/read_order.h"

namespace flscan::scanner {
namespace fs = boost::filesystem;

namespace {

struct Item {
  fs::path path;
  std::string relative;  // below the PATH operand, '/'-separated; empty for the operand itself
  std::size_t depth = 0;
  bool is_root = false;
  bool via_symlink = false;
  struct stat st {};  // for non-roots: what listing the parent found (lstat, or stat if followed)
  dev_t root_dev = 0;
  // The directory whose listing found this entry (null for a PATH operand) and the entry's name
  // in it: everything about the entry is done relative to that directory's descriptor. The
  // handles' parent chain is also the list of ancestors loop detection compares against; it is
  // shared (immutable) by every item below, so the check needs no lock and no global set.
  std::shared_ptr<DirHandle> parent;
  std::string name;
  bool disk_order = false;  // its PATH operand's files are read in disk order (read_order.h)
};

// A regular file of the directory being listed, held for its turn in disk order: what the listing
// found of it, no more (its path and key are made again when it is read, so a batch of
// limits::kMaxReadOrderBatch files costs about their names).
struct HeldFile {
  std::string name;
  bool via_symlink = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
};

// How a failed lstat/stat/opendir maps onto the report: gone means it vanished after its parent
// was listed; refused is a permission problem; anything else is an I/O error.
NotScannedReason reason_for_errno(int error) {
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return NotScannedReason::vanished;
    case EACCES:
    case EPERM:
      return NotScannedReason::permission_denied;
    default:
      return NotScannedReason::io_error;
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
    what =
        "a character device, never opened: reading one can hang or have side effects (a disk is a block device, "
        "opened as a disk image)";
  } else if (S_ISBLK(mode)) {
    what = "a block device that could not be opened as a disk image";
  } else {
    what = "file type " + std::to_string(mode & S_IFMT) + ", never opened";
  }
  return what +
         "; flscan reads regular files, directories and disks: copy the data to a file and scan that (with --image "
         "if it is a disk image)";
}

std::string symlink_target(int dir_fd, const char* name) {
  std::string target(4096, '\0');
  const ssize_t n = ::readlinkat(dir_fd, name, target.data(), target.size());
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

// One walk: the TBB body for every item (a PATH operand or an entry a listing found), and what it
// reports to the visitor. An operand is examined by its name (start_root); every other entry was
// examined by its parent's listing (visit_child) and is only dispatched: a regular file goes to
// the visitor, a directory is listed, its entries examined and its subdirectories and files fed
// back as items; anything else is reported skipped.
class WalkRun {
 public:
  WalkRun(const WalkSettings& settings, const ExcludeMatcher& excludes, WalkVisitor& visitor,
          std::shared_ptr<DirCache> cache, const std::function<void(const fs::path&)>& before_open_directory)
      : settings_(settings),
        excludes_(excludes),
        visitor_(visitor),
        reporter_(visitor),
        cache_(std::move(cache)),
        before_open_directory_(before_open_directory) {}

  // The TBB body: one item, every exception caught here (a throw would cancel the whole walk).
  void operator()(const Item& item, tbb::feeder<Item>& feeder);
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

  void start_root(const Item& root, tbb::feeder<Item>& feeder);
  void dispatch(const Item& item, tbb::feeder<Item>& feeder);
  [[nodiscard]] FileEntry file_entry(const Item& item, std::string key) const;

  // Directories.
  [[nodiscard]] bool may_list(const Item& item);
  tl::expected<DirLease, DirError> open_directory(const Item& item);
  void list_directory(const Item& item, tbb::feeder<Item>& feeder);

  // Entries of a directory being listed; in disk order its regular files to read go to `held`
  // (null in listing order) instead of the feeder.
  void visit_child(const Item& parent, const DirLease& dir, const char* name, tbb::feeder<Item>& feeder,
                   std::vector<HeldFile>* held);
  // Disk order: the held files of `directory` to the visitor by first physical byte; empties `held`.
  void read_in_disk_order(const Item& directory, const DirLease& dir, std::vector<HeldFile>& held);
  void read_held_file(const Item& directory, const DirLease& dir, const HeldFile& file) noexcept;
  [[nodiscard]] bool stat_child(const DirLease& dir, const char* name, Item& child);
  [[nodiscard]] bool follow_child_symlink(const DirLease& dir, const char* name, Item& child);

  const WalkSettings& settings_;
  const ExcludeMatcher& excludes_;
  WalkVisitor& visitor_;
  SafeReporter reporter_;
  std::shared_ptr<DirCache> cache_;
  const std::function<void(const fs::path&)>& before_open_directory_;
  ExtentProbe extents_;
};

void WalkRun::operator()(const Item& item, tbb::feeder<Item>& feeder) {
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

void WalkRun::start_root(const Item& root, tbb::feeder<Item>& feeder) {
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
  // Once per operand (read_order.h): every directory below it reads its files in this order.
  if (S_ISDIR(item.st.st_mode)) {
    const ReadOrderChoice choice = choose_read_order(settings_.read_order, item.st.st_dev, settings_.sysfs_root);
    item.disk_order = choice.order == ReadOrder::disk;
    visitor_.read_order_chosen(item.path, choice);
  }
  dispatch(item, feeder);
}

void WalkRun::dispatch(const Item& item, tbb::feeder<Item>& feeder) {
  const mode_t mode = item.st.st_mode;
  if (S_ISREG(mode)) {
    std::string key = key_of(item);
    if (owns(key)) {
      visitor_.file(file_entry(item, std::move(key)));
    } else {
      visitor_.file_in_other_shard(file_entry(item, std::move(key)));
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

// Where and how the visitor opens a regular file: relative to the directory that listed it, and
// checked against what the listing decided on (ExpectedFile, file_reader.h).
FileEntry WalkRun::file_entry(const Item& item, std::string key) const {
  FileEntry entry{item.path, item.via_symlink, std::move(key), item.parent, item.name, {}, 0};
  entry.expected.dev = item.st.st_dev;
  entry.expected.ino = item.st.st_ino;
  entry.listed_size = static_cast<std::uint64_t>(item.st.st_size);
  if (item.is_root || item.via_symlink) {
    entry.expected.same = ExpectSame::file;
  } else if (settings_.one_file_system) {
    entry.expected.same = ExpectSame::device;
  }
  if (item.is_root) entry.name = item.path.string();
  return entry;
}

// The ancestor with the same identity as `st`, if this directory is being walked above itself.
const DirHandle* find_loop(const Item& item) {
  for (const DirHandle* link = item.parent.get(); link != nullptr; link = link->parent().get()) {
    if (link->identity().dev == item.st.st_dev && link->identity().ino == item.st.st_ino) return link;
  }
  return nullptr;
}

// False, with the directory reported NOT SCANNED, when it is too deep or an ancestor of itself.
bool WalkRun::may_list(const Item& item) {
  if (item.depth > settings_.max_depth) {
    visitor_.not_scanned(item.path, NotScannedReason::too_deep,
                         "more than " + std::to_string(settings_.max_depth) + " directory levels below the PATH");
    return false;
  }
  if (const DirHandle* ancestor = find_loop(item)) {
    visitor_.not_scanned(item.path, NotScannedReason::loop,
                         "same directory as its ancestor " + ancestor->path() + " (already being scanned)");
    return false;
  }
  return true;
}

// Opens the directory of `item`: a PATH operand by its name, anything else relative to its
// parent's descriptor, checked against the identity its listing recorded (dir_handle.h).
tl::expected<DirLease, DirError> WalkRun::open_directory(const Item& item) {
  const DirIdentity identity{item.st.st_dev, item.st.st_ino};
  if (item.is_root) return DirHandle::open_root(cache_, item.path.string(), identity);
  if (before_open_directory_) before_open_directory_(item.path);
  return DirHandle::open_child(item.parent, item.name, item.path.string(), item.via_symlink, identity);
}

void WalkRun::list_directory(const Item& item, tbb::feeder<Item>& feeder) {
  if (!may_list(item)) return;
  auto lease = open_directory(item);
  if (!lease) {
    DirError& error = lease.error();
    if (error.other_device && settings_.one_file_system) {
      skip(item, SkipReason::other_filesystem, "mount point or other device (mounted after its parent was listed)");
    } else {
      visitor_.not_scanned(item.path, error.reason, std::move(error.detail));
    }
    return;
  }
  if (owns(key_of(item))) visitor_.directory_listed(item.path);
  DirectoryListing listing(lease->fd());
  std::uint64_t listed = 0;
  std::vector<HeldFile> held;
  std::vector<HeldFile>* const hold = item.disk_order ? &held : nullptr;
  while (const char* name = listing.next()) {
    visit_child(item, *lease, name, feeder, hold);
    ++listed;
    if (held.size() >= limits::kMaxReadOrderBatch) read_in_disk_order(item, *lease, held);
  }
  if (listing.error() != 0) {
    visitor_.not_scanned(
        item.path, NotScannedReason::unlistable_directory,
        "getdents64 failed after " + std::to_string(listed) + " entries: " + errno_text(listing.error()));
  }
  read_in_disk_order(item, *lease, held);
}

// The batch's files by first physical byte (sort_by_disk_position), then read like the disk
// images' files (scan_job.cpp): this thread and up to max_concurrency - 1 tasks each take the next
// file through one atomic index, so the reads leave in disk order while the hashing of several
// files overlaps. Isolated, so that while this thread waits for the batch's last files it runs
// none of the walk's other items (a wait that picked up another directory, whose batch waited in
// turn, would nest without bound); idle threads outside still join the batch's tasks.
void WalkRun::read_in_disk_order(const Item& directory, const DirLease& dir, std::vector<HeldFile>& held) {
  if (held.empty()) return;
  std::vector<PlacedFile> order;
  try {
    order.resize(held.size());
  } catch (const std::bad_alloc&) {
    // No room to sort: the batch is read as listed rather than lost.
    for (const HeldFile& file : held) read_held_file(directory, dir, file);
    held.clear();
    return;
  }
  for (std::size_t i = 0; i < held.size(); ++i) {
    const HeldFile& file = held[i];
    // A followed symlink is not opened without O_NOFOLLOW here: it goes last, as listed.
    order[i].physical =
        file.via_symlink ? kNoExtent : extents_.first_physical_byte(dir.fd(), file.name.c_str(), file.dev, file.ino);
    order[i].listing_index = i;
  }
  sort_by_disk_position(order);
  std::atomic<std::size_t> next{0};
  const auto take_files = [&] {
    for (std::size_t i = next++; i < order.size(); i = next++)
      read_held_file(directory, dir, held[order[i].listing_index]);
  };
  const auto concurrency = static_cast<std::size_t>(std::max(1, tbb::this_task_arena::max_concurrency()));
  const std::size_t helpers = std::min(concurrency, order.size()) - 1;
  tbb::this_task_arena::isolate([&] {
    tbb::task_group group;
    try {
      for (std::size_t h = 0; h < helpers; ++h) group.run(take_files);
    } catch (...) {
      // Fewer helpers (out of memory): this thread reads what they would have.
    }
    take_files();
    group.wait();
  });
  held.clear();
}

// One held file to the visitor, as dispatch hands a queued one (every exception caught: this runs
// in a task of the batch, where a throw would cancel the batch's other files).
void WalkRun::read_held_file(const Item& directory, const DirLease& dir, const HeldFile& file) noexcept {
  fs::path path;
  try {
    Item child;
    child.path = directory.path / file.name;
    path = child.path;
    child.name = file.name;
    child.relative = directory.relative.empty() ? child.name : directory.relative + "/" + child.name;
    child.via_symlink = file.via_symlink;
    child.st.st_mode = S_IFREG;
    child.st.st_dev = file.dev;
    child.st.st_ino = file.ino;
    child.st.st_size = file.size;
    child.parent = dir.handle();
    std::string key = key_of(child);
    visitor_.file(file_entry(child, std::move(key)));
  } catch (const std::exception& e) {
    reporter_.not_scanned(path, NotScannedReason::internal_error, e.what());
  } catch (...) {
    reporter_.not_scanned(path, NotScannedReason::internal_error, "unknown exception");
  }
}

// One entry of a directory being listed, examined relative to the directory's descriptor.
void WalkRun::visit_child(const Item& parent, const DirLease& dir, const char* name, tbb::feeder<Item>& feeder,
                          std::vector<HeldFile>* held) {
  Item child;
  child.path = parent.path / name;
  child.name = name;
  child.relative = parent.relative.empty() ? child.name : parent.relative + "/" + child.name;
  if (const std::string* pattern = excludes_.match(child.name, child.relative)) {
    skip(child, SkipReason::excluded, "--exclude " + *pattern);
    return;
  }
  if (!stat_child(dir, name, child)) return;
  if (settings_.one_file_system && child.st.st_dev != parent.root_dev) {
    skip(child, SkipReason::other_filesystem, "mount point or other device");
    return;
  }
  if (!S_ISDIR(child.st.st_mode) && !S_ISREG(child.st.st_mode)) {
    dispatch(child, feeder);  // special files are only reported: nothing to queue
    return;
  }
  // Disk order: a file this walk reads waits for its turn in the directory's batch; one another
  // shard owns is handed on at once (dispatch), as in listing order.
  if (held != nullptr && S_ISREG(child.st.st_mode) && owns(key_of(child))) {
    held->push_back(HeldFile{child.name, child.via_symlink, child.st.st_dev, child.st.st_ino, child.st.st_size});
    return;
  }
  child.depth = parent.depth + 1;
  child.root_dev = parent.root_dev;
  child.parent = dir.handle();
  child.disk_order = parent.disk_order;
  feeder.add(std::move(child));
}

// child.st from an lstat of the entry, or from a stat when it is a symbolic link the walk follows;
// false when the entry is reported instead (it vanished, a link not followed, a broken link).
bool WalkRun::stat_child(const DirLease& dir, const char* name, Item& child) {
  if (::fstatat(dir.fd(), name, &child.st, AT_SYMLINK_NOFOLLOW) != 0) {
    const int error = errno;
    visitor_.not_scanned(child.path, reason_for_errno(error), "lstat: " + errno_text(error));
    return false;
  }
  if (!S_ISLNK(child.st.st_mode)) return true;
  if (!settings_.follow_symlinks) {
    skip(child, SkipReason::symlink, "-> " + symlink_target(dir.fd(), name));
    return false;
  }
  return follow_child_symlink(dir, name, child);
}

bool WalkRun::follow_child_symlink(const DirLease& dir, const char* name, Item& child) {
  child.via_symlink = true;
  if (::fstatat(dir.fd(), name, &child.st, 0) == 0) return true;
  const int error = errno;
  if (error == ENOENT || error == ELOOP || error == ENOTDIR) {
    skip(child, SkipReason::broken_symlink, "-> " + symlink_target(dir.fd(), name) + ": " + errno_text(error));
  } else {
    visitor_.not_scanned(child.path, reason_for_errno(error), "stat: " + errno_text(error));
  }
  return false;
}

// The parallel_for_each body. An item added through the feeder lives in a TBB task that signals
// completion before it destroys the item (oneTBB 2021: feeder_item_task::finalize releases the
// wait context, then deletes the task). The body therefore takes such an item by rvalue and moves
// it out, so its path, name and directory handle are gone before walk() can return: nothing of
// the walk (no descriptor, no allocation) outlives it on a worker thread.
struct ItemBody {
  WalkRun& run;
  void operator()(const Item& item, tbb::feeder<Item>& feeder) const { run(item, feeder); }
  void operator()(Item&& item, tbb::feeder<Item>& feeder) const {
    const Item owned = std::move(item);
    run(owned, feeder);
  }
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
  // Declared before the run: the last directory handles are released with the run's items.
  auto cache = std::make_shared<DirCache>(open_directory_cap());
  WalkRun run(settings_, excludes_, visitor, cache, before_open_directory);
  tbb::parallel_for_each(items.begin(), items.end(), ItemBody{run});
  return run.lost();
}

}  // namespace flscan::scanner
