// Issue 13, item 3: the walk and the quarantine never re-resolve a full path, so a directory of the
// scanned tree swapped for a symbolic link (or a filesystem mounted on it) once listed cannot take
// a read or an action outside the PATH. The swaps happen at deterministic seams (ScanHooks): after
// the walk listed the directory and before the file in it is opened, or after the scan and before
// --quarantine acts. Then the descriptor bound of the walk (scanner/walk/dir_handle.h): a tree deeper
// than RLIMIT_NOFILE and a wide one are walked completely under a small limit, and a directory
// handle re-opened after its descriptor was closed is checked name by name.
//
// What each file holds is set here, and the inventory (SHA-256 of every MZ file scanned) tells
// which bytes the scan read; the quarantine's effect is read from the filesystem.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include "scanner/walk/dir_handle.h"
#include "scanner/remedy/quarantine.h"
#include "scanner/remedy/remediate.h"
#include "scanner/app/scan_job.h"
#include "hostile_support.h"
#include "test_support.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::scanner;
using flscan::test::TempDir;
using flscan::test::write_file;
namespace fs = std::filesystem;

namespace {

ScanReport scan(const std::string& root, const ScanHooks& hooks, bool one_file_system = false,
                const sig::SignatureSet& signatures = flscan::test::builtin_set()) {
  ScanSettings settings;
  settings.roots = {root};
  settings.inventory = true;
  settings.walk.one_file_system = one_file_system;
  ScanJob job(signatures, settings);
  job.hooks = hooks;
  return job.run();
}

const InventoryEntry* inventory_entry(const ScanReport& report, const std::string& path) {
  for (const InventoryEntry& entry : report.inventory) {
    if (entry.path == path) return &entry;
  }
  return nullptr;
}

const NotScannedEntry* not_scanned_entry(const ScanReport& report, const std::string& path) {
  for (const NotScannedEntry& entry : report.not_scanned) {
    if (entry.path == path) return &entry;
  }
  return nullptr;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The swap an attacker makes: `dir` moves away (out of the tree) and a symlink to `target` takes
// its name.
void swap_for_symlink(const std::string& dir, const std::string& moved_to, const std::string& target) {
  REQUIRE(::rename(dir.c_str(), moved_to.c_str()) == 0);
  flscan::test::make_symlink(target, dir);
}

std::string infected_program() {
  const test::Buffer host = test::build_pe(test::PeSpec{});
  const test::Buffer file = test::infect(host).file;
  return std::string(file.begin(), file.end());
}

// A tmpfs mounted for the length of a test (detached on the way out, passing or failing).
class TmpfsMount {
 public:
  explicit TmpfsMount(std::string where) : where_(std::move(where)) {
    mounted_ = ::mount("flscan-test", where_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755") == 0;
    error_ = errno;
  }
  ~TmpfsMount() {
    if (mounted_) ::umount2(where_.c_str(), MNT_DETACH);
  }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  [[nodiscard]] bool mounted() const { return mounted_; }
  [[nodiscard]] std::string error() const { return std::strerror(error_); }

 private:
  std::string where_;
  bool mounted_ = false;
  int error_ = 0;
};

// Lowers RLIMIT_NOFILE's soft limit for the length of a test.
class NofileLimit {
 public:
  explicit NofileLimit(rlim_t soft) {
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
    rlimit lowered = saved_;
    lowered.rlim_cur = soft;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &lowered) == 0);
  }
  ~NofileLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
  NofileLimit(const NofileLimit&) = delete;
  NofileLimit& operator=(const NofileLimit&) = delete;

 private:
  rlimit saved_{};
};

}  // namespace

