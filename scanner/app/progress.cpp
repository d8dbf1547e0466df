#include "scanner/app/progress.h"

#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>

namespace flscan::scanner {
namespace {

// At most 10 redraws a second.
constexpr std::chrono::milliseconds kRedrawInterval{100};
// The line is cut to fit an 80-column terminal.
constexpr std::size_t kMaxLineWidth = 79;

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return buf;
}

// True when `path` is the root of a mounted file system: its device differs from its parent's, or
// it is its own parent (/).
bool is_mount_root(const std::string& path) {
  struct stat self {
  }, parent{};
  if (::stat(path.c_str(), &self) != 0 || !S_ISDIR(self.st_mode)) return false;
  if (::stat((path + "/..").c_str(), &parent) != 0) return false;
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

void write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;  // a progress line is not worth an error
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

ProgressMeter::ProgressMeter(bool enabled, int fd) : enabled_(enabled), fd_(fd) {
  if (enabled_) thread_ = std::thread([this] { run(); });
}

ProgressMeter::~ProgressMeter() { finish(); }

void ProgressMeter::estimate_from_paths(const std::vector<std::string>& paths) {
  std::uint64_t total = 0;
  for (const std::string& path : paths) {
    struct statvfs fs {};
    if (!is_mount_root(path) || ::statvfs(path.c_str(), &fs) != 0 || fs.f_files == 0) return;
    total += fs.f_files - fs.f_ffree;
  }
  std::lock_guard lock(mutex_);
  if (total > 0) total_entries_ = total;
}

void ProgressMeter::set_phase(std::string phase) {
  std::lock_guard lock(mutex_);
  phase_ = std::move(phase);
}

std::string ProgressMeter::line() const {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::uint64_t files = files_.load(std::memory_order_relaxed);
  const std::uint64_t bytes = bytes_.load(std::memory_order_relaxed);
  std::string phase;
  std::optional<std::uint64_t> total;
  {
    std::lock_guard lock(mutex_);
    phase = phase_;
    total = total_entries_;
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, "flscan: %s, %llu files, %s read, %.0f files/s, %s/s", phase.c_str(),
                static_cast<unsigned long long>(files), human_bytes(static_cast<double>(bytes)).c_str(),
                seconds > 0 ? static_cast<double>(files) / seconds : 0.0,
                human_bytes(seconds > 0 ? static_cast<double>(bytes) / seconds : 0.0).c_str());
  std::string out = buf;
  if (total && *total > 0 && files > 0) {
    // Used inodes count directories too, so this under-states the share done: an upper bound on
    // the time left, which is the safe side for an estimate.
    const double share = std::min(1.0, static_cast<double>(files) / static_cast<double>(*total));
    const double left = share > 0 ? seconds * (1 - share) / share : 0;
    std::snprintf(buf, sizeof buf, ", >=%.0f%% of volume, <%.0fs left", share * 100, left);
    out += buf;
  }
  if (out.size() > kMaxLineWidth) out.resize(kMaxLineWidth);
  return out;
}

void ProgressMeter::run() {
  // Drawn at once (so even a short scan shows what it does), then every kRedrawInterval.
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    write_all(fd_, "\r" + line() + "\x1b[K");
    lock.lock();
    wake_.wait_for(lock, kRedrawInterval, [this] { return stop_; });
  }
}

void ProgressMeter::finish() {
  if (!enabled_) return;
  {
    std::lock_guard lock(mutex_);
    if (stop_) return;
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  write_all(fd_, "\r\x1b[K");
}

}  // namespace flscan::scanner
