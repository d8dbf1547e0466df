// An owned file descriptor: closed exactly once, when the Fd is destroyed, reset or assigned over,
// unless released first. Every descriptor flscan opens and keeps past one statement is held in one
// (issue 14: one owning class instead of one per file).
#pragma once

namespace flscan::scanner {

class Fd {
 public:
  Fd() = default;
  // Takes over `fd` (a negative value: no descriptor).
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  // Gives the descriptor up without closing it; the Fd holds none afterwards.
  int release();
  // Closes the descriptor, if any. errno is left as it was: a caller reports the errno of the call
  // it made, never that of a close on the way out.
  void reset() noexcept;
  // Closes the descriptor and returns close(2)'s errno (0 when it succeeded or there was none):
  // close reports delayed write errors (NFS), so it is checked where a file was written.
  int close_checked();

 private:
  int fd_ = -1;
};

}  // namespace flscan::scanner
