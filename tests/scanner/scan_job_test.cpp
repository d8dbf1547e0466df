// The walk and the scan job in-process: every special case of the walker and the reader ends in
// the documented entry of the report (scanner/walk/walker.h lists them).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>

#include "engine/limits.h"
#include "engine/sig/signature_set.h"
#include "scanner/app/scan_job.h"
#include "scanner/walk/walker.h"
#include "test_support.h"

using namespace flscan;
using namespace flscan::scanner;
using flscan::test::TempDir;
using flscan::test::write_file;

namespace {

ScanSettings settings_for(const std::string& root) {
  ScanSettings settings;
  settings.roots = {root};
  return settings;
}

ScanReport scan(const ScanSettings& settings, const ScanHooks& hooks = {}) {
  static const sig::SignatureSet no_signatures;
  ScanJob job(no_signatures, settings);
  job.hooks = hooks;
  return job.run();
}

const SkippedEntry* skipped_entry(const ScanReport& report, const std::string& path) {
  for (const auto& entry : report.skipped) {
    if (entry.path == path) return &entry;
  }
  return nullptr;
}

const NotScannedEntry* not_scanned_entry(const ScanReport& report, const std::string& path) {
  for (const auto& entry : report.not_scanned) {
    if (entry.path == path) return &entry;
  }
  return nullptr;
}

std::uint64_t skipped_count(const ScanReport& report, SkipReason reason) {
  return report.counters.skipped_by_reason[static_cast<std::size_t>(reason)];
}

}  // namespace

TEST_CASE("walk: a plain tree is scanned completely", "[walk]") {
  const TempDir dir;
  write_file(dir / "a.txt", "hello");
  write_file(dir / "sub/b.txt", "world");
  write_file(dir / "sub/deeper/c.bin", flscan::test::mz_bytes(300));
  const ScanReport report = scan(settings_for(dir.path().string()));
  CHECK(report.complete());
  CHECK(exit_code(report) == kExitClean);
  CHECK(report.counters.files_seen == 3);
  CHECK(report.counters.files_examined == 3);
  CHECK(report.counters.directories == 3);
  CHECK(report.counters.mz_files == 1);
  CHECK(report.counters.bytes_read == 5 + 5 + 300);
  CHECK(report.results.empty());
  CHECK(report.skipped.empty());
}

TEST_CASE("walk: a FIFO is skipped and never opened (the scan does not block)", "[walk][special]") {
  const TempDir dir;
  write_file(dir / "a.txt", "hello");
  flscan::test::make_fifo(dir / "pipe");
  const ScanReport report = scan(settings_for(dir.path().string()));
  const SkippedEntry* fifo = skipped_entry(report, dir / "pipe");
  REQUIRE(fifo);
  CHECK(fifo->reason == SkipReason::fifo);
  CHECK(report.complete());  // skipped specials do not make the scan incomplete
  CHECK(report.counters.files_seen == 1);
}

// Issue 12: an operand the user named is read, opened as an image or reported NOT SCANNED with
// the reason and a hint; only special files met inside a walk are skipped.
namespace {
void check_special_operand(const std::string& path, const std::string& kind, bool force_image = false) {
  INFO(path << (force_image ? " with --image" : ""));
  ScanSettings settings = settings_for(path);
  settings.force_image = force_image;
  const ScanReport report = scan(settings);
  CHECK(report.skipped.empty());
  const NotScannedEntry* entry = not_scanned_entry(report, path);
  REQUIRE(entry);
  CHECK(entry->reason == NotScannedReason::special_file);
  CHECK(entry->detail.find(kind) != std::string::npos);
  CHECK(entry->detail.find("--image") != std::string::npos);
  CHECK(report.counters.files_seen == 0);
  CHECK_FALSE(report.complete());
  CHECK(exit_code(report) == kExitIncomplete);
}
}  // namespace

TEST_CASE("walk: a FIFO named as PATH is NOT SCANNED special-file, never opened", "[walk][special]") {
  const TempDir dir;
  flscan::test::make_fifo(dir / "pipe");
  check_special_operand(dir / "pipe", "FIFO");
  // --image opens files and block devices only: a FIFO is still never opened.
  check_special_operand(dir / "pipe", "FIFO", true);
  // The same FIFO met inside the walk stays skipped (see above).
}

