// The progress line on stderr: files and bytes done, rate, current phase, and an estimate when the
// total is known. Workers only bump relaxed atomic counters; a separate thread draws the line at
// most 10 times a second, so the cost per file is two atomic adds (bench/ measures it).
//
// The walk and the scan run together (the walker feeds files to the workers as it lists them), so
// the number of files in a tree is not known until its last directory has been listed. When a
// PATH is the root of a mounted file system, its used inodes and used bytes (statvfs) bound the
// work from above and the line shows a percentage of them; otherwise it shows counts and rates only.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace flscan::scanner {

class ProgressMeter {
 public:
  // `enabled` false: nothing is drawn and no thread runs. `fd`: where to draw (stderr).
  ProgressMeter(bool enabled, int fd = 2);
  ~ProgressMeter();
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // Work bounds for the estimate, from statvfs of every PATH that is a mount root (else nothing).
  void estimate_from_paths(const std::vector<std::string>& paths);

  void set_phase(std::string phase);
  void file_done(std::uint64_t bytes_read) {
    files_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(bytes_read, std::memory_order_relaxed);
  }
  // Clears the line and stops the thread (also done by the destructor).
  void finish();

  [[nodiscard]] bool enabled() const { return enabled_; }
  // The line as it would be drawn now (tests).
  [[nodiscard]] std::string line() const;

 private:
  void run();

  const bool enabled_;
  const int fd_;
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::atomic<std::uint64_t> files_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::optional<std::uint64_t> total_entries_;  // used inodes of the scanned volumes
  mutable std::mutex mutex_;
  std::string phase_ = "scanning";
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace flscan::scanner
