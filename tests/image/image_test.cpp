// Disk images scanned without mounting (scanner/image/): volumes found by partition table or as a
// bare filesystem, paths IMAGE:pN/..., containers (VHD, VMDK, E01), per-volume errors (truncated
// image, garbage partition, BitLocker signature) with the other volumes still scanned, --shard
// keys, and a regular file that is not an image still scanned as a file.
//
// Each test builds its images with the standard tools (mkfs.fat + mcopy, mkntfs + ntfscp, sfdisk,
// qemu-img, ewfacquire). What each volume holds, and so what must be found, comes from how the test
// built it and from the corpus manifest (the infected sample's expected state).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scanner/image/image_listing.h"
#include "scanner/image/limits.h"
#include "scanner/image/nested_image.h"
#include "scanner/image/tsk_volume_fs.h"
#include "scanner/report/report.h"
#include "scanner/app/scan_job.h"
#include "signatures/loader.h"
#include "test_support.h"

using namespace flscan;
using namespace flscan::scanner;
using flscan::test::TempDir;
using json = nlohmann::json;

namespace {

const std::string kCorpus = FLSCAN_CORPUS_DIR;
constexpr std::uint64_t kSector = 512;

// Runs a shell command of the test's own making (paths under a TempDir, no user input).
void sh(const std::string& command) {
  INFO(command);
  REQUIRE(std::system((command + " >/dev/null 2>&1").c_str()) == 0);
}

json corpus_manifest() {
  std::ifstream in(kCorpus + "/manifest.json");
  INFO("the corpus is built by the `corpus` target (make test does it)");
  REQUIRE(in.good());
  return json::parse(in);
}

// A corpus sample the manifest says is `expected`, and its path.
std::string corpus_sample(const std::string& expected) {
  const json manifest = corpus_manifest();
  for (const json& file : manifest["files"]) {
    const std::string path = file["path"];
    if (file["expected"] == expected && path.ends_with(".exe")) return kCorpus + "/" + path;
  }
  FAIL("no corpus sample expected " << expected);
  return {};
}

const sig::SignatureSet& builtin() { return flscan::test::builtin_set(); }

ScanReport scan(const std::vector<std::string>& roots, bool force_image = false,
                std::optional<Shard> shard = std::nullopt, std::vector<image::ImageLayout>* images = nullptr) {
  ScanSettings settings;
  settings.roots = roots;
  settings.force_image = force_image;
  settings.walk.shard = shard;
  settings.list_excluded = true;
  std::vector<image::ImageLayout> layouts;
  ScanReport report = ScanJob(builtin(), settings).run(layouts);
  if (images != nullptr) *images = std::move(layouts);
  return report;
}

// A FAT volume image of `kib` KiB holding `files` (source, destination inside the volume).
void make_fat(const std::string& image, unsigned kib, const std::vector<std::pair<std::string, std::string>>& files) {
  sh("rm -f " + image + " && mkfs.fat -C " + image + " " + std::to_string(kib));
  for (const auto& [source, target] : files) {
    for (auto slash = target.find('/'); slash != std::string::npos; slash = target.find('/', slash + 1)) {
      sh("mmd -D s -i " + image + " ::/" + target.substr(0, slash) + " || true");
    }
    sh("mcopy -o -i " + image + " " + source + " ::/" + target);
  }
}

// An NTFS volume image of `mib` MiB holding `files` at its root.
void make_ntfs(const std::string& image, unsigned mib, const std::vector<std::pair<std::string, std::string>>& files) {
  sh("rm -f " + image + " && truncate -s " + std::to_string(mib) + "M " + image + " && mkntfs -q -F -f " + image);
  for (const auto& [source, target] : files) sh("ntfscp -f " + image + " " + source + " " + target);
}

struct Partition {
  std::uint64_t start = 0;  // sectors
  std::uint64_t size = 0;   // sectors
  std::string type;         // sfdisk type
  std::string content;      // a volume image copied in at `start` (empty: none)
};

// A disk image of `mib` MiB with a `label` ("dos" or "gpt") partition table.
void make_disk(const std::string& image, unsigned mib, const std::string& label, const std::vector<Partition>& parts) {
  std::string script = "label: " + label + "\\n";
  for (const Partition& p : parts) {
    script += "start=" + std::to_string(p.start) + ", size=" + std::to_string(p.size) + ", type=" + p.type + "\\n";
  }
  sh("rm -f " + image + " && truncate -s " + std::to_string(mib) + "M " + image + " && printf '" + script +
     "' | sfdisk -q " + image);
  for (const Partition& p : parts) {
    if (!p.content.empty())
      sh("dd if=" + p.content + " of=" + image + " bs=512 seek=" + std::to_string(p.start) + " conv=notrunc");
  }
}

const FileResult* result_at(const ScanReport& report, const std::string& path) {
  const auto found =
      std::find_if(report.results.begin(), report.results.end(), [&](const FileResult& r) { return r.path == path; });
  return found == report.results.end() ? nullptr : &*found;
}

const NotScannedEntry* not_scanned_at(const ScanReport& report, const std::string& path) {
  const auto found = std::find_if(report.not_scanned.begin(), report.not_scanned.end(),
                                  [&](const NotScannedEntry& e) { return e.path == path; });
  return found == report.not_scanned.end() ? nullptr : &*found;
}

std::set<std::string> result_paths(const ScanReport& report) {
  std::set<std::string> paths;
  for (const FileResult& r : report.results) paths.insert(r.path);
  return paths;
}

void check_infected(const ScanReport& report, const std::string& path) {
  INFO(path);
  const FileResult* result = result_at(report, path);
  REQUIRE(result != nullptr);
  CHECK(strongest_finding(*result).kind == FindingKind::infected);
}

// The MBR disk most tests use: p1 FAT16 (CALC.EXE, WINNT/notepad.exe infected), p2 NTFS
// (Calc.exe infected).
struct MbrDisk {
  TempDir dir;
  std::string infected = corpus_sample("infected");
  std::string image = dir / "disk.img";
  MbrDisk() {
    make_fat(dir / "p1.img", 4096, {{infected, "CALC.EXE"}, {infected, "WINNT/notepad.exe"}});
    make_ntfs(dir / "p2.img", 8, {{infected, "Calc.exe"}});
    make_disk(image, 20, "dos", {{2048, 8192, "6", dir / "p1.img"}, {12288, 16384, "7", dir / "p2.img"}});
  }
};

std::uint16_t le16(const std::string& d, std::size_t at) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(d[at]) | (static_cast<unsigned char>(d[at + 1]) << 8));
}