TEST_CASE("walk: a socket or a character device named as PATH is NOT SCANNED special-file", "[walk][special]") {
  const TempDir dir;
  flscan::test::make_socket(dir / "sock");
  check_special_operand(dir / "sock", "socket");
  check_special_operand("/dev/null", "character device");
}

TEST_CASE("walk: a socket is skipped", "[walk][special]") {
  const TempDir dir;
  flscan::test::make_socket(dir / "sock");
  const ScanReport report = scan(settings_for(dir.path().string()));
  const SkippedEntry* socket = skipped_entry(report, dir / "sock");
  REQUIRE(socket);
  CHECK(socket->reason == SkipReason::socket);
  CHECK(report.complete());
}

TEST_CASE("walk: a device node is skipped", "[walk][special]") {
  const TempDir dir;
  // The same device as /dev/null; creating device nodes needs CAP_MKNOD.
  if (::mknod((dir / "null").c_str(), S_IFCHR | 0600, makedev(1, 3)) != 0) {
    WARN("cannot create a device node here (needs CAP_MKNOD); device case not exercised");
    return;
  }
  const ScanReport report = scan(settings_for(dir.path().string()));
  const SkippedEntry* device = skipped_entry(report, dir / "null");
  REQUIRE(device);
  CHECK(device->reason == SkipReason::device);
  CHECK(report.complete());
}

TEST_CASE("walk: symlinks are not followed by default", "[walk][symlink]") {
  const TempDir dir;
  const TempDir outside;
  write_file(dir / "real.txt", "inside");
  write_file(outside / "elsewhere.exe", flscan::test::mz_bytes(200));
  flscan::test::make_symlink(dir / "real.txt", dir / "file-link");
  flscan::test::make_symlink(outside.path().string(), dir / "dir-link");
  flscan::test::make_symlink(outside / "elsewhere.exe", dir / "outside-link");
  const ScanReport report = scan(settings_for(dir.path().string()));
  for (const char* link : {"file-link", "dir-link", "outside-link"}) {
    INFO(link);
    const SkippedEntry* entry = skipped_entry(report, dir / link);
    REQUIRE(entry);
    CHECK(entry->reason == SkipReason::symlink);
    CHECK(entry->detail.rfind("-> ", 0) == 0);
  }
  CHECK(report.counters.files_seen == 1);
  CHECK(report.complete());
}

TEST_CASE("walk: --follow-symlinks scans a link to outside the tree under the link's path", "[walk][symlink]") {
  const TempDir dir;
  const TempDir outside;
  write_file(outside / "elsewhere.exe", flscan::test::mz_bytes(200));
  write_file(outside / "sub/more.exe", flscan::test::mz_bytes(300));
  flscan::test::make_symlink(outside / "elsewhere.exe", dir / "file-link");
  flscan::test::make_symlink(outside.path().string(), dir / "dir-link");
  ScanSettings settings = settings_for(dir.path().string());
  settings.walk.follow_symlinks = true;
  settings.inventory = true;
  const ScanReport report = scan(settings);
  CHECK(report.complete());
  CHECK(report.counters.files_seen == 3);
  std::vector<std::string> paths;
  for (const auto& entry : report.inventory) paths.push_back(entry.path);
  CHECK(paths ==
        std::vector<std::string>{dir / "dir-link/elsewhere.exe", dir / "dir-link/sub/more.exe", dir / "file-link"});
}

TEST_CASE("walk: a symlink loop with --follow-symlinks is detected and the scan completes", "[walk][symlink]") {
  const TempDir dir;
  write_file(dir / "a/file.txt", "x");
  flscan::test::make_symlink("..", dir / "a/up");                   // a/up -> dir
  flscan::test::make_symlink(dir.path().string(), dir / "a/root");  // absolute form of the same loop
  ScanSettings settings = settings_for(dir.path().string());
  settings.walk.follow_symlinks = true;
  const ScanReport report = scan(settings);
  for (const char* link : {"a/up", "a/root"}) {
    INFO(link);
    const NotScannedEntry* loop = not_scanned_entry(report, dir / link);
    REQUIRE(loop);
    CHECK(loop->reason == NotScannedReason::loop);
    CHECK(loop->detail.find(dir.path().string()) != std::string::npos);
  }
  CHECK(report.counters.files_seen == 1);
  CHECK(report.not_scanned.size() == 2);
}

