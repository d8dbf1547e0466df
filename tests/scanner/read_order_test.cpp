// --read-order (issue 19, scanner/walk/read_order.h): the order of a directory batch, the automatic
// choice read from a sysfs tree made here, the FIEMAP probe's refusals (what the listing did not
// see is never probed as that file, and nothing blocks), and the choice recorded per PATH in the
// report. The order of reads on a real ext4 file system is tests/e2e/read_order_test.py.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/limits.h"
#include "engine/sig/signature_set.h"
#include "scanner/app/scan_job.h"
#include "scanner/walk/read_order.h"
#include "test_support.h"

using namespace flscan;
using namespace flscan::scanner;
using flscan::test::TempDir;
using flscan::test::write_file;

namespace {

std::vector<std::size_t> listing_indexes(const std::vector<PlacedFile>& files) {
  std::vector<std::size_t> indexes;
  for (const PlacedFile& file : files) indexes.push_back(file.listing_index);
  return indexes;
}

// A sysfs tree as the kernel lays it out: /sys/dev/block/MAJ:MIN links to the device's directory,
// a partition's directory sits inside its disk's, and only disks have a queue/.
struct FakeSysfs {
  TempDir dir;
  void disk(const std::string& name, const std::string& number, const std::string& rotational) const {
    write_file(dir / ("block/" + name + "/queue/rotational"), rotational);
    write_file(dir / ("block/" + name + "/uevent"), "MAJOR=x\nDEVNAME=" + name + "\nDEVTYPE=disk\n");
    link(number, "block/" + name);
  }
  void partition(const std::string& disk_name, const std::string& name, const std::string& number) const {
    write_file(dir / ("block/" + disk_name + "/" + name + "/partition"), "1\n");
    write_file(dir / ("block/" + disk_name + "/" + name + "/uevent"), "DEVNAME=" + name + "\nDEVTYPE=partition\n");
    link(number, "block/" + disk_name + "/" + name);
  }
  void link(const std::string& number, const std::string& target) const {
    std::filesystem::create_directories(dir.path() / "dev/block");
    flscan::test::make_symlink("../../" + target, dir / ("dev/block/" + number));
  }
  [[nodiscard]] std::string root() const { return dir.path().string(); }
};

ReadOrderChoice automatic(const FakeSysfs& sysfs, unsigned major_number, unsigned minor_number) {
  return choose_read_order(ReadOrderMode::automatic, makedev(major_number, minor_number), sysfs.root());
}

}  // namespace

TEST_CASE("read order: a batch sorts by first physical byte, files without one last as listed", "[read_order]") {
  // Listing order 0..6; physical offsets as a file system could place them, two without extent.
  std::vector<PlacedFile> files = {{40960, 0},     {kNoExtent, 1}, {4096, 2}, {1 << 20, 3},
                                   {kNoExtent, 4}, {8192, 5},      {0, 6}};
  sort_by_disk_position(files);
  CHECK(listing_indexes(files) == std::vector<std::size_t>{6, 2, 5, 0, 3, 1, 4});

  std::vector<PlacedFile> none = {{kNoExtent, 0}, {kNoExtent, 1}, {kNoExtent, 2}};
  sort_by_disk_position(none);
  CHECK(listing_indexes(none) == std::vector<std::size_t>{0, 1, 2});  // nothing known: as listed

  std::vector<PlacedFile> empty;
  sort_by_disk_position(empty);
  CHECK(empty.empty());
}

