// FileReader: one pass, at most one read of each byte, and every way a file can fail to be read
// completely is an error with a reason, never a short buffer passed off as the file.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

#include "engine/limits.h"
#include "scanner/walk/file_reader.h"
#include "test_support.h"

using namespace flscan;
using namespace flscan::scanner;
using flscan::test::TempDir;

namespace {

const NeedsWholeFile kAlwaysWhole = [](ByteView) { return true; };
const NeedsWholeFile kHeadOnly = [](ByteView) { return false; };

std::string as_string(ByteView bytes) { return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }

constexpr std::uint64_t kNoLimit = 1ull << 40;

}  // namespace

TEST_CASE("reader: a small file is read whole", "[reader]") {
  const TempDir dir;
  flscan::test::write_file(dir / "a.txt", "hello");
  FileReader reader(kNoLimit);
  const auto content = reader.read((dir / "a.txt").c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE(content);
  CHECK(content->whole);
  CHECK(content->file_size == 5);
  CHECK(as_string(content->bytes) == "hello");
}

TEST_CASE("reader: the empty file", "[reader]") {
  const TempDir dir;
  flscan::test::write_file(dir / "empty", "");
  FileReader reader(kNoLimit);
  const auto content = reader.read((dir / "empty").c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE(content);
  CHECK(content->whole);
  CHECK(content->bytes.empty());
}

TEST_CASE("reader: a large file is sniffed, then read whole only when asked", "[reader]") {
  const TempDir dir;
  const std::string bytes = flscan::test::mz_bytes(3 * limits::kSniffBytes + 17);
  flscan::test::write_file(dir / "big", bytes);
  FileReader reader(kNoLimit);

  std::size_t head_size = 0;
  const auto head_only = reader.read((dir / "big").c_str(), FollowSymlink::no, [&](ByteView head) {
    head_size = head.size();
    return false;
  });
  REQUIRE(head_only);
  CHECK_FALSE(head_only->whole);
  CHECK(head_size == limits::kSniffBytes);
  CHECK(head_only->bytes.size() == limits::kSniffBytes);
  CHECK(head_only->file_size == bytes.size());

  const auto whole = reader.read((dir / "big").c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE(whole);
  CHECK(whole->whole);
  CHECK(as_string(whole->bytes) == bytes);
  // The buffer is reused: a smaller file next does not shrink or reallocate it.
  const std::size_t capacity = reader.buffer_capacity();
  flscan::test::write_file(dir / "small", "MZ");
  REQUIRE(reader.read((dir / "small").c_str(), FollowSymlink::no, kAlwaysWhole));
  CHECK(reader.buffer_capacity() == capacity);
}

TEST_CASE("reader: larger than the size limit is too-large, but only when needed whole", "[reader]") {
  const TempDir dir;
  flscan::test::write_file(dir / "big", flscan::test::mz_bytes(1000));
  FileReader reader(999);
  const auto refused = reader.read((dir / "big").c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().reason == NotScannedReason::too_large);
  CHECK(refused.error().detail.find("1000") != std::string::npos);
  // A file the engine does not need whole is examined by its head whatever its size.
  CHECK(reader.read((dir / "big").c_str(), FollowSymlink::no, kHeadOnly));
  FileReader exact(1000);
  CHECK(exact.read((dir / "big").c_str(), FollowSymlink::no, kAlwaysWhole));
}

TEST_CASE("reader: truncated while being read (short read against fstat's size)", "[reader]") {
  const TempDir dir;
  const std::string path = dir / "shrinks";
  flscan::test::write_file(path, flscan::test::mz_bytes(4 * limits::kSniffBytes));
  FileReader reader(kNoLimit);
  reader.after_sniff_hook = [&] { REQUIRE(::truncate(path.c_str(), 2 * limits::kSniffBytes) == 0); };
  const auto content = reader.read(path.c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(content);
  CHECK(content.error().reason == NotScannedReason::truncated);
  CHECK(content.error().detail.find("ended early") != std::string::npos);
}

TEST_CASE("reader: grown while being read", "[reader]") {
  const TempDir dir;
  const std::string path = dir / "grows";
  flscan::test::write_file(path, flscan::test::mz_bytes(2 * limits::kSniffBytes));
  FileReader reader(kNoLimit);
  reader.after_sniff_hook = [&] {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "appended while flscan was reading";
  };
  const auto content = reader.read(path.c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(content);
  CHECK(content.error().reason == NotScannedReason::modified);
  CHECK(content.error().detail.find("size changed") != std::string::npos);
}

TEST_CASE("reader: rewritten in place while being read (same size, new mtime)", "[reader]") {
  const TempDir dir;
  const std::string path = dir / "rewritten";
  flscan::test::write_file(path, "MZ original bytes");
  // An old mtime first, so the rewrite surely changes it even on coarse-timestamp filesystems.
  const timeval old_times[2] = {{1000000000, 0}, {1000000000, 0}};
  REQUIRE(::utimes(path.c_str(), old_times) == 0);
  FileReader reader(kNoLimit);
  reader.after_sniff_hook = [&] {
    std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
    out << "MZ changed!";
  };
  const auto content = reader.read(path.c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(content);
  CHECK(content.error().reason == NotScannedReason::modified);
}

TEST_CASE("reader: rewritten in place with the mtime restored is modified (the ctime changed)", "[reader]") {
  // Issue 12: same size, same mtime afterwards; only the inode change time tells.
  const TempDir dir;
  const std::string path = dir / "rewritten";
  flscan::test::write_file(path, "MZ original bytes");
  struct stat original {};
  REQUIRE(::stat(path.c_str(), &original) == 0);
  FileReader reader(kNoLimit);
  reader.after_sniff_hook = [&] {
    // Each write and utimensat sets the ctime to "now"; on a coarse clock "now" may still equal
    // the creation's, so repeat (bounded) until it differs, as a real rewrite a moment later would.
    struct stat now {};
    for (int attempt = 0; attempt < 1000; ++attempt) {
      {
        std::fstream out(path, std::ios::binary | std::ios::in | std::ios::out);
        out << "MZ changed bytes!";
      }
      const timespec times[2] = {original.st_atim, original.st_mtim};
      REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
      REQUIRE(::stat(path.c_str(), &now) == 0);
      if (now.st_ctim.tv_sec != original.st_ctim.tv_sec || now.st_ctim.tv_nsec != original.st_ctim.tv_nsec) break;
      ::usleep(2000);
    }
    // The premise: only the ctime tells the versions apart.
    REQUIRE(now.st_size == original.st_size);
    REQUIRE(now.st_mtim.tv_sec == original.st_mtim.tv_sec);
    REQUIRE(now.st_mtim.tv_nsec == original.st_mtim.tv_nsec);
    REQUIRE((now.st_ctim.tv_sec != original.st_ctim.tv_sec || now.st_ctim.tv_nsec != original.st_ctim.tv_nsec));
  };
  const auto content = reader.read(path.c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(content);
  CHECK(content.error().reason == NotScannedReason::modified);
  CHECK(content.error().detail.find("ctime") != std::string::npos);
}

namespace {

// A file whose reported size is `reported` whatever it holds, as some FUSE and network filesystems
// report (a test seam: the reader reads every file through RandomAccessFile).
class ReportsSize final : public RandomAccessFile {
 public:
  ReportsSize(std::string content, std::uint64_t reported) : content_(std::move(content)), reported_(reported) {}
  tl::expected<FileStamp, ReadError> stamp() override { return FileStamp{reported_}; }
  tl::expected<std::size_t, ReadError> read_at(std::uint64_t offset, std::uint8_t* out, std::size_t length) override {
    ++reads;
    if (offset >= content_.size()) return 0;
    const std::size_t n = std::min<std::size_t>(length, content_.size() - static_cast<std::size_t>(offset));
    std::memcpy(out, content_.data() + offset, n);
    return n;
  }
  int reads = 0;

 private:
  std::string content_;
  std::uint64_t reported_;
};

// Reports 0 bytes, whatever it holds.
class ReportsZeroSize final : public RandomAccessFile {
 public:
  explicit ReportsZeroSize(std::string content) : file_(std::move(content), 0) {}
  tl::expected<FileStamp, ReadError> stamp() override { return file_.stamp(); }
  tl::expected<std::size_t, ReadError> read_at(std::uint64_t offset, std::uint8_t* out, std::size_t length) override {
    const auto got = file_.read_at(offset, out, length);
    reads = file_.reads;
    return got;
  }
  int reads = 0;

 private:
  ReportsSize file_;
};

const PlanRead kPlanWhole = [](ByteView, std::uint64_t) { return ReadPlan::whole; };
const PlanRead kPlanStream = [](ByteView, std::uint64_t) { return ReadPlan::stream; };
const PlanRead kPlanHeadOnly = [](ByteView, std::uint64_t) { return ReadPlan::head_only; };
// Reads the file through the source in chunks up to its (reported) size, as the engine's streamed
// scan does.
const StreamConsumer kReadAll = [](ByteSource& source, std::uint64_t file_size) {
  std::string chunk(limits::kSniffBytes, '\0');
  for (std::uint64_t offset = 0; offset < file_size; offset += chunk.size()) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), file_size - offset));
    if (!source.read(offset, reinterpret_cast<std::uint8_t*>(chunk.data()), n)) return;
  }
};

}  // namespace

TEST_CASE("reader: a file reported as 0 bytes is read once; bytes beyond that size make it modified", "[reader]") {
  // Issue 12: a reported size of 0 was taken as "empty, clean" without a read.
  FileReader reader(kNoLimit);
  ReportsZeroSize with_content(flscan::test::mz_bytes(300));
  const auto refused = reader.read(with_content, kPlanWhole, nullptr);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().reason == NotScannedReason::modified);
  CHECK(refused.error().detail.find("reported as 0 bytes") != std::string::npos);

  // Truly empty: one read, which finds nothing; an empty file, read whole.
  ReportsZeroSize empty("");
  const auto content = reader.read(empty, kPlanWhole, nullptr);
  REQUIRE(content);
  CHECK(empty.reads == 1);
  CHECK(content->whole);
  CHECK(content->bytes.empty());
  CHECK(content->bytes_read == 0);

  // A real one: /proc reports 0 bytes for files with content.
  struct stat st {};
  REQUIRE(::stat("/proc/self/status", &st) == 0);
  REQUIRE(st.st_size == 0);
  const auto proc = reader.read("/proc/self/status", FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(proc);
  CHECK(proc.error().reason == NotScannedReason::modified);
}

TEST_CASE("reader: a file reported smaller than it is, read to its end, is modified, never its first bytes alone",
          "[reader]") {
  // Issue 12: a FUSE filesystem reporting 1024 bytes for a larger infected PE made flscan scan
  // those 1024 bytes and call the file clean.
  FileReader reader(kNoLimit);
  const std::string large = flscan::test::mz_bytes(3 * limits::kSniffBytes + 17);

  // Reported below the sniff size: the one sniff read finds the bytes beyond it.
  ReportsSize small(flscan::test::mz_bytes(1500), 1024);
  const auto small_read = reader.read(small, kPlanWhole, nullptr);
  REQUIRE_FALSE(small_read);
  CHECK(small_read.error().reason == NotScannedReason::modified);
  CHECK(small_read.error().detail.find("reported as 1024 bytes") != std::string::npos);
  CHECK(small.reads == 1);

  // Reported above the sniff size (and exactly the sniff size), read whole: the last read asks
  // for one byte more, which is there.
  for (const std::uint64_t reported : {std::uint64_t{2 * limits::kSniffBytes}, std::uint64_t{limits::kSniffBytes}}) {
    ReportsSize whole(large, reported);
    const auto whole_read = reader.read(whole, kPlanWhole, nullptr);
    REQUIRE_FALSE(whole_read);
    CHECK(whole_read.error().reason == NotScannedReason::modified);
    CHECK(whole_read.error().detail.find("reported as " + std::to_string(reported) + " bytes") != std::string::npos);
    CHECK(whole.reads == 2);
  }

  // Streamed (a file above --stream-above): one read at the reported end finds more.
  ReportsSize streamed(large, 2 * limits::kSniffBytes);
  const auto streamed_read = reader.read(streamed, kPlanStream, kReadAll);
  REQUIRE_FALSE(streamed_read);
  CHECK(streamed_read.error().reason == NotScannedReason::modified);
  CHECK(streamed_read.error().detail.find("reported as " + std::to_string(2 * limits::kSniffBytes) + " bytes") !=
        std::string::npos);

  // The same files reporting their true size are read, whole and streamed.
  ReportsSize whole_true(large, large.size());
  const auto whole_ok = reader.read(whole_true, kPlanWhole, nullptr);
  REQUIRE(whole_ok);
  CHECK(whole_ok->whole);
  CHECK(as_string(whole_ok->bytes) == large);
  CHECK(whole_ok->bytes_read == large.size());
  ReportsSize streamed_true(large, large.size());
  const auto streamed_ok = reader.read(streamed_true, kPlanStream, kReadAll);
  REQUIRE(streamed_ok);
  CHECK(streamed_ok->streamed);
  CHECK(streamed_ok->bytes_read == large.size());
  ReportsSize small_true(flscan::test::mz_bytes(1500), 1500);
  const auto small_ok = reader.read(small_true, kPlanWhole, nullptr);
  REQUIRE(small_ok);
  CHECK(small_ok->bytes.size() == 1500);
  CHECK(small_true.reads == 1);

  // A file that is only sniffed is not read to its end: bytes beyond its reported size are not
  // looked for (README, "What is read").
  ReportsSize sniffed(large, 2 * limits::kSniffBytes);
  const auto sniffed_read = reader.read(sniffed, kPlanHeadOnly, nullptr);
  REQUIRE(sniffed_read);
  CHECK(sniffed.reads == 1);
}

TEST_CASE("reader: a path that no longer exists has vanished", "[reader]") {
  const TempDir dir;
  FileReader reader(kNoLimit);
  const auto content = reader.read((dir / "gone").c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(content);
  CHECK(content.error().reason == NotScannedReason::vanished);
  CHECK(content.error().detail.find("No such file") != std::string::npos);
}

TEST_CASE("reader: a file swapped for a FIFO is refused without blocking", "[reader]") {
  // The walker listed a regular file; by the time it is opened it is a FIFO with no writer.
  // O_NONBLOCK keeps open from waiting for a writer; fstat of the descriptor refuses it.
  const TempDir dir;
  flscan::test::make_fifo(dir / "fifo");
  FileReader reader(kNoLimit);
  const auto content = reader.read((dir / "fifo").c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(content);
  CHECK(content.error().reason == NotScannedReason::replaced);
  CHECK(content.error().detail.find("FIFO") != std::string::npos);
}

TEST_CASE("reader: a file swapped for a symlink is not followed", "[reader]") {
  const TempDir dir;
  flscan::test::write_file(dir / "target", "MZ");
  flscan::test::make_symlink(dir / "target", dir / "link");
  FileReader reader(kNoLimit);
  const auto refused = reader.read((dir / "link").c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().reason == NotScannedReason::replaced);
  // When the walk chose to follow the link (--follow-symlinks), the target is read.
  const auto followed = reader.read((dir / "link").c_str(), FollowSymlink::yes, kAlwaysWhole);
  REQUIRE(followed);
  CHECK(as_string(followed->bytes) == "MZ");
}

TEST_CASE("reader: a directory is not a regular file", "[reader]") {
  const TempDir dir;
  FileReader reader(kNoLimit);
  const auto content = reader.read(dir.path().c_str(), FollowSymlink::no, kAlwaysWhole);
  REQUIRE_FALSE(content);
  CHECK(content.error().reason == NotScannedReason::replaced);
}

TEST_CASE("reader: an unreadable file is permission-denied, never clean", "[reader]") {
  const TempDir dir;
  const std::string path = dir / "secret.exe";
  flscan::test::write_file(path, "MZ secret");
  REQUIRE(::chmod(path.c_str(), 0) == 0);
  if (!flscan::test::running_as_root()) {
    FileReader reader(kNoLimit);
    const auto content = reader.read(path.c_str(), FollowSymlink::no, kAlwaysWhole);
    REQUIRE_FALSE(content);
    CHECK(content.error().reason == NotScannedReason::permission_denied);
    return;
  }
  // Root ignores permission bits (CI runs as root): read as nobody in a child process. This test
  // binary starts no threads, so the child may allocate freely.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(flscan::test::kNobodyGid) != 0 ||
        ::setuid(flscan::test::kNobodyUid) != 0) {
      ::_exit(10);
    }
    FileReader reader(kNoLimit);
    const auto content = reader.read(path.c_str(), FollowSymlink::no, kAlwaysWhole);
    if (content) ::_exit(11);
    ::_exit(content.error().reason == NotScannedReason::permission_denied ? 0 : 12);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}