TEST_CASE("walk: a dangling symlink with --follow-symlinks is skipped as broken", "[walk][symlink]") {
  const TempDir dir;
  flscan::test::make_symlink(dir / "nowhere", dir / "dangling");
  flscan::test::make_symlink(dir / "self", dir / "self");
  ScanSettings settings = settings_for(dir.path().string());
  settings.walk.follow_symlinks = true;
  const ScanReport report = scan(settings);
  REQUIRE(skipped_entry(report, dir / "dangling"));
  CHECK(skipped_entry(report, dir / "dangling")->reason == SkipReason::broken_symlink);
  REQUIRE(skipped_entry(report, dir / "self"));
  CHECK(skipped_entry(report, dir / "self")->reason == SkipReason::broken_symlink);
  CHECK(report.complete());
}

TEST_CASE("walk: a PATH that is a symlink is followed (the user named it)", "[walk][symlink]") {
  const TempDir dir;
  write_file(dir / "real/x.txt", "x");
  flscan::test::make_symlink(dir / "real", dir / "named");
  const ScanReport report = scan(settings_for(dir / "named"));
  CHECK(report.counters.files_seen == 1);
  CHECK(report.complete());
}

TEST_CASE("walk: --exclude by name at any depth, by anchored relative path, directories pruned", "[walk][exclude]") {
  const TempDir dir;
  write_file(dir / "keep.txt", "k");
  write_file(dir / "top.iso", "i");
  write_file(dir / "sub/deep.iso", "i");
  write_file(dir / "cache/a.tmp", "t");
  write_file(dir / "x/cache/a.tmp", "t");  // 'cache/*.tmp' is anchored: this one stays
  write_file(dir / "skipdir/inner/many.txt", "m");
  ScanSettings settings = settings_for(dir.path().string());
  settings.walk.excludes = {"*.iso", "cache/*.tmp", "skipdir/"};
  const ScanReport quiet = scan(settings);
  CHECK(quiet.counters.files_seen == 2);  // keep.txt, x/cache/a.tmp
  CHECK(skipped_count(quiet, SkipReason::excluded) == 4);
  CHECK(quiet.skipped.empty());  // counted only, unless listed on request (--verbose)
  CHECK(quiet.complete());

  settings.list_excluded = true;
  const ScanReport listed = scan(settings);
  REQUIRE(listed.skipped.size() == 4);
  CHECK(skipped_entry(listed, dir / "sub/deep.iso"));
  CHECK(skipped_entry(listed, dir / "cache/a.tmp"));
  REQUIRE(skipped_entry(listed, dir / "skipdir"));
  CHECK(skipped_entry(listed, dir / "skipdir")->detail == "--exclude skipdir/");
  CHECK_FALSE(skipped_entry(listed, dir / "x/cache/a.tmp"));
}

TEST_CASE("walk: a PATH operand is never excluded", "[walk][exclude]") {
  const TempDir dir;
  write_file(dir / "named.iso", "i");
  ScanSettings settings = settings_for(dir / "named.iso");
  settings.walk.excludes = {"*.iso"};
  CHECK(scan(settings).counters.files_seen == 1);
}

TEST_CASE("exclude matcher: the documented rules", "[exclude]") {
  const ExcludeMatcher matcher({"*.iso", "/top.txt", "./a/b", "dir/*/x", "[ab]?.log"});
  CHECK(matcher.match("z.iso", "deep/down/z.iso"));
  CHECK(matcher.match("top.txt", "top.txt"));
  CHECK_FALSE(matcher.match("top.txt", "sub/top.txt"));
  CHECK(matcher.match("b", "a/b"));
  CHECK(matcher.match("x", "dir/one/x"));
  CHECK_FALSE(matcher.match("x", "dir/one/two/x"));  // '*' never matches '/'
  CHECK(matcher.match("a1.log", "q/a1.log"));
  CHECK_FALSE(matcher.match("c1.log", "c1.log"));
  CHECK(*matcher.match("z.iso", "z.iso") == "*.iso");
  CHECK(*matcher.match(".hidden.iso", ".hidden.iso") == "*.iso");  // no special case for dot files
}