TEST_CASE("read order: auto reads the queue of the PATH's block device, its disk's for a partition", "[read_order]") {
  FakeSysfs sysfs;
  sysfs.disk("sda", "8:0", "1\n");
  sysfs.partition("sda", "sda1", "8:1");
  sysfs.disk("nvme0n1", "259:0", "0\n");
  sysfs.partition("nvme0n1", "nvme0n1p2", "259:2");
  sysfs.disk("odd", "8:32", "yes\n");
  // A queue under an anonymous device number, which auto must never read.
  write_file(sysfs.dir / "block/anon/queue/rotational", "1\n");
  sysfs.link("0:45", "block/anon");

  const ReadOrderChoice whole = automatic(sysfs, 8, 0);
  CHECK(whole.order == ReadOrder::disk);
  CHECK(whole.reason == "auto: rotational device sda");
  const ReadOrderChoice part = automatic(sysfs, 8, 1);
  CHECK(part.order == ReadOrder::disk);
  CHECK(part.reason == "auto: rotational device sda1");
  const ReadOrderChoice ssd = automatic(sysfs, 259, 2);
  CHECK(ssd.order == ReadOrder::listing);
  CHECK(ssd.reason == "auto: non-rotational device nvme0n1p2");
  const ReadOrderChoice anonymous = automatic(sysfs, 0, 45);  // tmpfs, overlay, FUSE, btrfs...
  CHECK(anonymous.order == ReadOrder::listing);
  CHECK(anonymous.reason == "auto: not a block device (0:45)");
  const ReadOrderChoice missing = automatic(sysfs, 8, 16);
  CHECK(missing.order == ReadOrder::listing);
  CHECK(missing.reason == "auto: no rotational flag for block device 8:16");
  CHECK(automatic(sysfs, 8, 32).order == ReadOrder::listing);  // not "0" or "1": not trusted

  // The options themselves win over sysfs.
  const ReadOrderChoice disk = choose_read_order(ReadOrderMode::disk, makedev(259, 0), sysfs.root());
  CHECK(disk.order == ReadOrder::disk);
  CHECK(disk.reason == "--read-order disk");
  const ReadOrderChoice listing = choose_read_order(ReadOrderMode::listing, makedev(8, 0), sysfs.root());
  CHECK(listing.order == ReadOrder::listing);
  CHECK(listing.reason == "--read-order listing");
}

TEST_CASE("read order: the FIEMAP probe refuses what the listing did not see, without blocking", "[read_order]") {
  const TempDir dir;
  write_file(dir / "file.bin", std::string(10000, 'x'));
  write_file(dir / "other.bin", std::string(10000, 'y'));
  flscan::test::make_fifo(dir / "pipe");
  flscan::test::make_symlink("file.bin", dir / "link");
  struct stat file {};
  struct stat other {};
  REQUIRE(::stat((dir / "file.bin").c_str(), &file) == 0);
  REQUIRE(::stat((dir / "other.bin").c_str(), &other) == 0);
  const int dir_fd = ::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir_fd >= 0);
  // Placed on the disk now (delayed allocation would leave the position unknown until written back).
  const int file_fd = ::open((dir / "file.bin").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(file_fd >= 0);
  CHECK(::fsync(file_fd) == 0);
  ::close(file_fd);
  ExtentProbe probe;
  // The file the listing saw has a position where the file system keeps extents (ext4, xfs, btrfs);
  // where it does not (tmpfs), the probe now knows.
  const std::uint64_t placed = probe.first_physical_byte(dir_fd, "file.bin", file.st_dev, file.st_ino);
  CHECK((placed != kNoExtent || !probe.supported(file.st_dev)));
  // A name that is now another file, a FIFO (opened O_NONBLOCK: returns at once), a symlink to
  // the very file (O_NOFOLLOW), a name that is gone: no position, whatever the file system.
  CHECK(probe.first_physical_byte(dir_fd, "other.bin", file.st_dev, file.st_ino) == kNoExtent);
  CHECK(probe.first_physical_byte(dir_fd, "pipe", file.st_dev, file.st_ino) == kNoExtent);
  CHECK(probe.first_physical_byte(dir_fd, "link", file.st_dev, file.st_ino) == kNoExtent);
  CHECK(probe.first_physical_byte(dir_fd, "gone", file.st_dev, file.st_ino) == kNoExtent);
  ::close(dir_fd);
}

TEST_CASE("read order: a file system without FIEMAP is asked once, then never again", "[read_order]") {
  // tmpfs answers FS_IOC_FIEMAP with EOPNOTSUPP.
  struct statfs fs {};
  constexpr long kTmpfsMagic = 0x01021994;
  if (::statfs("/dev/shm", &fs) != 0 || fs.f_type != kTmpfsMagic) {
    FAIL("/dev/shm is not a tmpfs on this machine: this test needs one (Debian mounts it)");
  }
  const std::string path = "/dev/shm/flscan-read-order-test-" + std::to_string(::getpid());
  write_file(path, std::string(10000, 'x'));
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  const int dir_fd = ::open("/dev/shm", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir_fd >= 0);
  ExtentProbe probe;
  CHECK(probe.supported(st.st_dev));
  const std::string name = std::filesystem::path(path).filename().string();
  CHECK(probe.first_physical_byte(dir_fd, name.c_str(), st.st_dev, st.st_ino) == kNoExtent);
  CHECK_FALSE(probe.supported(st.st_dev));
  ::close(dir_fd);
  ::unlink(path.c_str());
}