TEST_CASE(
    "walk: a directory swapped for a symlink out of the PATH after it was listed is not followed by the read "
    "(issue 13)",
    "[walk][race][issue13]") {
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  const std::string inside = flscan::test::mz_bytes(100);
  const std::string outside = flscan::test::mz_bytes(300) + "outside";
  write_file(tree + "/sub/payload.exe", inside);
  write_file(tmp / "outside/payload.exe", outside);
  ScanHooks hooks;
  // The walk listed tree/sub; before it opens the file found there, tree/sub becomes a link to a
  // directory outside the PATH holding a file of the same name.
  hooks.before_open = [&](const boost::filesystem::path& path) {
    if (path.string() == tree + "/sub/payload.exe") swap_for_symlink(tree + "/sub", tmp / "moved", tmp / "outside");
  };
  const ScanReport report = scan(tree, hooks);
  CHECK(report.counters.files_seen == 1);
  const InventoryEntry* entry = inventory_entry(report, tree + "/sub/payload.exe");
  if (entry != nullptr) {
    // Read at all, then from the directory the walk listed: the bytes written there.
    CHECK(entry->sha256 == flscan::test::sha256_hex(inside));
    CHECK(entry->sha256 != flscan::test::sha256_hex(outside));
    CHECK(entry->size == inside.size());
  } else {
    // Or refused as replaced; never read from outside.
    const NotScannedEntry* refused = not_scanned_entry(report, tree + "/sub/payload.exe");
    REQUIRE(refused);
    CHECK(refused->reason == NotScannedReason::replaced);
  }
  CHECK(report.inventory.size() <= 1);
}

TEST_CASE(
    "quarantine: a directory swapped for a symlink during the scan does not make --quarantine remove a file "
    "outside the PATH (issue 13)",
    "[quarantine][race][issue13]") {
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  const std::string victim = tmp / "outside/tool.exe";
  const std::string infected = infected_program();
  write_file(tree + "/sub/tool.exe", "a harmless text file\n");
  write_file(victim, infected);
  ScanHooks hooks;
  hooks.before_open = [&](const boost::filesystem::path& path) {
    if (path.string() == tree + "/sub/tool.exe") swap_for_symlink(tree + "/sub", tmp / "moved", tmp / "outside");
  };
  ScanReport report = scan(tree, hooks);
  auto quarantine = Quarantine::open(tmp / "q");
  REQUIRE(quarantine);
  Remediator(*quarantine, flscan::test::builtin_set(), RepairMode::off).run(report);
  // The file the walk listed is harmless text: nothing infected was read inside the PATH, nothing
  // is quarantined, and the program outside the PATH is where it was, unchanged.
  CHECK(report.results.empty());
  CHECK(quarantine->entries().empty());
  REQUIRE(exists(victim));
  CHECK(read_text(victim) == infected);
}

TEST_CASE(
    "quarantine: a directory swapped for a symlink after the scan is refused; the file outside the PATH stays "
    "(issue 13)",
    "[quarantine][race][issue13]") {
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  const std::string victim = tmp / "outside/tool.exe";
  const std::string infected = infected_program();
  // The same bytes inside and outside: the SHA-256 check alone cannot tell them apart.
  write_file(tree + "/sub/tool.exe", infected);
  write_file(victim, infected);
  ScanReport report = scan(tree, {});
  REQUIRE(report.results.size() == 1);
  REQUIRE(report.results[0].path == tree + "/sub/tool.exe");
  swap_for_symlink(tree + "/sub", tmp / "moved", tmp / "outside");

  auto quarantine = Quarantine::open(tmp / "q");
  REQUIRE(quarantine);
  Remediator(*quarantine, flscan::test::builtin_set(), RepairMode::off).run(report);
  REQUIRE(report.results[0].action);
  const FileAction& action = *report.results[0].action;
  INFO("action error: " << action.error);
  CHECK(action.result == ActionResult::left_in_place);
  CHECK(action.error.find("not the one scanned") != std::string::npos);
  CHECK(quarantine->entries().empty());
  REQUIRE(exists(victim));
  CHECK(read_text(victim) == infected);
  // The scanned file, moved out of the tree by the swap, is untouched too.
  CHECK(read_text(tmp / "moved/tool.exe") == infected);
}

