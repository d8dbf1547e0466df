// Directories of the walk held by descriptor, so that nothing the walk reads or lists is reached
// by resolving a full path again (issue 13, item 3). A directory swapped for a symbolic link, or
// another directory moved into its place, between the listing of its parent and the opening of
// anything below it cannot take the scan out of its PATH: every directory below a PATH operand is
// opened with openat(parent, name, O_DIRECTORY | O_NOFOLLOW) relative to the descriptor of the
// directory the walk itself opened, its identity (st_dev, st_ino, by fstat of the new descriptor)
// must be the one the listing of its parent recorded, and its entries are examined (fstatat) and
// its files opened (openat) relative to that descriptor. Only a PATH operand is opened by its name
// (the user named it; it is followed when a symlink, as before), and it too must still be what
// stat said. With --follow-symlinks the walk resolves a symlink on purpose: O_NOFOLLOW is dropped
// for that one name, and the identity check still holds the descriptor to the target the listing
// examined.
//
// Descriptors are bounded. A parallel work-stealing walk leaves entries of many directories
// waiting at once (each worker goes depth first and leaves the rest of every level behind it), so
// keeping every such directory open would cost one descriptor per level of a deep tree, past
// RLIMIT_NOFILE. Instead a DirHandle is a shared, reference-counted record of one directory (its
// name in its parent, its identity, its parent's handle) whose descriptor is a cache: opened when
// first leased, kept while leases hold it, and at most open_directory_cap() descriptors stay open
// when idle; past that the least recently used idle one is closed. A closed handle that is leased
// again is re-opened from its nearest open ancestor, one name at a time, each with O_NOFOLLOW
// (unless the walk followed that very link) and each checked against the recorded identity: a
// swapped component then fails the check ("replaced") instead of redirecting the walk. A PATH
// operand's handle is re-opened by its name and checked the same way. In an ordinary tree
// nothing is ever re-opened (a directory's descriptor lives from its listing until its last file
// is read); the cap only bites on trees deeper or wider-in-flight than it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "scanner/platform/fd.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

// A directory's identity as the walk decided on it: what the listing of its parent saw (lstat, or
// stat through a link the walk follows), or what stat said of a PATH operand.
struct DirIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
};

// Why a directory could not be opened or re-opened: the report's reason and the detail.
// `other_device` is set when the opened directory is on another device than the one recorded (a
// filesystem mounted on it after it was listed): --one-file-system reports that as a skip.
struct DirError {
  NotScannedReason reason = NotScannedReason::io_error;
  std::string detail;
  bool other_device = false;
};

class DirCache;
class DirHandle;

// Holds a directory's descriptor open (and the handle alive); movable, released on destruction.
class DirLease {
 public:
  DirLease() = default;
  DirLease(DirLease&& other) noexcept : handle_(std::move(other.handle_)), fd_(std::exchange(other.fd_, -1)) {}
  DirLease& operator=(DirLease&& other) noexcept;
  DirLease(const DirLease&) = delete;
  DirLease& operator=(const DirLease&) = delete;
  ~DirLease() { release(); }

  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] const std::shared_ptr<DirHandle>& handle() const { return handle_; }

 private:
  friend class DirCache;
  DirLease(std::shared_ptr<DirHandle> handle, int fd) : handle_(std::move(handle)), fd_(fd) {}
  void release();

  std::shared_ptr<DirHandle> handle_;
  int fd_ = -1;
};

class DirHandle : public std::enable_shared_from_this<DirHandle> {
 public:
  // A PATH operand, opened by `path` (followed when a symlink, any length: open_path.h); it must
  // be the directory `identity` names.
  [[nodiscard]] static tl::expected<DirLease, DirError> open_root(const std::shared_ptr<DirCache>& cache,
                                                                  const std::string& path, DirIdentity identity);
  // The directory `name` in `parent`, opened relative to the parent's descriptor with O_NOFOLLOW
  // (unless `follow`: the walk follows this symlink on purpose); it must be the directory
  // `identity` names. `path` is how reports name it.
  [[nodiscard]] static tl::expected<DirLease, DirError> open_child(const std::shared_ptr<DirHandle>& parent,
                                                                   std::string name, std::string path, bool follow,
                                                                   DirIdentity identity);

