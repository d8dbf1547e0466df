#include "scanner/walk/dir_handle.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "engine/limits.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/open_path.h"

namespace flscan::scanner {
namespace {

// O_NOATIME keeps listing from touching the tree (open_path.h). O_NONBLOCK: should the name have
// become a FIFO, O_DIRECTORY refuses it anyway, but open must not wait first.
int open_directory(int parent_fd, const char* name, bool follow) {
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK;
  if (!follow) flags |= O_NOFOLLOW;
  return open_noatime_at(parent_fd, name, flags);
}

// What a failed open of a listed directory means. O_NOFOLLOW | O_DIRECTORY on what is now a
// symlink fails with ENOTDIR (ELOOP without O_DIRECTORY): an lstat of the name tells which swap it
// was, for the report.
DirError open_error(int error, int parent_fd, const char* name, bool follow) {
  if (error == ENOENT) return {NotScannedReason::vanished, "open: " + errno_text(error), false};
  if (error == ENOTDIR || (error == ELOOP && !follow)) {
    struct stat st {};
    const bool is_link = !follow && ::fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    return {NotScannedReason::replaced,
            is_link ? "open: now a symbolic link (was a directory when listed)" : "open: no longer a directory", false};
  }
  return {NotScannedReason::unlistable_directory, "open: " + errno_text(error), false};
}

}  // namespace

// --- DirLease ---------------------------------------------------------------------------------

DirLease& DirLease::operator=(DirLease&& other) noexcept {
  if (this != &other) {
    release();
    handle_ = std::move(other.handle_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void DirLease::release() {
  if (handle_ && fd_ >= 0) handle_->cache_->release(*handle_);
  handle_.reset();
  fd_ = -1;
}

// --- DirCache ---------------------------------------------------------------------------------

std::size_t DirCache::open_count() const {
  const std::lock_guard lock(mutex_);
  return open_;
}

void DirCache::unlink_idle(DirHandle& handle) {
  if (!handle.idle_) return;
  (handle.idle_prev_ != nullptr ? handle.idle_prev_->idle_next_ : idle_head_) = handle.idle_next_;
  (handle.idle_next_ != nullptr ? handle.idle_next_->idle_prev_ : idle_tail_) = handle.idle_prev_;
  handle.idle_prev_ = handle.idle_next_ = nullptr;
  handle.idle_ = false;
}

void DirCache::evict(std::vector<Fd>& closing) {
  while (open_ > cap_ && idle_head_ != nullptr) {
    DirHandle& oldest = *idle_head_;
    unlink_idle(oldest);
    closing.emplace_back(std::exchange(oldest.fd_, -1));
    --open_;
  }
}

DirLease DirCache::try_lease(DirHandle& handle) {
  const std::lock_guard lock(mutex_);
  if (handle.fd_ < 0) return {};
  unlink_idle(handle);
  ++handle.leases_;
  return DirLease(handle.shared_from_this(), handle.fd_);
}

DirLease DirCache::install(DirHandle& handle, int fd) {
  std::vector<Fd> closing;  // closed on return, once the mutex is released
  DirLease lease;
  {
    const std::lock_guard lock(mutex_);
    if (handle.fd_ >= 0) {
      closing.emplace_back(fd);  // another thread re-opened it first: one descriptor per handle
      unlink_idle(handle);
    } else {
      handle.fd_ = fd;
      ++open_;
    }
    ++handle.leases_;
    lease = DirLease(handle.shared_from_this(), handle.fd_);
    evict(closing);
  }
  return lease;
}

void DirCache::release(DirHandle& handle) {
  std::vector<Fd> closing;  // closed on return, once the mutex is released
  {
    const std::lock_guard lock(mutex_);
    if (--handle.leases_ == 0 && handle.fd_ >= 0) {
      // Most recently released last: eviction takes from the head.
      handle.idle_prev_ = idle_tail_;
      handle.idle_next_ = nullptr;
      (idle_tail_ != nullptr ? idle_tail_->idle_next_ : idle_head_) = &handle;
      idle_tail_ = &handle;
      handle.idle_ = true;
      evict(closing);
    }
  }
}

void DirCache::forget(DirHandle& handle) {
  Fd closing;  // closed on return, once the mutex is released
  {
    const std::lock_guard lock(mutex_);
    unlink_idle(handle);
    if (handle.fd_ >= 0) --open_;
    closing = Fd(std::exchange(handle.fd_, -1));
  }
}

// --- DirHandle --------------------------------------------------------------------------------

DirHandle::DirHandle(std::shared_ptr<DirCache> cache, std::shared_ptr<DirHandle> parent, std::string name,
                     std::string path, bool follow, DirIdentity identity)
    : cache_(std::move(cache)),
      parent_(std::move(parent)),
      name_(std::move(name)),
      path_(std::move(path)),
      follow_(follow),
      identity_(identity) {}

DirHandle::~DirHandle() { cache_->forget(*this); }

tl::expected<int, DirError> DirHandle::open_descriptor(int parent_fd) const {
  Fd fd(open_directory(parent_fd, name_.c_str(), follow_));
  if (!fd.valid()) return tl::make_unexpected(open_error(errno, parent_fd, name_.c_str(), follow_));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return tl::make_unexpected(DirError{NotScannedReason::io_error, "fstat: " + errno_text(errno), false});
  }
  if (st.st_dev != identity_.dev || st.st_ino != identity_.ino) {
    if (st.st_dev != identity_.dev) {
      return tl::make_unexpected(DirError{NotScannedReason::replaced,
                                          "open: on another device than when listed (a filesystem mounted on it since)",
                                          true});
    }
    return tl::make_unexpected(
        DirError{NotScannedReason::replaced, "open: a different directory than the one listed", false});
  }
  return fd.release();
}

tl::expected<DirLease, DirError> DirHandle::open_below(const DirLease* parent) {
  auto fd = open_descriptor(parent != nullptr ? parent->fd() : AT_FDCWD);
  if (!fd) return tl::make_unexpected(std::move(fd.error()));
  return cache_->install(*this, *fd);
}

tl::expected<DirLease, DirError> DirHandle::open_root(const std::shared_ptr<DirCache>& cache, const std::string& path,
                                                      DirIdentity identity) {
  const std::shared_ptr<DirHandle> handle(new DirHandle(cache, nullptr, path, path, true, identity));
  return handle->open_below(nullptr);
}

tl::expected<DirLease, DirError> DirHandle::open_child(const std::shared_ptr<DirHandle>& parent, std::string name,
                                                       std::string path, bool follow, DirIdentity identity) {
  const std::shared_ptr<DirHandle> handle(
      new DirHandle(parent->cache_, parent, std::move(name), std::move(path), follow, identity));
  auto parent_lease = parent->lease();
  if (!parent_lease) return tl::make_unexpected(std::move(parent_lease.error()));
  return handle->open_below(&*parent_lease);
}

tl::expected<DirLease, DirError> DirHandle::lease() {
  DirLease held = cache_->try_lease(*this);
  if (held.fd() >= 0) return held;
  // Closed since: up to the nearest ancestor still open (or the PATH operand, opened by name),
  // then down again one name at a time, each checked against its recorded identity. The chain is
  // at most the walk's depth (limits::kMaxDirectoryDepth) long.
  std::vector<DirHandle*> closed{this};
  DirLease base;
  while (true) {
    DirHandle* top = closed.back();
    if (top->parent_ == nullptr) {
      auto opened = top->open_below(nullptr);
      if (!opened) {
        opened.error().detail = top->path_ + ": " + opened.error().detail;
        return tl::make_unexpected(std::move(opened.error()));
      }
      base = std::move(*opened);
      closed.pop_back();
      break;
    }
    base = cache_->try_lease(*top->parent_);
    if (base.fd() >= 0) break;
    closed.push_back(top->parent_.get());
  }
  while (!closed.empty()) {
    DirHandle* next = closed.back();
    closed.pop_back();
    DirLease opened = cache_->try_lease(*next);
    if (opened.fd() < 0) {
      auto fresh = next->open_below(&base);
      if (!fresh) {
        // Name the directory that no longer matches: it may be an ancestor of this one.
        fresh.error().detail = next->path_ + ": " + fresh.error().detail;
        return tl::make_unexpected(std::move(fresh.error()));
      }
      opened = std::move(*fresh);
    }
    base = std::move(opened);
  }
  return base;
}

std::size_t open_directory_cap() {
  std::size_t cap = limits::kMaxOpenDirectories;
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY) {
    cap = std::min<std::size_t>(cap, static_cast<std::size_t>(nofile.rlim_cur / 4));
  }
  return std::max(cap, limits::kMinOpenDirectories);
}

// --- DirectoryListing -------------------------------------------------------------------------

DirectoryListing::DirectoryListing(int fd) : fd_(fd), buffer_(new char[limits::kDirectoryReadBytes]) {}

const char* DirectoryListing::next() {
  // struct dirent64 as getdents64 writes it: d_ino (8), d_off (8), d_reclen (2), d_type (1),
  // d_name (NUL-terminated, padded to the record length).
  constexpr std::size_t kNameOffset = offsetof(struct dirent64, d_name);
  while (!done_) {
    if (position_ >= size_) {
      const ssize_t n = ::getdents64(fd_, buffer_.get(), limits::kDirectoryReadBytes);
      if (n < 0) {
        if (errno == EINTR) continue;
        error_ = errno;
        done_ = true;
        return nullptr;
      }
      if (n == 0) {
        done_ = true;
        return nullptr;
      }
      size_ = static_cast<std::size_t>(n);
      position_ = 0;
    }
    const std::size_t left = size_ - position_;
    std::uint16_t record_length = 0;
    if (left < kNameOffset + 1) break;
    std::memcpy(&record_length, buffer_.get() + position_ + offsetof(struct dirent64, d_reclen), sizeof record_length);
    if (record_length < kNameOffset + 1 || record_length > left) break;
    const char* name = buffer_.get() + position_ + kNameOffset;
    const std::size_t name_room = record_length - kNameOffset;
    position_ += record_length;
    if (std::memchr(name, '\0', name_room) == nullptr) break;
    if (std::strcmp(name, ".") != 0 && std::strcmp(name, "..") != 0) return name;
  }
  if (!done_) {
    // A record that does not fit what the kernel returned: never guess past it.
    error_ = EIO;
    done_ = true;
  }
  return nullptr;
}

}  // namespace flscan::scanner
