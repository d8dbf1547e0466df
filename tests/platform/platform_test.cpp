// scanner/platform: the owned descriptor (closed exactly once, moved without a close), errno text
// (one text for every errno, whichever way it used to be spelled), and O_NOATIME with its fallback
// for a file the process does not own (issue 14: these helpers exist once, here), and the private
// link a disk image found in a walk is opened through (made in TMPDIR, gone with its owner).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <system_error>
#include <utility>

#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/open_path.h"
#include "scanner/platform/private_link.h"

using flscan::scanner::errno_text;
using flscan::scanner::Fd;
using flscan::scanner::open_noatime_at;

namespace {

// Whether `fd` is an open descriptor of this process.
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// A fresh descriptor (of /dev/null): the lowest free number, as open(2) always gives.
int open_null() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  return fd;
}

// A second close of a number already closed closes whatever took the number meanwhile: the
// descriptor opened right after `closed` was closed gets the same (lowest free) number, and
// must still be open when the Fd that held `closed` is gone.
void require_reused_and_open(int closed, int reused) {
  REQUIRE(reused == closed);
  CHECK(is_open(reused));
}

// A directory under the system temporary directory, removed (with what the tests put in it) at
// the end; world-searchable so an unprivileged child can reach the files inside.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::getenv("TMPDIR") != nullptr ? std::string(std::getenv("TMPDIR")) : "/tmp") + "/flscan-platform-XXXXXX";
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
    REQUIRE(::chmod(path_.c_str(), 0755) == 0);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A file of `owner` holding one byte, readable by everyone.
std::string make_file(const TempDir& dir, const std::string& name, uid_t owner) {
  const std::string path = dir / name;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "x", 1) == 1);
  REQUIRE(::fchown(fd, owner, owner) == 0);
  REQUIRE(::fchmod(fd, 0644) == 0);
  ::close(fd);
  return path;
}

constexpr uid_t kNobody = 65534;

// Runs `body` in a child process as the unprivileged user nobody; its exit status (0 when `body`
// returned 0), or -1 when the child could not drop its privileges or did not exit.
int as_nobody(const std::function<int()>& body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(kNobody) != 0 || ::setuid(kNobody) != 0) ::_exit(100);
    ::_exit(body());
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 100) return -1;
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("platform Fd: the destructor closes its descriptor", "[platform][fd]") {
  const int fd = open_null();
  { const Fd owned(fd); }
  CHECK_FALSE(is_open(fd));
}

TEST_CASE("platform Fd: closes exactly once, whichever way it is closed", "[platform][fd]") {
  SECTION("reset, then the destructor") {
    const int fd = open_null();
    int reused = -1;
    {
      Fd owned(fd);
      owned.reset();
      CHECK_FALSE(owned.valid());
      reused = open_null();
    }
    require_reused_and_open(fd, reused);
    ::close(reused);
  }
  SECTION("close_checked, then the destructor") {
    const int fd = open_null();
    int reused = -1;
    {
      Fd owned(fd);
      CHECK(owned.close_checked() == 0);
      CHECK_FALSE(owned.valid());
      CHECK(owned.close_checked() == 0);  // nothing left to close
      reused = open_null();
    }
    require_reused_and_open(fd, reused);
    ::close(reused);
  }
}

TEST_CASE("platform Fd: a moved descriptor is closed by its new owner only", "[platform][fd]") {
  SECTION("move construction") {
    const int fd = open_null();
    Fd source(fd);
    {
      const Fd target(std::move(source));
      CHECK(target.get() == fd);
      CHECK_FALSE(source.valid());  // NOLINT(bugprone-use-after-move): what a move leaves is the point
      source = Fd();                // destroying the moved-from object's value closes nothing
      CHECK(is_open(fd));
    }
    CHECK_FALSE(is_open(fd));
  }
  SECTION("move assignment closes what the target held") {
    const int first = open_null();
    const int second = open_null();
    Fd target(first);
    Fd source(second);
    target = std::move(source);
    CHECK_FALSE(is_open(first));
    CHECK(target.get() == second);
    CHECK_FALSE(source.valid());  // NOLINT(bugprone-use-after-move)
    CHECK(is_open(second));
  }
  SECTION("self-move assignment keeps the descriptor") {
    const int fd = open_null();
    Fd owned(fd);
    Fd& alias = owned;
    owned = std::move(alias);
    CHECK(owned.get() == fd);
    CHECK(is_open(fd));
  }
}

TEST_CASE("platform Fd: release gives the descriptor up unclosed", "[platform][fd]") {
  const int fd = open_null();
  int released = -1;
  {
    Fd owned(fd);
    released = owned.release();
    CHECK_FALSE(owned.valid());
  }
  CHECK(released == fd);
  CHECK(is_open(fd));
  ::close(fd);
}