  DirHandle(const DirHandle&) = delete;
  DirHandle& operator=(const DirHandle&) = delete;
  ~DirHandle();

  // A lease on the descriptor, re-opening it (and any closed ancestor) as described above when it
  // was closed meanwhile.
  [[nodiscard]] tl::expected<DirLease, DirError> lease();

  [[nodiscard]] const DirIdentity& identity() const { return identity_; }
  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const std::shared_ptr<DirHandle>& parent() const { return parent_; }

 private:
  friend class DirCache;
  friend class DirLease;
  DirHandle(std::shared_ptr<DirCache> cache, std::shared_ptr<DirHandle> parent, std::string name, std::string path,
            bool follow, DirIdentity identity);
  // Opens this directory relative to `parent_fd` (by its path for a PATH operand) and checks it.
  [[nodiscard]] tl::expected<int, DirError> open_descriptor(int parent_fd) const;
  // Opens and installs the descriptor of this handle, whose parent is leased as `parent`.
  [[nodiscard]] tl::expected<DirLease, DirError> open_below(const DirLease* parent);

  std::shared_ptr<DirCache> cache_;
  std::shared_ptr<DirHandle> parent_;  // null for a PATH operand
  std::string name_;                   // the name in the parent; the path for a PATH operand
  std::string path_;                   // for reports
  bool follow_ = false;
  DirIdentity identity_;
  // Guarded by the cache's mutex: the descriptor, its leases, and the links of the cache's list of
  // idle descriptors (least recently released first).
  int fd_ = -1;
  std::size_t leases_ = 0;
  DirHandle* idle_prev_ = nullptr;
  DirHandle* idle_next_ = nullptr;
  bool idle_ = false;
};

// The directory descriptors of one walk: how many are open, and which idle ones to close first.
class DirCache {
 public:
  explicit DirCache(std::size_t cap) : cap_(cap) {}
  DirCache(const DirCache&) = delete;
  DirCache& operator=(const DirCache&) = delete;
  [[nodiscard]] std::size_t open_count() const;
  [[nodiscard]] std::size_t cap() const { return cap_; }

 private:
  friend class DirHandle;
  friend class DirLease;
  // A lease on `handle` if its descriptor is open; else an empty lease (fd -1).
  DirLease try_lease(DirHandle& handle);
  // Makes `fd` `handle`'s descriptor (or takes the one another thread installed first and closes
  // `fd`) and leases it; then closes idle descriptors past the cap.
  DirLease install(DirHandle& handle, int fd);
  void release(DirHandle& handle);
  void forget(DirHandle& handle);
  // With the mutex held.
  void unlink_idle(DirHandle& handle);
  void evict(std::vector<Fd>& closing);  // appends what to close once the mutex is released

  mutable std::mutex mutex_;
  std::size_t cap_;
  std::size_t open_ = 0;
  DirHandle* idle_head_ = nullptr;  // least recently released
  DirHandle* idle_tail_ = nullptr;
};

// The cap for this process: limits::kMaxOpenDirectories, lowered to a quarter of RLIMIT_NOFILE's
// soft limit (files being read, reports and the quarantine need descriptors too), never below
// limits::kMinOpenDirectories.
[[nodiscard]] std::size_t open_directory_cap();

// The names in a directory, read with getdents64 from a descriptor the caller keeps (a leased one:
// fdopendir would take it over). Never yields "." or "..". Order: as the filesystem returns them.
// Each record is bounds-checked against what the kernel returned.
class DirectoryListing {
 public:
  explicit DirectoryListing(int fd);
  // The next name, valid until the next call; nullptr at the end or on an error.
  [[nodiscard]] const char* next();
  // 0, or the errno of the getdents64 that ended the listing.
  [[nodiscard]] int error() const { return error_; }

 private:
  int fd_;
  std::unique_ptr<char[]> buffer_;
  std::size_t size_ = 0;      // bytes the last getdents64 returned
  std::size_t position_ = 0;  // the next record
  int error_ = 0;
  bool done_ = false;
};

}  // namespace flscan::scanner