TEST_CASE("quarantine: a file replaced after the scan, even by the same bytes, is left alone (issue 13)",
          "[quarantine][race][issue13]") {
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  const std::string infected = infected_program();
  write_file(tree + "/tool.exe", infected);
  ScanReport report = scan(tree, {});
  REQUIRE(report.results.size() == 1);
  // Another file takes the name: a copy of the same bytes renamed over it.
  write_file(tmp / "copy.exe", infected);
  REQUIRE(::rename((tmp / "copy.exe").c_str(), (tree + "/tool.exe").c_str()) == 0);
  struct stat replacement {};
  REQUIRE(::stat((tree + "/tool.exe").c_str(), &replacement) == 0);

  auto quarantine = Quarantine::open(tmp / "q");
  REQUIRE(quarantine);
  Remediator(*quarantine, flscan::test::builtin_set(), RepairMode::off).run(report);
  REQUIRE(report.results[0].action);
  INFO("action error: " << report.results[0].action->error);
  CHECK(report.results[0].action->result == ActionResult::left_in_place);
  CHECK(report.results[0].action->error.find("not the file that was scanned") != std::string::npos);
  CHECK(quarantine->entries().empty());
  struct stat now {};
  REQUIRE(::stat((tree + "/tool.exe").c_str(), &now) == 0);
  CHECK(now.st_ino == replacement.st_ino);
}

TEST_CASE("walk: -x holds for a tmpfs mounted on a directory after it was listed", "[walk][mount][issue13]") {
  if (!flscan::test::running_as_root()) {
    WARN("mounting a tmpfs needs root; not exercised");
    return;
  }
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  const std::string inside = flscan::test::mz_bytes(100);
  const std::string mounted = flscan::test::mz_bytes(200) + "on the tmpfs";
  write_file(tree + "/sub/f.exe", inside);
  const bool one_file_system = GENERATE(true, false);
  INFO("--one-file-system " << one_file_system);
  // A tmpfs on tree/sub holding a file of the same name, mounted when the walk reaches `when`.
  std::optional<TmpfsMount> mount;
  const auto mount_at = [&](const std::string& when) {
    return [&, when](const boost::filesystem::path& path) {
      if (path.string() != when) return;
      mount.emplace(tree + "/sub");
      if (mount->mounted()) write_file(tree + "/sub/f.exe", mounted);
    };
  };
  const auto exercised = [&] {
    if (mount && mount->mounted()) return true;
    WARN("mount refused (" << (mount ? mount->error() : "hook not run") << "); not exercised");
    return false;
  };

  SECTION("mounted over the directory of a listed file, before the file is opened") {
    ScanHooks hooks;
    hooks.before_open = mount_at(tree + "/sub/f.exe");
    const ScanReport report = scan(tree, hooks, one_file_system);
    if (!exercised()) return;
    // Read relative to the directory the walk opened before the mount: the bytes written there.
    const InventoryEntry* entry = inventory_entry(report, tree + "/sub/f.exe");
    REQUIRE(entry);
    CHECK(entry->sha256 == flscan::test::sha256_hex(inside));
    CHECK(report.inventory.size() == 1);
  }

  SECTION("mounted on a directory after its parent listed it, before it is opened") {
    ScanHooks hooks;
    hooks.before_open_directory = mount_at(tree + "/sub");
    const ScanReport report = scan(tree, hooks, one_file_system);
    if (!exercised()) return;
    // Not the directory that was listed: with -x a mount point (skipped), without it replaced
    // (not scanned). Either way nothing on the tmpfs is read.
    CHECK(report.inventory.empty());
    CHECK(report.counters.files_seen == 0);
    if (one_file_system) {
      REQUIRE(report.skipped.size() == 1);
      CHECK(report.skipped[0].path == tree + "/sub");
      CHECK(report.skipped[0].reason == SkipReason::other_filesystem);
    } else {
      const NotScannedEntry* sub = not_scanned_entry(report, tree + "/sub");
      REQUIRE(sub);
      CHECK(sub->reason == NotScannedReason::replaced);
    }
  }
}

TEST_CASE("walk: a directory swapped for a symlink before it is opened is reported as replaced, not entered",
          "[walk][race][issue13]") {
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  write_file(tree + "/sub/inside.exe", flscan::test::mz_bytes(100));
  write_file(tmp / "outside/secret.exe", flscan::test::mz_bytes(300));
  ScanHooks hooks;
  hooks.before_open_directory = [&](const boost::filesystem::path& path) {
    if (path.string() == tree + "/sub") swap_for_symlink(tree + "/sub", tmp / "moved", tmp / "outside");
  };
  const ScanReport report = scan(tree, hooks);
  CHECK(report.inventory.empty());
  CHECK(report.counters.files_seen == 0);
  const NotScannedEntry* sub = not_scanned_entry(report, tree + "/sub");
  REQUIRE(sub);
  CHECK(sub->reason == NotScannedReason::replaced);
  CHECK(sub->detail.find("symbolic link") != std::string::npos);
}