TEST_CASE("read order: the report records each PATH's order and why, and nothing else changes", "[read_order]") {
  const TempDir dir;
  for (int i = 0; i < 40; ++i) write_file(dir / ("tree/f" + std::to_string(i) + ".txt"), std::string(100 + i, 'a'));
  write_file(dir / "tree/sub/tool.exe", flscan::test::mz_bytes(5000));
  write_file(dir / "tree/empty", "");
  flscan::test::make_fifo(dir / "tree/pipe");
  write_file(dir / "file.txt", "a file operand");
  struct stat tree {};
  REQUIRE(::stat((dir / "tree").c_str(), &tree) == 0);
  // A sysfs in which the test directory's device is a rotational disk named fake0.
  FakeSysfs sysfs;
  sysfs.disk("fake0", std::to_string(major(tree.st_dev)) + ":" + std::to_string(minor(tree.st_dev)), "1\n");

  static const sig::SignatureSet no_signatures;
  const auto scan = [&](ReadOrderMode mode) {
    ScanSettings settings;
    settings.roots = {dir / "tree", dir / "file.txt"};
    settings.walk.read_order = mode;
    settings.walk.sysfs_root = sysfs.root();
    settings.walk.shard = Shard{1, 2};
    return ScanJob(no_signatures, settings).run();
  };
  const ScanReport automatic_report = scan(ReadOrderMode::automatic);
  const ScanReport listing_report = scan(ReadOrderMode::listing);
  const ScanReport disk_report = scan(ReadOrderMode::disk);
  REQUIRE(automatic_report.root_facts.size() == 2);
  if (major(tree.st_dev) != 0) {
    CHECK(automatic_report.root_facts[0].read_order == ReadOrder::disk);
    CHECK(automatic_report.root_facts[0].read_order_reason == "auto: rotational device fake0");
  } else {
    CHECK(automatic_report.root_facts[0].read_order == ReadOrder::listing);
  }
  CHECK_FALSE(automatic_report.root_facts[1].read_order.has_value());  // a file operand: no order to choose
  CHECK(listing_report.root_facts[0].read_order == ReadOrder::listing);
  CHECK(disk_report.root_facts[0].read_order == ReadOrder::disk);
  CHECK(disk_report.root_facts[0].read_order_reason == "--read-order disk");

  // The same entries and counters either way (this shard's files only, the FIFO skipped).
  for (const ScanReport* report : {&automatic_report, &disk_report}) {
    CHECK(report->counters.files_seen == listing_report.counters.files_seen);
    CHECK(report->counters.files_examined == listing_report.counters.files_examined);
    CHECK(report->counters.files_in_other_shards == listing_report.counters.files_in_other_shards);
    CHECK(report->counters.bytes_read == listing_report.counters.bytes_read);
    CHECK(report->counters.directories == listing_report.counters.directories);
    CHECK(report->skipped.size() == listing_report.skipped.size());
    CHECK(report->not_scanned.size() == listing_report.not_scanned.size());
  }
  CHECK(listing_report.counters.files_seen + listing_report.counters.files_in_other_shards == 43);
  CHECK(listing_report.counters.files_seen > 0);
  CHECK(listing_report.counters.files_in_other_shards > 0);
}

TEST_CASE("read order: a directory larger than one batch is read whole, each file once", "[read_order]") {
  // limits::kMaxReadOrderBatch + 5 files: one full batch, then the rest, none lost or read twice.
  const TempDir dir;
  const std::size_t count = limits::kMaxReadOrderBatch + 5;
  std::filesystem::create_directories(dir.path() / "big");
  for (std::size_t i = 0; i < count; ++i) {
    const std::string path = dir / ("big/" + std::to_string(i));
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::write(fd, "x", 1) == 1);
    ::close(fd);
  }
  static const sig::SignatureSet no_signatures;
  ScanSettings settings;
  settings.roots = {dir / "big"};
  settings.walk.read_order = ReadOrderMode::disk;
  const ScanReport report = ScanJob(no_signatures, settings).run();
  CHECK(report.complete());
  CHECK(report.counters.files_seen == count);
  CHECK(report.counters.files_examined == count);
  CHECK(report.counters.bytes_read == count);
  REQUIRE(report.root_facts.size() == 1);
  CHECK(report.root_facts[0].read_order == ReadOrder::disk);
}