TEST_CASE("platform Fd: closing on the way out leaves errno as the failed call set it", "[platform][fd]") {
  // A close that fails (EBADF: the number is no longer open) must not replace the errno of the
  // call the caller is about to report, as a successful close does not.
  const int fd = open_null();
  ::close(fd);
  Fd stale(fd);
  errno = ENOENT;
  stale.reset();
  CHECK(errno == ENOENT);
  CHECK_FALSE(stale.valid());
}

TEST_CASE("platform Fd: close_checked reports close(2)'s errno", "[platform][fd]") {
  // A number that is not open: close fails with EBADF, which the caller must see.
  const int fd = open_null();
  ::close(fd);
  Fd stale(fd);
  CHECK(stale.close_checked() == EBADF);
}

TEST_CASE("platform errno_text: the text strerror and std::system_category give, for every value", "[platform]") {
  // The walk, the report files and the quarantine spelled it std::system_category().message, the
  // host stage strerror: one function keeps every message only because the two agree.
  for (int error = -2; error < 4096; ++error) {
    INFO("errno " << error);
    CHECK(errno_text(error) == std::string(std::strerror(error)));
    CHECK(errno_text(error) == std::system_category().message(error));
  }
  CHECK(errno_text(ENOENT) == "No such file or directory");
  CHECK(errno_text(EACCES) == "Permission denied");
}

TEST_CASE("platform open_noatime_at: O_NOATIME where the kernel allows it", "[platform][noatime]") {
  const TempDir dir;
  const std::string own = make_file(dir, "own", ::geteuid());
  const Fd fd(open_noatime_at(AT_FDCWD, own.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  // The owner (and root) may: the open file description carries the flag.
  CHECK((::fcntl(fd.get(), F_GETFL) & O_NOATIME) != 0);
}

TEST_CASE("platform open_noatime_at: relative to a directory descriptor", "[platform][noatime]") {
  const TempDir dir;
  make_file(dir, "own", ::geteuid());
  const Fd parent(::open((dir / "").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(parent.valid());
  const Fd fd(open_noatime_at(parent.get(), "own", O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  CHECK((::fcntl(fd.get(), F_GETFL) & O_NOATIME) != 0);
  errno = 0;
  CHECK(open_noatime_at(parent.get(), "missing", O_RDONLY | O_CLOEXEC) == -1);
  CHECK(errno == ENOENT);
}

TEST_CASE("platform open_noatime_at: without O_NOATIME for a file of another user", "[platform][noatime]") {
  if (::geteuid() != 0) {
    WARN("needs root: the file must belong to another user than the unprivileged reader");
    return;
  }
  const TempDir dir;
  const std::string roots = make_file(dir, "roots", 0);  // root's, readable by everyone
  // In a child as nobody: the kernel refuses O_NOATIME on root's file (EPERM: neither the owner
  // nor CAP_FOWNER), the fallback opens it anyway, and the open has no O_NOATIME. The exit code
  // names the step that went wrong.
  const int status = as_nobody([&] {
    errno = 0;
    const int refused = ::open(roots.c_str(), O_RDONLY | O_NOATIME | O_CLOEXEC);
    if (refused >= 0 || errno != EPERM) return 1;  // the premise: a plain O_NOATIME open fails
    const int fd = open_noatime_at(AT_FDCWD, roots.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 2;
    const int flags = ::fcntl(fd, F_GETFL);
    char byte = 0;
    const bool read_it = ::read(fd, &byte, 1) == 1 && byte == 'x';
    ::close(fd);
    if ((flags & O_NOATIME) != 0) return 3;
    return read_it ? 0 : 4;
  });
  CHECK(status == 0);
}

TEST_CASE("platform PrivateLink: one link in a 0700 directory of TMPDIR, both removed with it",
          "[platform][private_link]") {
  char scratch[] = "/tmp/flscan-platform-test.XXXXXX";
  REQUIRE(::mkdtemp(scratch) != nullptr);
  const char* saved = std::getenv("TMPDIR");
  const std::string saved_tmpdir = saved != nullptr ? saved : "";
  REQUIRE(::setenv("TMPDIR", scratch, 1) == 0);
  std::string directory;
  std::string path;
  {
    auto link = flscan::scanner::PrivateLink::create("flscan-image", "disk.E01", "/proc/self/fd/0");
    REQUIRE(link);
    path = (*link)->path();
    directory = (*link)->directory();
    CHECK(directory.starts_with(std::string(scratch) + "/flscan-image."));
    CHECK(path == directory + "disk.E01");
    struct stat st {};
    REQUIRE(::lstat(directory.c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    CHECK(S_ISLNK(st.st_mode));
    CHECK(std::filesystem::read_symlink(path) == "/proc/self/fd/0");
  }
  CHECK_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path)));
  CHECK_FALSE(std::filesystem::exists(directory));
  if (saved != nullptr) {
    ::setenv("TMPDIR", saved_tmpdir.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  CHECK(::rmdir(scratch) == 0);
}