// Adds to directory A/B of a FAT image a directory entry LOOP whose first cluster is A's: a loop
// in the directory tree (root -> A -> B -> LOOP = A -> B -> ...), as a crafted image could hold.
void add_fat_loop(const std::string& image) {
  std::ifstream in(image, std::ios::binary);
  std::string d((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const std::size_t bytes_per_sector = le16(d, 11);
  const std::size_t sectors_per_cluster = static_cast<unsigned char>(d[13]);
  const std::size_t root = (le16(d, 14) + static_cast<unsigned char>(d[16]) * le16(d, 22)) * bytes_per_sector;
  const std::size_t root_entries = le16(d, 17);
  const std::size_t data = root + root_entries * 32;
  const std::size_t cluster_bytes = sectors_per_cluster * bytes_per_sector;
  const auto cluster = [&](std::size_t c) { return data + (c - 2) * cluster_bytes; };
  const auto find = [&](std::size_t dir, std::size_t entries, const std::string& name) -> std::size_t {
    const std::string padded = name + std::string(11 - name.size(), ' ');
    for (std::size_t i = 0; i < entries; ++i) {
      if (d.compare(dir + 32 * i, 11, padded) == 0) return le16(d, dir + 32 * i + 26);
    }
    FAIL("no entry " << name);
    return 0;
  };
  const std::size_t a = find(root, root_entries, "A");
  const std::size_t b = find(cluster(a), cluster_bytes / 32, "B");
  for (std::size_t i = 0; i < cluster_bytes / 32; ++i) {
    const std::size_t entry = cluster(b) + 32 * i;
    if (d[entry] != 0) continue;
    std::string loop = "LOOP       ";
    loop += '\x10';
    loop += std::string(14, '\0');
    loop += static_cast<char>(a & 0xff);
    loop += static_cast<char>(a >> 8);
    loop += std::string(4, '\0');
    d.replace(entry, 32, loop);
    break;
  }
  std::ofstream(image, std::ios::binary | std::ios::trunc) << d;
}

}  // namespace

TEST_CASE("image: a loop in a crafted directory tree is reported, not followed", "[image]") {
  const TempDir dir;
  flscan::test::write_file(dir / "x.txt", "not a program\n");
  const std::string image = dir / "loop.img";
  make_fat(image, 1024, {{dir / "x.txt", "A/B/X.TXT"}});
  add_fat_loop(image);
  const ScanReport report = scan({image});
  const NotScannedEntry* loop = not_scanned_at(report, image + ":vol/A/B/LOOP/B");
  REQUIRE(loop != nullptr);
  CHECK(loop->reason == NotScannedReason::loop);
  CHECK(report.counters.files_seen == 1);
  CHECK(exit_code(report) == kExitIncomplete);
}

TEST_CASE("image: a bare FAT volume is one volume named vol", "[image]") {
  const TempDir dir;
  const std::string infected = corpus_sample("infected");
  const std::string image = dir / "fat.img";
  make_fat(image, 8192, {{infected, "WINNT/CALC.EXE"}});
  const ScanReport report = scan({image});
  REQUIRE(report.volumes.size() == 1);
  CHECK(report.volumes[0].name == "vol");
  CHECK(report.volumes[0].offset == 0);
  CHECK(report.volumes[0].filesystem.starts_with("fat"));
  CHECK(report.volumes[0].status == VolumeStatus::scanned);
  check_infected(report, image + ":vol/WINNT/CALC.EXE");
  CHECK(report.complete());
  CHECK(exit_code(report) == kExitInfected);
}

TEST_CASE("image: an MBR disk with a FAT and an NTFS partition", "[image]") {
  const MbrDisk disk;
  const ScanReport report = scan({disk.image});
  REQUIRE(report.volumes.size() == 2);
  CHECK(report.volumes[0].name == "p1");
  CHECK(report.volumes[0].offset == 2048 * kSector);
  CHECK(report.volumes[0].length == 8192 * kSector);
  CHECK(report.volumes[0].filesystem.starts_with("fat"));
  CHECK(report.volumes[1].name == "p2");
  CHECK(report.volumes[1].offset == 12288 * kSector);
  CHECK(report.volumes[1].filesystem == "ntfs");
  CHECK(result_paths(report) == std::set<std::string>{disk.image + ":p1/CALC.EXE", disk.image + ":p1/WINNT/notepad.exe",
                                                      disk.image + ":p2/Calc.exe"});
  check_infected(report, disk.image + ":p2/Calc.exe");
  // Read through TSK byte for byte: the same SHA-256 as the sample on disk.
  std::ifstream sample(disk.infected, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(sample)), std::istreambuf_iterator<char>());
  for (const FileResult& result : report.results) {
    INFO(result.path);
    CHECK(result.sha256 == flscan::test::sha256_hex(bytes));
    CHECK(result.size == bytes.size());
  }
  CHECK(report.complete());
  // No NTFS system file and no TSK virtual entry ($MFT, $MBR, $FAT1, $OrphanFiles) is listed.
  CHECK(report.counters.files_seen == 3);
}