TEST_CASE("walk: -L still reads only the target the walk examined", "[walk][symlink][race][issue13]") {
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  const std::string examined = flscan::test::mz_bytes(100);
  write_file(tmp / "a/target.exe", examined);
  write_file(tmp / "b/target.exe", flscan::test::mz_bytes(300));
  write_file(tree + "/note.txt", "n");
  flscan::test::make_symlink(tmp / "a/target.exe", tree + "/link.exe");
  ScanSettings settings;
  settings.roots = {tree};
  settings.inventory = true;
  settings.walk.follow_symlinks = true;
  ScanJob job(flscan::test::builtin_set(), settings);
  // After the walk stat'ed the link's target, the link is pointed elsewhere.
  job.hooks.before_open = [&](const boost::filesystem::path& path) {
    if (path.string() != tree + "/link.exe") return;
    REQUIRE(::unlink(path.c_str()) == 0);
    flscan::test::make_symlink(tmp / "b/target.exe", path.string());
  };
  const ScanReport report = job.run();
  CHECK(report.inventory.empty());
  const NotScannedEntry* link = not_scanned_entry(report, tree + "/link.exe");
  REQUIRE(link);
  CHECK(link->reason == NotScannedReason::replaced);
}

TEST_CASE("walk: a tree deeper than RLIMIT_NOFILE, with a file at every level, is walked completely under it",
          "[walk][deep][descriptors][issue13]") {
  constexpr int kDepth = 2000;
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  REQUIRE(::mkdir(tree.c_str(), 0755) == 0);
  const flscan::test::TreeGuard guard(tree);
  {
    // Every level holds a file and the next level, so the walk leaves work behind at each one.
    const flscan::test::UniqueFd top(::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(top.get() >= 0);
    int dir = ::dup(top.get());
    for (int level = 0; level < kDepth; ++level) {
      flscan::test::write_file_at(dir, "f" + std::to_string(level), "level " + std::to_string(level));
      const int next = flscan::test::make_directory_chain(dir, {"d"});
      ::close(dir);
      dir = next;
    }
    ::close(dir);
  }
  const tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 2);
  const NofileLimit limit(64);  // far fewer descriptors than levels
  ScanSettings settings;
  settings.roots = {tree};
  ScanJob job(flscan::test::builtin_set(), settings);
  const ScanReport report = job.run();
  INFO((report.not_scanned.empty()
            ? std::string()
            : report.not_scanned[0].path.substr(0, 80) + "...: " + report.not_scanned[0].detail));
  CHECK(report.not_scanned.empty());
  CHECK(report.counters.files_seen == kDepth);
  CHECK(report.counters.directories == kDepth + 1);
  CHECK(report.complete());
}

TEST_CASE("walk: a wide tree is walked completely under a small RLIMIT_NOFILE", "[walk][wide][descriptors][issue13]") {
  constexpr int kDirectories = 1000;
  const TempDir tmp;
  const std::string tree = tmp / "tree";
  for (int i = 0; i < kDirectories; ++i) {
    const std::string dir = tree + "/d" + std::to_string(i);
    write_file(dir + "/a", "a");
    write_file(dir + "/b", "b");
  }
  const tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 2);
  const NofileLimit limit(64);
  ScanSettings settings;
  settings.roots = {tree};
  ScanJob job(flscan::test::builtin_set(), settings);
  const ScanReport report = job.run();
  CHECK(report.not_scanned.empty());
  CHECK(report.counters.files_seen == 2 * kDirectories);
  CHECK(report.counters.directories == kDirectories + 1);
  CHECK(report.complete());
}