TEST_CASE("walk: --one-file-system does not enter another device", "[walk][mount]") {
  const TempDir dir;
  struct stat tree {};
  REQUIRE(::stat(dir.path().c_str(), &tree) == 0);
  std::string other;
  for (const char* candidate : {"/proc", "/sys", "/dev/shm", "/dev", "/run"}) {
    struct stat st {};
    if (::stat(candidate, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev != tree.st_dev) {
      other = candidate;
      break;
    }
  }
  if (other.empty()) {
    WARN("no directory on another file system found; --one-file-system not exercised");
    return;
  }
  write_file(dir / "here.txt", "h");
  flscan::test::make_symlink(other, dir / "mount");
  ScanSettings settings = settings_for(dir.path().string());
  settings.walk.follow_symlinks = true;
  settings.walk.one_file_system = true;
  const ScanReport report = scan(settings);
  const SkippedEntry* mount = skipped_entry(report, dir / "mount");
  REQUIRE(mount);
  CHECK(mount->reason == SkipReason::other_filesystem);
  CHECK(report.counters.files_seen == 1);
  CHECK(report.complete());
}

TEST_CASE("walk: nesting deeper than the limit is not scanned (too-deep)", "[walk]") {
  const TempDir dir;
  write_file(dir / "1/2/3/4/deep.txt", "d");
  write_file(dir / "1/shallow.txt", "s");
  ScanSettings settings = settings_for(dir.path().string());
  settings.walk.max_depth = 2;
  const ScanReport report = scan(settings);
  const NotScannedEntry* deep = not_scanned_entry(report, dir / "1/2/3");
  REQUIRE(deep);
  CHECK(deep->reason == NotScannedReason::too_deep);
  CHECK(report.counters.files_seen == 1);
  CHECK(exit_code(report) == kExitIncomplete);
}

TEST_CASE("walk: a PATH that does not exist is not scanned (not-found)", "[walk]") {
  const TempDir dir;
  const ScanReport report = scan(settings_for(dir / "missing"));
  REQUIRE(report.not_scanned.size() == 1);
  CHECK(report.not_scanned[0].reason == NotScannedReason::not_found);
  CHECK(exit_code(report) == kExitIncomplete);
}

TEST_CASE("walk: an unlistable directory is not scanned", "[walk][permissions]") {
  if (flscan::test::running_as_root()) {
    WARN("root lists any directory; covered as an unprivileged user by the flscan CLI tests");
    return;
  }
  const TempDir dir;
  write_file(dir / "locked/inside.exe", "MZ");
  REQUIRE(::chmod((dir / "locked").c_str(), 0) == 0);
  const ScanReport report = scan(settings_for(dir.path().string()));
  const NotScannedEntry* locked = not_scanned_entry(report, dir / "locked");
  REQUIRE(locked);
  CHECK(locked->reason == NotScannedReason::unlistable_directory);
}

TEST_CASE("scan: a file removed between listing and opening has vanished", "[scan][race]") {
  const TempDir dir;
  write_file(dir / "stays.txt", "s");
  write_file(dir / "goes.exe", flscan::test::mz_bytes(100));
  ScanHooks hooks;
  hooks.before_open = [&](const boost::filesystem::path& path) {
    if (path.filename() == "goes.exe") std::filesystem::remove(path.string());
  };
  const ScanReport report = scan(settings_for(dir.path().string()), hooks);
  const NotScannedEntry* gone = not_scanned_entry(report, dir / "goes.exe");
  REQUIRE(gone);
  CHECK(gone->reason == NotScannedReason::vanished);
  CHECK(report.counters.files_seen == 2);
  CHECK(exit_code(report) == kExitIncomplete);
}

TEST_CASE("scan: a file swapped for a FIFO between listing and opening is refused", "[scan][race]") {
  const TempDir dir;
  write_file(dir / "swapped", "x");
  ScanHooks hooks;
  hooks.before_open = [&](const boost::filesystem::path& path) {
    std::filesystem::remove(path.string());
    flscan::test::make_fifo(path.string());
  };
  const ScanReport report = scan(settings_for(dir.path().string()), hooks);
  const NotScannedEntry* swapped = not_scanned_entry(report, dir / "swapped");
  REQUIRE(swapped);
  CHECK(swapped->reason == NotScannedReason::replaced);
}

TEST_CASE("scan: a file truncated while being read is not scanned", "[scan][race]") {
  const TempDir dir;
  write_file(dir / "shrinks.exe", flscan::test::mz_bytes(3 * limits::kSniffBytes));
  ScanHooks hooks;
  hooks.after_sniff = [&](const boost::filesystem::path& path) {
    std::filesystem::resize_file(path.string(), limits::kSniffBytes + 1);
  };
  const ScanReport report = scan(settings_for(dir.path().string()), hooks);
  REQUIRE(report.not_scanned.size() == 1);
  CHECK(report.not_scanned[0].reason == NotScannedReason::truncated);
  CHECK(report.results.empty());
}

TEST_CASE("scan: --max-filesize refuses big files needed whole, never calls them clean", "[scan]") {
  const TempDir dir;
  write_file(dir / "big.exe", flscan::test::mz_bytes(5000));
  write_file(dir / "big.txt", std::string(5000, 't'));  // not needed whole: examined by its head
  write_file(dir / "small.exe", flscan::test::mz_bytes(100));
  ScanSettings settings = settings_for(dir.path().string());
  settings.max_file_size = 4096;
  const ScanReport report = scan(settings);
  REQUIRE(report.not_scanned.size() == 1);
  CHECK(report.not_scanned[0].path == dir / "big.exe");
  CHECK(report.not_scanned[0].reason == NotScannedReason::too_large);
  CHECK(report.counters.files_examined == 2);
}

TEST_CASE("scan: --inventory lists every MZ/PE file with size and sha256, sorted", "[scan]") {
  const TempDir dir;
  const std::string b = flscan::test::mz_bytes(300);
  const std::string a = flscan::test::mz_bytes(200);
  write_file(dir / "b/z.dll", b);
  write_file(dir / "a.exe", a);
  write_file(dir / "text.txt", "not a program");
  ScanSettings settings = settings_for(dir.path().string());
  settings.inventory = true;
  const ScanReport report = scan(settings);
  REQUIRE(report.inventory.size() == 2);
  CHECK(report.inventory[0].path == dir / "a.exe");
  CHECK(report.inventory[0].size == 200);
  CHECK(report.inventory[0].sha256 == flscan::test::sha256_hex(a));
  CHECK(report.inventory[1].path == dir / "b/z.dll");
  CHECK(report.inventory[1].sha256 == flscan::test::sha256_hex(b));
  CHECK(report.inventory[1].type == ContentType::mz_not_pe);
  CHECK_FALSE(report.inventory[1].pe_error.empty());
}

TEST_CASE("scan: the report is sorted and the same on every run", "[scan]") {
  const TempDir dir;
  for (int i = 0; i < 60; ++i) {
    const std::string name = std::to_string(i % 7) + "/f" + std::to_string(i);
    flscan::test::write_file(dir / name, "x");
    if (i % 5 == 0) flscan::test::make_fifo(dir / (name + ".fifo"));
  }
  const ScanReport first = scan(settings_for(dir.path().string()));
  const ScanReport second = scan(settings_for(dir.path().string()));
  REQUIRE(first.skipped.size() == 12);
  CHECK(std::is_sorted(first.skipped.begin(), first.skipped.end(),
                       [](const SkippedEntry& x, const SkippedEntry& y) { return x.path < y.path; }));
  for (std::size_t i = 0; i < first.skipped.size(); ++i) CHECK(first.skipped[i].path == second.skipped[i].path);
  CHECK(first.counters.files_seen == 60);
}

namespace {

// Throws for one file name; records everything else. The walker must report the throw as an
// internal error of that entry and go on with the rest of the walk.
class ThrowingVisitor final : public WalkVisitor {
 public:
  void file(const FileEntry& entry) override {
    if (entry.path.filename() == "boom") throw std::runtime_error("visitor failed");
    ++files;
  }
  void directory_listed(const boost::filesystem::path&) override {}
  void skipped(const boost::filesystem::path&, SkipReason, std::string) override {}
  void not_scanned(const boost::filesystem::path& path, NotScannedReason reason, std::string detail) override {
    const std::lock_guard lock(mutex);
    errors.push_back(path.string() + " " + std::string(to_code(reason)) + " " + detail);
  }
  std::atomic<int> files{0};
  std::mutex mutex;
  std::vector<std::string> errors;
};

}  // namespace

TEST_CASE("walk: an exception for one entry is reported and the walk goes on", "[walk]") {
  const TempDir dir;
  write_file(dir / "boom", "x");
  for (int i = 0; i < 20; ++i) write_file(dir / ("d" + std::to_string(i) + "/f"), "x");
  ThrowingVisitor visitor;
  const Walker walker(WalkSettings{});
  CHECK(walker.walk({dir.path().string()}, visitor) == 0);
  CHECK(visitor.files == 20);
  REQUIRE(visitor.errors.size() == 1);
  CHECK(visitor.errors[0] == dir / "boom internal-error visitor failed");
}