TEST_CASE("image: GPT partitions in start order, a Microsoft reserved partition skipped", "[image]") {
  const TempDir dir;
  const std::string infected = corpus_sample("infected");
  make_fat(dir / "p1.img", 4096, {{infected, "A.EXE"}});
  make_ntfs(dir / "p3.img", 4, {{infected, "b.exe"}});
  const std::string image = dir / "gpt.img";
  make_disk(image, 24, "gpt",
            {{2048, 8192, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", dir / "p1.img"},
             {12288, 8192, "E3C9E316-0B5C-4DB8-817D-F92DF00215AE", ""},
             {22528, 8192, "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", dir / "p3.img"}});
  const ScanReport report = scan({image});
  REQUIRE(report.volumes.size() == 3);
  CHECK(report.volumes[1].name == "p2");
  CHECK(report.volumes[1].status == VolumeStatus::skipped);
  CHECK(result_paths(report) == std::set<std::string>{image + ":p1/A.EXE", image + ":p3/b.exe"});
  CHECK(report.complete());
}

TEST_CASE("image: a partition whose type says it holds no files, but that holds a disk, is not skipped",
          "[image][issue15]") {
  // The partition type is a byte anyone writes: a Microsoft reserved or Linux swap partition that
  // holds a whole MBR disk (with an infected FAT partition) must not pass as skipped, clean.
  const TempDir dir;
  const std::string infected = corpus_sample("infected");
  make_fat(dir / "fat.img", 1024, {{infected, "A.EXE"}});
  make_disk(dir / "inner.img", 4, "dos", {{2048, 2048, "c", dir / "fat.img"}});
  for (const auto& [label, type] : {std::pair<std::string, std::string>{"gpt", "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"},
                                    std::pair<std::string, std::string>{"dos", "82"}}) {
    INFO(label << " " << type);
    const std::string image = dir / ("outer-" + label + ".img");
    make_disk(image, 8, label, {{2048, 8192, type, dir / "inner.img"}});
    const ScanReport report = scan({image});
    REQUIRE(report.volumes.size() == 1);
    CHECK(report.volumes[0].status == VolumeStatus::error);
    CHECK_FALSE(report.complete());
  }
}

TEST_CASE("image: VHD, VMDK and E01 containers give the same files", "[image]") {
  const MbrDisk disk;
  const std::string vhd = disk.dir / "disk.vhd";
  const std::string vmdk = disk.dir / "disk.vmdk";
  const std::string e01 = disk.dir / "disk.E01";
  sh("qemu-img convert -O vpc " + disk.image + " " + vhd);
  sh("qemu-img convert -O vmdk " + disk.image + " " + vmdk);
  sh("ewfacquire -u -q -c fast -t " + (disk.dir / "disk") + " " + disk.image);
  for (const std::string& image : {vhd, vmdk, e01}) {
    INFO(image);
    const ScanReport report = scan({image});
    CHECK(result_paths(report) ==
          std::set<std::string>{image + ":p1/CALC.EXE", image + ":p1/WINNT/notepad.exe", image + ":p2/Calc.exe"});
    CHECK(report.complete());
  }
}

TEST_CASE("image: a truncated image reports the missing partition, the other is scanned", "[image]") {
  const MbrDisk disk;
  // p1 ends at 5 MiB, p2 starts at 6 MiB.
  sh("truncate -s 5M " + disk.image);
  const ScanReport report = scan({disk.image});
  REQUIRE(report.volumes.size() == 2);
  CHECK(report.volumes[0].status == VolumeStatus::scanned);
  CHECK(report.volumes[1].status == VolumeStatus::error);
  const NotScannedEntry* p2 = not_scanned_at(report, disk.image + ":p2");
  REQUIRE(p2 != nullptr);
  CHECK(p2->reason == NotScannedReason::unreadable_image);
  check_infected(report, disk.image + ":p1/CALC.EXE");
  CHECK_FALSE(report.complete());
  CHECK(exit_code(report) == kExitInfected);
}

TEST_CASE("image: a garbage partition and a BitLocker volume are reported, the others scanned", "[image]") {
  const TempDir dir;
  const std::string clean = corpus_sample("clean");
  make_fat(dir / "p1.img", 4096, {{clean, "CLEAN.EXE"}});
  // Not a filesystem: a repeated text, and a boot sector with BitLocker's signature.
  sh("yes garbage | head -c 4194304 > " + (dir / "garbage.img"));
  sh("head -c 4194304 /dev/zero > " + (dir / "fve.img") +
     " && printf '\\353\\130\\220-FVE-FS-' | dd of=" + (dir / "fve.img") + " conv=notrunc");
  const std::string image = dir / "disk.img";
  make_disk(image, 20, "dos",
            {{2048, 8192, "6", dir / "p1.img"},
             {12288, 8192, "7", dir / "garbage.img"},
             {22528, 8192, "7", dir / "fve.img"}});
  const ScanReport report = scan({image});
  REQUIRE(report.volumes.size() == 3);
  CHECK(report.volumes[0].status == VolumeStatus::scanned);
  const NotScannedEntry* garbage = not_scanned_at(report, image + ":p2");
  REQUIRE(garbage != nullptr);
  CHECK(garbage->reason == NotScannedReason::unknown_filesystem);
  const NotScannedEntry* fve = not_scanned_at(report, image + ":p3");
  REQUIRE(fve != nullptr);
  CHECK(fve->reason == NotScannedReason::encrypted_volume);
  CHECK(report.counters.files_seen == 1);
  CHECK(report.results.empty());
  CHECK(exit_code(report) == kExitIncomplete);
}

// A BitLocker To Go volume laid out as Windows makes one (checked byte by byte against a real one,
// tests/e2e/image_bitlocker_test.py): a FAT32 "discovery volume" whose boot sector carries the OEM
// name "MSWIN4.1" at offset 3 and the discovery-volume GUID 4967D63B-2E29-4AD8-8399-F6A339E3D001 at
// 0x1A8 (first three fields little-endian), inside the boot code. `with_guid` false leaves an
// ordinary FAT32 volume formatted the Windows way. Either way the FAT is valid and holds `file`,
// so read as a FAT it would look clean.
namespace {
void make_fat32_mswin(const std::string& image, const std::string& file, bool with_guid) {
  sh("rm -f " + image + " && mkfs.fat -F 32 -C " + image + " 40960");
  sh("mcopy -o -i " + image + " " + file + " ::/README.TXT");
  sh("printf 'MSWIN4.1' | dd of=" + image + " bs=1 seek=3 conv=notrunc");
  if (with_guid) {
    sh("printf '\\073\\326\\147\\111\\051\\056\\330\\112\\203\\231\\366\\243\\071\\343\\320\\001' | dd of=" + image +
       " bs=1 seek=424 conv=notrunc");
  }
}
}  // namespace

TEST_CASE("image: a BitLocker To Go volume is encrypted-volume, as a whole image and as a partition",
          "[image][bitlocker]") {
  const TempDir dir;
  flscan::test::write_file(dir / "readme.txt", "the reader volume's own file\n");
  const std::string togo = dir / "togo.img";
  make_fat32_mswin(togo, dir / "readme.txt", true);

  ScanReport report = scan({togo});
  REQUIRE(report.volumes.size() == 1);
  CHECK(report.volumes[0].status == VolumeStatus::error);
  CHECK(report.volumes[0].reason == NotScannedReason::encrypted_volume);
  const NotScannedEntry* whole = not_scanned_at(report, togo + ":vol");
  REQUIRE(whole != nullptr);
  CHECK(whole->reason == NotScannedReason::encrypted_volume);
  CHECK(whole->detail.find("To Go") != std::string::npos);
  CHECK(report.counters.files_seen == 0);
  CHECK(exit_code(report) == kExitIncomplete);

  // As the second partition of an MBR disk; the FAT16 first partition is still scanned.
  make_fat(dir / "p1.img", 4096, {{dir / "readme.txt", "README.TXT"}});
  const std::string disk = dir / "disk.img";
  make_disk(disk, 50, "dos", {{2048, 8192, "6", dir / "p1.img"}, {12288, 81920, "c", togo}});
  report = scan({disk});
  REQUIRE(report.volumes.size() == 2);
  CHECK(report.volumes[0].status == VolumeStatus::scanned);
  const NotScannedEntry* p2 = not_scanned_at(report, disk + ":p2");
  REQUIRE(p2 != nullptr);
  CHECK(p2->reason == NotScannedReason::encrypted_volume);
  CHECK(report.counters.files_seen == 1);
  CHECK(exit_code(report) == kExitIncomplete);
}

TEST_CASE("image: a FAT32 volume formatted the Windows way (MSWIN4.1) without the GUID is scanned",
          "[image][bitlocker]") {
  // The control for the test above: the OEM name alone is no BitLocker, the GUID is what counts.
  const TempDir dir;
  flscan::test::write_file(dir / "readme.txt", "an ordinary file\n");
  const std::string fat = dir / "fat32.img";
  make_fat32_mswin(fat, dir / "readme.txt", false);
  const ScanReport report = scan({fat});
  REQUIRE(report.volumes.size() == 1);
  CHECK(report.volumes[0].status == VolumeStatus::scanned);
  CHECK(report.counters.files_seen == 1);
  CHECK(report.complete());
  CHECK(exit_code(report) == kExitClean);
}

TEST_CASE("image: a regular file that is not an image is scanned as a file", "[image]") {
  const TempDir dir;
  const std::string infected = corpus_sample("infected");
  ScanReport report = scan({infected});
  CHECK(report.volumes.empty());
  check_infected(report, infected);

  // 0x55AA at offset 510 alone is no image: TSK finds no partition and no filesystem.
  std::string bytes(2048, 'x');
  bytes[510] = '\x55';
  bytes[511] = '\xAA';
  flscan::test::write_file(dir / "boot.bin", bytes);
  report = scan({dir / "boot.bin"});
  CHECK(report.volumes.empty());
  CHECK(report.counters.files_seen == 1);
  CHECK(report.complete());

  // --image: the operand is opened as an image whatever it holds, and the failure is reported.
  report = scan({dir / "boot.bin"}, true);
  CHECK_FALSE(report.complete());
  CHECK(report.counters.files_seen == 0);
}

TEST_CASE("image: --shard keys are the paths relative to the image", "[image]") {
  const MbrDisk disk;
  const std::set<std::string> all = result_paths(scan({disk.image}));
  std::set<std::string> from_shards;
  for (std::uint32_t k = 1; k <= 2; ++k) {
    const ScanReport part = scan({disk.image}, false, Shard{k, 2});
    for (const FileResult& r : part.results) {
      const std::string key = r.path.substr(disk.image.size() + 1);  // "pN/path/in/volume"
      CHECK(in_shard(key, Shard{k, 2}));
      CHECK(from_shards.insert(r.path).second);
    }
  }
  CHECK(from_shards == all);
}

TEST_CASE("image: the CLI reports volumes and the Q317218 host report of an installation in an image", "[image][cli]") {
  const TempDir dir;
  const json manifest = corpus_manifest();
  const json& tree = manifest["host_trees"][0];
  const std::string root = kCorpus + "/" + tree["root"].get<std::string>();
  const std::string image = dir / "win.img";
  sh("mkfs.fat -F 32 -C " + image + " 65536 && mcopy -s -i " + image + " " + root + "/* ::/");
  const std::string json_path = dir / "report.json";
  const auto run = flscan::test::run_flscan({"-q", "--json", json_path, image});
  INFO(run.err);
  std::ifstream in(json_path);
  REQUIRE(in.good());
  const json report = json::parse(in);
  REQUIRE(report["volumes"].size() == 1);
  CHECK(report["volumes"][0]["volume"] == "vol");
  CHECK(report["volumes"][0]["filesystem"] == "fat32");
  CHECK(report["volumes"][0]["status"] == "scanned");
  REQUIRE(report["hosts"].size() == 1);
  CHECK(report["hosts"][0]["windows_dir"]["text"] == image + ":vol/" + tree["windows_dir"].get<std::string>());
  CHECK(report["hosts"][0]["verdict"] == tree["expected_verdict"]);
  CHECK(run.exit_code == (tree["expected_verdict"] == "q317218" ? kExitInfected : run.exit_code));
}

TEST_CASE("image: a scanned volume that cannot be opened again for the host evidence is a host error", "[image]") {
  // Two images: `disk` keeps both volumes; in `gone` the second partition's boot sector is wiped
  // after the scan, and `lost` is removed, so the host phase (TskVolumeFs, opened after the file
  // scan) can open neither. Neither may be read through another image's handle.
  const MbrDisk disk;
  const MbrDisk gone;
  const MbrDisk lost;
  std::vector<image::ImageLayout> images;
  ScanReport report = scan({disk.image, gone.image, lost.image}, false, std::nullopt, &images);
  REQUIRE(report.volumes.size() == 6);
  for (const ImageVolume& volume : report.volumes) REQUIRE(volume.status == VolumeStatus::scanned);
  CHECK_FALSE(report.host_errors());
  const FailOn incomplete_only{.infected = false, .suspicious = false, .incomplete = true};
  CHECK(exit_code(report, incomplete_only) == kExitClean);
  sh("dd if=/dev/zero of=" + gone.image + " bs=512 seek=12288 count=16 conv=notrunc");
  sh("rm " + lost.image);

  const image::TskVolumeFs fs(images, report.volumes);
  CHECK(fs.roots() == std::vector<std::string>{disk.image + ":p1", disk.image + ":p2", gone.image + ":p1"});
  REQUIRE(fs.failures().size() == 3);
  CHECK(fs.failures()[0].root == gone.image + ":p2");
  CHECK(fs.failures()[1].root == lost.image + ":p1");
  CHECK(fs.failures()[2].root == lost.image + ":p2");
  for (const auto& failure : fs.failures()) CHECK_FALSE(failure.reason.empty());

  image::note_host_failures(fs, report.volumes);
  for (const ImageVolume& volume : report.volumes) {
    INFO(volume.path());
    const bool failed = volume.path() == gone.image + ":p2" || volume.image == lost.image;
    CHECK(volume.host_error.empty() != failed);
    if (failed) CHECK(volume.host_error.find("could not be opened again") != std::string::npos);
  }
  CHECK(report.host_errors());
  CHECK(exit_code(report, incomplete_only) == kExitIncomplete);
}

namespace {

// Keeps what the listing reports besides files, for the read-order test.
struct CollectingSink final : image::ListingSink {
  std::vector<std::string> failed;
  void volume_not_scanned(const std::string& volume_path, NotScannedReason, std::string) override {
    failed.push_back(volume_path);
  }
  void add_listing(image::VolumeListing&) override {}
};

std::string read_bytes(const std::string& path, std::uint64_t offset, std::size_t length) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(length, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(length));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

}  // namespace

TEST_CASE("image: files are read in the order of their data on disk, not of the listing (issue 19)", "[image]") {
  // The directory d is made first, so the depth-first listing gives d/late.bin before root.bin,
  // but root.bin is copied in first, so its clusters come before late.bin's.
  const TempDir dir;
  const std::string image = dir / "order.img";
  const std::string root_file = dir / "root.bin";
  const std::string late_file = dir / "late.bin";
  // Distinct contents, so each file's bytes can be found in the image.
  std::string root_bytes(20000, '\0');
  std::string late_bytes(20000, '\0');
  for (std::size_t i = 0; i < root_bytes.size(); ++i) {
    root_bytes[i] = static_cast<char>((i * 7 + 1) % 251);
    late_bytes[i] = static_cast<char>((i * 13 + 5) % 241);
  }
  flscan::test::write_file(root_file, root_bytes);
  flscan::test::write_file(late_file, late_bytes);
  sh("rm -f " + image + " && mkfs.fat -C " + image + " 4096");
  sh("mmd -i " + image + " ::/d");
  sh("mcopy -i " + image + " " + root_file + " ::/root.bin");
  sh("mcopy -i " + image + " " + late_file + " ::/d/late.bin");

  const image::Detection detection = image::detect_image(image, image::ImageMode::forced);
  REQUIRE(detection.kind == image::Detection::Kind::image);
  const std::vector<image::ImageLayout> layouts{detection.layout};
  CollectingSink sink;
  std::vector<ImageVolume> volumes;
  const auto items =
      image::list_images(layouts, ExcludeMatcher(std::vector<std::string>{}), std::nullopt, sink, volumes);
  CHECK(sink.failed.empty());
  REQUIRE(items.size() == 2);
  CHECK(items[0].path == image + ":vol/root.bin");
  CHECK(items[1].path == image + ":vol/d/late.bin");
  // Each start is where the file's bytes really are in the image.
  for (const auto& [item, source] : {std::pair{items[0], root_file}, std::pair{items[1], late_file}}) {
    INFO(item.path);
    REQUIRE(item.data_start != image::kUnknownDataStart);
    CHECK(read_bytes(image, item.data_start, 512) == read_bytes(source, 0, 512));
  }
  CHECK(items[0].data_start < items[1].data_start);
}

// Disk images met during a directory walk (issue 15, scanner/image/nested_image.h).

TEST_CASE("nested: the cheap test on a walk file's first bytes", "[image][nested]") {
  const std::uint64_t big = image::limits::kMinNestedImageBytes;
  std::string sector(4096, '\0');
  const auto candidate = [](const std::string& head, std::uint64_t size) {
    return image::image_candidate(ByteView(reinterpret_cast<const std::uint8_t*>(head.data()), head.size()), size);
  };
  // 0x55AA alone: no partition entry in use, no boot sector.
  sector[510] = '\x55';
  sector[511] = '\xAA';
  CHECK_FALSE(candidate(sector, big).any());
  // An MBR entry in use (status 0, type 7, start 2048, 8192 sectors) makes a candidate, from 64 KiB.
  std::string mbr = sector;
  mbr[446 + 4] = '\x07';
  mbr[446 + 9] = '\x08';   // start LBA 0x800
  mbr[446 + 13] = '\x20';  // 0x2000 sectors
  CHECK(candidate(mbr, big).raw);
  CHECK_FALSE(candidate(mbr, big - 1).any());
  mbr[446] = '\x01';  // a boot status that is neither 0x00 nor 0x80
  CHECK_FALSE(candidate(mbr, big).any());
  // NTFS and FAT boot sectors, GPT.
  std::string ntfs = sector;
  ntfs.replace(3, 8, "NTFS    ");
  CHECK(candidate(ntfs, big).raw);
  std::string bitlocker = sector;
  bitlocker.replace(3, 8, "-FVE-FS-");
  CHECK(candidate(bitlocker, big).raw);
  std::string fat = sector;
  fat[0] = '\xEB';
  fat[12] = '\x02';  // 512 bytes per sector
  fat[13] = '\x08';  // 8 sectors per cluster
  fat[14] = '\x01';  // 1 reserved sector
  fat[16] = '\x02';  // 2 FATs
  fat.replace(0x36, 5, "FAT16");
  CHECK(candidate(fat, big).raw);
  fat[13] = '\x03';  // not a power of two
  CHECK_FALSE(candidate(fat, big).any());
  std::string gpt(4096, '\0');
  gpt.replace(512, 8, "EFI PART");
  CHECK(candidate(gpt, big).raw);
  // "MZ" never; a container signature at any size (too_small below the floor).
  std::string mz = ntfs;
  mz.replace(0, 2, "MZ");
  CHECK_FALSE(candidate(mz, big).any());
  std::string e01(4096, '\0');
  e01.replace(0, 8, std::string("EVF\x09\x0d\x0a\xff\x00", 8));
  CHECK(candidate(e01, 1024).container);
  CHECK(candidate(e01, 1024).too_small);
  CHECK_FALSE(candidate(e01, big).too_small);
}

namespace {

ScanReport scan_tree(const std::string& root, const ScanHooks& hooks) {
  ScanSettings settings;
  settings.roots = {root};
  ScanJob job(builtin(), settings);
  job.hooks = hooks;
  return job.run();
}

}  // namespace

TEST_CASE("nested: a disk image in a directory is opened, named DIR/IMAGE:vol/...", "[image][nested]") {
  const TempDir dir;
  const std::string infected = corpus_sample("infected");
  std::filesystem::create_directories(std::string(dir / "tree"));
  make_fat(dir / "tree/fat.img", 4096, {{infected, "CALC.EXE"}});
  const ScanReport report = scan_tree(dir / "tree", {});
  REQUIRE(report.volumes.size() == 1);
  CHECK(report.volumes[0].image == dir / "tree/fat.img");
  check_infected(report, dir / "tree/fat.img:vol/CALC.EXE");
  CHECK(report.complete());
}

TEST_CASE("nested: an image swapped for another between listing and open is refused (replaced)", "[image][nested]") {
  const TempDir dir;
  const TempDir elsewhere;
  const std::string infected = corpus_sample("infected");
  std::filesystem::create_directories(std::string(dir / "tree"));
  make_fat(dir / "tree/a.img", 4096, {});
  make_fat(elsewhere / "b.img", 4096, {{infected, "CALC.EXE"}});
  const std::string listed = dir / "tree/a.img";
  // After the listing, before the walk's first open: the reader sniffs the new file (it checks no
  // identity for an ordinary entry), whose first bytes are an image's; opening it as an image must
  // find that it is not the inode the listing saw.
  ScanHooks hooks;
  hooks.before_open = [&](const boost::filesystem::path& path) {
    if (path.string() == listed) REQUIRE(std::rename((elsewhere / "b.img").c_str(), listed.c_str()) == 0);
  };
  const ScanReport report = scan_tree(dir / "tree", hooks);
  const NotScannedEntry* entry = not_scanned_at(report, listed);
  REQUIRE(entry != nullptr);
  CHECK(entry->reason == NotScannedReason::replaced);
  CHECK(report.volumes.empty());
  CHECK(report.results.empty());
}

TEST_CASE("nested: a raw candidate The Sleuth Kit does not confirm is scanned as a plain file", "[image][nested]") {
  const TempDir dir;
  // An NTFS boot sector signature over garbage: a candidate, but no NTFS opens and no table.
  std::string bytes(image::limits::kMinNestedImageBytes, 'x');
  bytes.replace(3, 8, "NTFS    ");
  bytes[510] = '\x55';
  bytes[511] = '\xAA';
  std::filesystem::create_directories(std::string(dir / "tree"));
  flscan::test::write_file(dir / "tree/carved.bin", bytes);
  // A FAT image below the floor is a plain file too.
  make_fat(dir / "tree/big.img", 4096, {});
  std::ifstream in(dir / "tree/big.img", std::ios::binary);
  std::string small(32 * 1024, '\0');
  in.read(small.data(), static_cast<std::streamsize>(small.size()));
  flscan::test::write_file(dir / "tree/small.img", small);
  std::filesystem::remove(std::string(dir / "tree/big.img"));
  const ScanReport report = scan_tree(dir / "tree", {});
  CHECK(report.volumes.empty());
  CHECK(report.not_scanned.empty());
  CHECK(report.counters.files_seen == 2);
  CHECK(report.counters.files_examined == 2);
  CHECK(report.complete());
}

TEST_CASE("nested: an image inside an image met in a directory is reported, not opened", "[image][nested]") {
  const TempDir dir;
  const std::string infected = corpus_sample("infected");
  std::filesystem::create_directories(std::string(dir / "tree"));
  make_fat(dir / "inner.img", 1024, {{infected, "CALC.EXE"}});
  sh("qemu-img convert -O vpc " + dir / "inner.img" + " " + dir / "inner.vhd");
  make_ntfs(dir / "tree/outer.img", 8, {{infected, "Calc.exe"}, {dir / "inner.vhd", "inner.vhd"}});
  const ScanReport report = scan_tree(dir / "tree", {});
  const std::string outer = dir / "tree/outer.img";
  REQUIRE(report.volumes.size() == 1);
  CHECK(report.volumes[0].image == outer);
  check_infected(report, outer + ":vol/Calc.exe");
  const NotScannedEntry* entry = not_scanned_at(report, outer + ":vol/inner.vhd");
  REQUIRE(entry != nullptr);
  CHECK(entry->reason == NotScannedReason::image_not_opened);
  CHECK(entry->detail.find("VHD") != std::string::npos);
  CHECK(entry->detail.find("inside a disk image: images inside images are reported, not opened") != std::string::npos);
  CHECK(result_at(report, outer + ":vol/inner.vhd:vol/CALC.EXE") == nullptr);
  CHECK(report.not_scanned.size() == 1);
}