TEST_CASE("directory handles: idle descriptors past the cap are closed; a re-open checks every name again",
          "[dir-handle][issue13]") {
  const TempDir tmp;
  const std::string root = tmp / "root";
  write_file(root + "/a/b/c/file", "x");
  write_file(root + "/x/file", "x");
  write_file(tmp / "elsewhere/c/file", "y");
  struct stat st {};
  const auto identity = [&](const std::string& path) {
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return DirIdentity{st.st_dev, st.st_ino};
  };
  auto cache = std::make_shared<DirCache>(1);
  std::shared_ptr<DirHandle> c;
  {
    auto root_lease = DirHandle::open_root(cache, root, identity(root));
    REQUIRE(root_lease);
    auto a = DirHandle::open_child(root_lease->handle(), "a", root + "/a", false, identity(root + "/a"));
    REQUIRE(a);
    auto b = DirHandle::open_child(a->handle(), "b", root + "/a/b", false, identity(root + "/a/b"));
    REQUIRE(b);
    auto c_lease = DirHandle::open_child(b->handle(), "c", root + "/a/b/c", false, identity(root + "/a/b/c"));
    REQUIRE(c_lease);
    c = c_lease->handle();
    // Four leased: all open, whatever the cap.
    CHECK(cache->open_count() == 4);
  }
  // Released: only the cap's worth stays open.
  CHECK(cache->open_count() == 1);
  {
    // Still re-openable while nothing changed, and closed again afterwards.
    auto again = c->lease();
    REQUIRE(again);
    CHECK(::faccessat(again->fd(), "file", F_OK, 0) == 0);
  }
  CHECK(cache->open_count() <= 1);

  SECTION("a component swapped for a symlink") {
    // The cache holds c only; open x under the root so c's descriptor is closed too.
    auto root_handle = c->parent()->parent()->parent();
    {
      auto x = DirHandle::open_child(root_handle, "x", root + "/x", false, identity(root + "/x"));
      REQUIRE(x);
    }
    swap_for_symlink(root + "/a/b", tmp / "moved", tmp / "elsewhere");
    auto reopened = c->lease();
    REQUIRE_FALSE(reopened);
    CHECK(reopened.error().reason == NotScannedReason::replaced);
    CHECK(reopened.error().detail == root + "/a/b: open: now a symbolic link (was a directory when listed)");
  }
  SECTION("a component replaced by another directory of the same name") {
    auto root_handle = c->parent()->parent()->parent();
    {
      auto x = DirHandle::open_child(root_handle, "x", root + "/x", false, identity(root + "/x"));
      REQUIRE(x);
    }
    REQUIRE(::rename((root + "/a").c_str(), (tmp / "moved-a").c_str()) == 0);
    write_file(root + "/a/b/c/file", "z");
    auto reopened = c->lease();
    REQUIRE_FALSE(reopened);
    CHECK(reopened.error().reason == NotScannedReason::replaced);
    CHECK(reopened.error().detail == root + "/a: open: a different directory than the one listed");
  }
}

TEST_CASE("directory handles: at most the cap stays open however deep the chain",
          "[dir-handle][descriptors][issue13]") {
  const TempDir tmp;
  std::string path = tmp / "root";
  write_file(path + "/file", "x");
  auto cache = std::make_shared<DirCache>(8);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  auto lease = DirHandle::open_root(cache, path, DirIdentity{st.st_dev, st.st_ino});
  REQUIRE(lease);
  std::vector<std::shared_ptr<DirHandle>> chain{lease->handle()};
  *lease = DirLease();
  for (int level = 0; level < 100; ++level) {
    const std::string next = path + "/d";
    REQUIRE(::mkdir(next.c_str(), 0755) == 0);
    REQUIRE(::stat(next.c_str(), &st) == 0);
    auto child = DirHandle::open_child(chain.back(), "d", next, false, DirIdentity{st.st_dev, st.st_ino});
    REQUIRE(child);
    chain.push_back(child->handle());
    path = next;
    CHECK(cache->open_count() <= 8 + 2);  // the cap, and the child and its parent while leased
  }
  CHECK(cache->open_count() <= 8);
  // The shallowest ones were closed first; leasing the root again re-opens it by its path.
  auto root_again = chain.front()->lease();
  REQUIRE(root_again);
  CHECK(::faccessat(root_again->fd(), "file", F_OK, 0) == 0);
}
