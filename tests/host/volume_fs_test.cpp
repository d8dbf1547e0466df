// Host evidence through the VolumeFs interface (scanner/host/volume_fs.h) with no local file at
// all: an in-memory volume named like a partition of a disk image ("nt4.vhd:p1/…"), holding the
// SYSTEM hive and SysEvent.Evt bytes corpus/windows_fixtures.py writes, and a ScanReport whose
// results say which programs were built infected. Every expectation follows from how the volume
// and the results were put together here. Also FileSnapshot::from_reader and LocalFs itself.
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "fixtures.h"
#include "scanner/host/event_log.h"
#include "scanner/host/host_report.h"
#include "scanner/host/limits.h"
#include "scanner/host/system_hive.h"
#include "scanner/host/volume_fs.h"
#include "scanner/host/windows_install.h"
#include "scanner/report/report.h"
#include "scanner/report/scan_report_facts.h"

namespace fs = std::filesystem;
using flscan::FindingKind;
using flscan::Severity;
using flscan::host::DirectoryNames;
using flscan::host::EntryKind;
using flscan::host::FileSnapshot;
using flscan::host::FileStatus;
using flscan::host::HostError;
using flscan::host::HostReport;
using flscan::host::HostVolume;
using flscan::host::SymptomStatus;
using flscan::host::Verdict;
using flscan::host::VolumeFs;
using flscan::scanner::FileResult;
using flscan::scanner::ScanReport;
using flscan::scanner::ScanReportFacts;
using flscan::test::program;
using flscan::test::row;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes scenario_bytes(std::string_view scenario) { return file_bytes(flscan::test::host_fixture(scenario)); }

// A volume held in memory: directories (name lists in insertion order) and files (bytes). Files
// are delivered through FileSnapshot::from_reader in small pieces, as a disk-image library would.
class MemoryFs final : public VolumeFs {
 public:
  // Adds a directory and every directory above it, up to the root (the part before the first '/').
  void add_dir(const std::string& path) {
    if (dirs_.count(path) > 0) return;
    dirs_[path];
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return;
    add_dir(path.substr(0, slash));
    dirs_[path.substr(0, slash)].push_back(path.substr(slash + 1));
  }
  void add_file(const std::string& path, Bytes bytes) {
    const auto slash = path.rfind('/');
    REQUIRE(slash != std::string::npos);
    add_dir(path.substr(0, slash));
    if (files_.count(path) == 0) dirs_[path.substr(0, slash)].push_back(path.substr(slash + 1));
    files_[path] = std::move(bytes);
  }
  // A name listed in `dir` that is not there (as a listing may be cut or damaged in an image).
  void add_name_only(const std::string& dir, const std::string& name) { dirs_[dir].push_back(name); }
  // Reads of `path` fail with this reason.
  void fail_reads(const std::string& path, std::string reason) { read_failures_[path] = std::move(reason); }

  [[nodiscard]] tl::expected<DirectoryNames, HostError> list(const std::string& dir,
                                                             std::size_t max_entries) const override {
    ++list_calls;
    largest_listing_asked = std::max(largest_listing_asked, max_entries);
    const auto it = dirs_.find(dir);
    if (it == dirs_.end()) return tl::unexpected(HostError{dir, "cannot list: no such directory"});
    DirectoryNames listing;
    for (const std::string& name : it->second) {
      if (listing.names.size() == max_entries) {
        listing.truncated = true;
        break;
      }
      listing.names.push_back(name);
    }
    return listing;
  }

  [[nodiscard]] EntryKind kind(const std::string& path) const override {
    if (dirs_.count(path) > 0) return EntryKind::directory;
    if (files_.count(path) > 0) return EntryKind::regular;
    return EntryKind::missing;
  }

  [[nodiscard]] tl::expected<FileSnapshot, HostError> snapshot(const std::string& path,
                                                               std::uint64_t max_bytes) const override {
    snapshots.insert(path);
    if (dirs_.count(path) > 0) return tl::unexpected(HostError{path, "not a regular file"});
    const auto it = files_.find(path);
    if (it == files_.end()) return tl::unexpected(HostError{path, "cannot open: no such file"});
    const Bytes& bytes = it->second;
    const auto failure = read_failures_.find(path);
    return FileSnapshot::from_reader(
        path, bytes.size(), max_bytes,
        [&](std::uint64_t offset, std::span<std::uint8_t> out) -> tl::expected<std::size_t, std::string> {
          if (failure != read_failures_.end()) return tl::unexpected(failure->second);
          const std::size_t n = std::min<std::size_t>({out.size(), 1000, bytes.size() - offset});
          std::memcpy(out.data(), bytes.data() + offset, n);
          return n;
        });
  }

  mutable std::size_t list_calls = 0;
  mutable std::size_t largest_listing_asked = 0;
  mutable std::set<std::string> snapshots;  // every path a snapshot was asked of

 private:
  std::map<std::string, std::vector<std::string>> dirs_;
  std::map<std::string, Bytes> files_;
  std::map<std::string, std::string> read_failures_;
};

// A small file standing for a program: its content does not matter, the scan results below do.
Bytes program_bytes(std::string_view name) { return Bytes(name.begin(), name.end()); }

// A file with a finding (the scan's results hold only those).
FileResult result(const std::string& path, FindingKind kind) {
  FileResult file;
  file.path = path;
  flscan::Finding finding;
  finding.kind = kind;
  finding.severity = flscan::severity_of(kind);
  finding.rule = "test";
  file.findings.push_back(finding);
  return file;
}

bool has_error_containing(const HostReport& host, std::string_view text) {
  for (const std::string& error : host.errors) {
    if (error.find(text) != std::string::npos) return true;
  }
  return false;
}

// The image the volumes belong to: the scan's root is the image file, not its volumes.
constexpr const char* kImage = "nt4.vhd";

ScanReport image_scan(std::vector<FileResult> results) {
  ScanReport scan;
  scan.roots = {kImage};
  std::sort(results.begin(), results.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  scan.results = std::move(results);
  return scan;
}

}  // namespace

TEST_CASE("an infected installation on an in-memory volume: Q317218 from hive, log and results", "[volume_fs]") {
  const std::string volume = "nt4.vhd:p1";
  const std::string system32 = volume + "/WINNT/System32";
  MemoryFs image;
  for (const char* name : {"calc.exe", "taskmgr.exe", "winlogon.exe", "csrss.exe", "ntoskrnl.exe", "flcss.exe",
                           "spoolsv.exe", "lsass.exe"}) {
    image.add_file(system32 + "/" + name, program_bytes(name));
  }
  image.add_file(volume + "/NTLDR", program_bytes("NTLDR"));
  image.add_file(system32 + "/config/SYSTEM", scenario_bytes("hive-flc-cs001"));
  image.add_file(system32 + "/config/SysEvent.Evt", scenario_bytes("evt-q317218"));
  REQUIRE_FALSE(fs::exists(system32));  // nothing of it is a local file

  // The scan's findings: taskmgr.exe infected, flcss.exe the dropper. The other files are on the
  // scanned volume without findings: clean.
  const ScanReport scan = image_scan({result(system32 + "/taskmgr.exe", FindingKind::infected),
                                      result(system32 + "/flcss.exe", FindingKind::dropper)});
  const auto hosts = flscan::host::build_host_reports(ScanReportFacts(scan), {HostVolume{image, volume}});
  REQUIRE(hosts.size() == 1);
  const HostReport& host = hosts.front();
  CHECK(host.install.volume_root == volume);
  CHECK(host.install.windows_dir == volume + "/WINNT");
  CHECK(host.install.system_hive == system32 + "/config/SYSTEM");
  CHECK(host.event_log_path == system32 + "/config/SysEvent.Evt");
  CHECK(image.snapshots == std::set<std::string>{system32 + "/config/SYSTEM", system32 + "/config/SysEvent.Evt"});
  CHECK(host.errors.empty());

  // The hive: FLC in ControlSet001 (current); the log: 7024 records 2 and 5, 7000 record 3.
  REQUIRE(host.hive);
  CHECK(host.hive->path == system32 + "/config/SYSTEM");
  REQUIRE(host.hive->flc_services().size() == 1);
  CHECK(host.hive->flc_services().front()->control_set == "ControlSet001");
  REQUIRE(host.events);
  CHECK(host.events->protected_storage_7024.count == 2);
  CHECK(host.events->spooler_7000.count == 1);

  CHECK(host.verdict == Verdict::q317218);
  CHECK(row(host, "event-7024") == SymptomStatus::found);
  CHECK(row(host, "event-7000") == SymptomStatus::found);
  CHECK(row(host, "sp-copy-errors") == SymptomStatus::found);
  CHECK(row(host, "flcss-service") == SymptomStatus::found);
  CHECK(row(host, "stop-c000021a") == SymptomStatus::not_found);
  CHECK(program(host, "taskmgr.exe") == FileStatus::infected);
  CHECK(program(host, "calc.exe") == FileStatus::clean);
  CHECK(program(host, "winlogon.exe") == FileStatus::clean);  // on the volume, not in the results
  CHECK(program(host, "ddeshare.exe") == FileStatus::missing);
  CHECK(host.flcss.path == system32 + "/flcss.exe");
  CHECK(host.flcss.status == FileStatus::infected);
  REQUIRE(host.droppers.size() == 1);
  REQUIRE(host.kernel.size() == 3);
  CHECK(host.kernel[0].path == system32 + "/ntoskrnl.exe");
  CHECK(host.kernel[0].status == "clean");
  CHECK(host.kernel[1].status == "missing");
  CHECK(host.kernel[2].path == volume + "/NTLDR");
  CHECK(host.kernel[2].status == "clean");
  // "%SystemRoot%\system32\spoolsv.exe" resolves through the listing of the volume.
  REQUIRE(host.service_images.size() == 2);
  CHECK(host.service_images[0].file == system32 + "/spoolsv.exe");
  CHECK(host.service_images[0].status == FileStatus::clean);
  CHECK(host.service_images[1].file == system32 + "/lsass.exe");
}

TEST_CASE("case-insensitive lookups on a volume: winnt/SYSTEM32/Config/system, CALC.EXE, ntldr", "[volume_fs]") {
  const std::string volume = "nt4.vhd:p2";
  const std::string system32 = volume + "/winnt/SYSTEM32";
  MemoryFs image;
  image.add_file(system32 + "/CALC.EXE", program_bytes("calc"));
  image.add_file(system32 + "/WinLogon.Exe", program_bytes("winlogon"));
  image.add_file(system32 + "/CSRSS.EXE", program_bytes("csrss"));
  image.add_file(system32 + "/SPOOLSV.EXE", program_bytes("spoolsv"));
  image.add_file(volume + "/ntldr", program_bytes("ntldr"));
  image.add_file(system32 + "/Config/system", scenario_bytes("hive-clean"));
  image.add_file(system32 + "/Config/sysevent.evt", scenario_bytes("evt-clean"));

  const auto installs = flscan::host::find_windows_installs(image, volume);
  REQUIRE(installs.size() == 1);
  CHECK(installs.front().system32 == system32);
  CHECK(installs.front().config_dir == system32 + "/Config");
  CHECK(installs.front().system_hive == system32 + "/Config/system");

  const ScanReport scan = image_scan({result(system32 + "/CALC.EXE", FindingKind::infected)});
  const auto hosts = flscan::host::build_host_reports(ScanReportFacts(scan), {HostVolume{image, volume}});
  REQUIRE(hosts.size() == 1);
  const HostReport& host = hosts.front();
  CHECK(host.errors.empty());
  CHECK(host.event_log_path == system32 + "/Config/sysevent.evt");
  CHECK(program(host, "calc.exe") == FileStatus::infected);
  CHECK(program(host, "winlogon.exe") == FileStatus::clean);
  CHECK(host.kernel[2].path == volume + "/ntldr");
  CHECK(host.service_images.at(0).file == system32 + "/SPOOLSV.EXE");
  CHECK(row(host, "flcss-service") == SymptomStatus::not_found);
  CHECK(row(host, "event-7024") == SymptomStatus::not_found);
  CHECK(host.verdict == Verdict::q317218);  // by the infected calc.exe alone
}

TEST_CASE("a volume without a readable hive: the service row is an error", "[volume_fs]") {
  const std::string volume = "nt4.vhd:p1";
  const std::string windows = volume + "/WINNT";
  MemoryFs image;
  image.add_file(windows + "/system32/winlogon.exe", program_bytes("winlogon"));
  image.add_file(windows + "/system32/csrss.exe", program_bytes("csrss"));
  image.add_file(windows + "/system32/config/SysEvent.Evt", scenario_bytes("evt-clean"));
  const ScanReport scan = image_scan({});

  SECTION("no SYSTEM: found by its SysEvent.Evt (issue 12), and named explicitly, with an error row") {
    CHECK(flscan::host::find_windows_installs(image, volume).size() == 1);
    CHECK(flscan::host::build_host_reports(ScanReportFacts(scan), {HostVolume{image, volume}}).size() == 1);
    const auto hosts = flscan::host::build_host_reports(ScanReportFacts(scan),
                                                        {HostVolume{image, windows, HostVolume::Kind::windows_dir}});
    REQUIRE(hosts.size() == 1);
    const HostReport& host = hosts.front();
    CHECK(host.install.volume_root == volume);
    CHECK(host.install.system_hive.empty());
    CHECK_FALSE(host.hive);
    CHECK(row(host, "flcss-service") == SymptomStatus::error);
    CHECK(has_error_containing(host, "SYSTEM hive: no system32/config/SYSTEM under " + windows));
    CHECK(row(host, "event-7024") == SymptomStatus::not_found);  // the log was still read
    CHECK(host.verdict == Verdict::incomplete);
  }

  SECTION("SYSTEM listed but unreadable: the volume's reason is the row's") {
    image.add_file(windows + "/system32/config/SYSTEM", scenario_bytes("hive-flc-cs001"));
    image.fail_reads(windows + "/system32/config/SYSTEM", "cluster 1234 is beyond the volume");
    const auto hosts = flscan::host::build_host_reports(ScanReportFacts(scan), {HostVolume{image, volume}});
    REQUIRE(hosts.size() == 1);
    const HostReport& host = hosts.front();
    CHECK(row(host, "flcss-service") == SymptomStatus::error);
    CHECK(has_error_containing(host, "SYSTEM hive " + windows +
                                         "/system32/config/SYSTEM: read error: cluster 1234 is "
                                         "beyond the volume"));
    CHECK(host.verdict == Verdict::incomplete);
  }

  SECTION("a SysEvent.Evt listed but not there: the event rows are errors") {
    image.add_file(windows + "/system32/config/SYSTEM", scenario_bytes("hive-clean"));
    const auto hive = flscan::host::read_system_hive(image, windows + "/system32/config/SYSTEM");
    REQUIRE(hive);
    CHECK(hive->path == windows + "/system32/config/SYSTEM");
    MemoryFs broken;
    broken.add_file(windows + "/system32/config/SYSTEM", scenario_bytes("hive-clean"));
    broken.add_name_only(windows + "/system32/config", "SYSEVENT.EVT");
    const auto hosts = flscan::host::build_host_reports(ScanReportFacts(scan), {HostVolume{broken, volume}});
    REQUIRE(hosts.size() == 1);
    CHECK(row(hosts.front(), "event-7024") == SymptomStatus::error);
    CHECK(
        has_error_containing(hosts.front(), "SysEvent.Evt " + windows + "/system32/config/SYSEVENT.EVT: cannot open"));
  }
}

TEST_CASE("a system32 listing longer than the cap: the rest is not searched, and that is said", "[volume_fs]") {
  const std::string volume = "big.img:p1";
  const std::string system32 = volume + "/WINNT/system32";
  MemoryFs image;
  image.add_file(system32 + "/config/SYSTEM", scenario_bytes("hive-clean"));
  image.add_file(system32 + "/winlogon.exe", program_bytes("winlogon"));
  for (std::size_t i = 0; i < flscan::host::kMaxEntriesListed; ++i)
    image.add_name_only(system32, "f" + std::to_string(i));
  image.add_file(system32 + "/calc.exe", program_bytes("calc"));  // listed after the cap

  const auto hosts = flscan::host::build_host_reports(ScanReportFacts(image_scan({})), {HostVolume{image, volume}});
  REQUIRE(hosts.size() == 1);
  const HostReport& host = hosts.front();
  CHECK(image.largest_listing_asked == flscan::host::kMaxEntriesListed);
  CHECK(program(host, "winlogon.exe") == FileStatus::clean);        // before the cap
  CHECK(program(host, "calc.exe") == FileStatus::not_scanned);      // beyond it: not "missing"
  CHECK(program(host, "ddeshare.exe") == FileStatus::not_scanned);  // could be beyond it too
  CHECK(has_error_containing(host, "directory " + system32 + ": more than 65536 entries"));
  CHECK(host.verdict == Verdict::incomplete);
}

TEST_CASE("two volumes of one image: each installation judged by its own volume", "[volume_fs]") {
  MemoryFs image;
  for (const char* name : {"nt4.vhd:p1", "nt4.vhd:p10"}) {
    const std::string volume = name;
    image.add_file(volume + "/WINNT/system32/config/SYSTEM", scenario_bytes("hive-clean"));
    image.add_file(volume + "/WINNT/system32/winlogon.exe", program_bytes("winlogon"));
    image.add_file(volume + "/WINNT/system32/csrss.exe", program_bytes("csrss"));
  }
  image.add_file("nt4.vhd:p10/data/game.exe", program_bytes("game"));
  const ScanReport scan = image_scan({result("nt4.vhd:p10/data/game.exe", FindingKind::infected)});
  const auto hosts = flscan::host::build_host_reports(
      ScanReportFacts(scan), {HostVolume{image, "nt4.vhd:p1"}, HostVolume{image, "nt4.vhd:p10"}});
  REQUIRE(hosts.size() == 2);
  CHECK(hosts[0].install.windows_dir == "nt4.vhd:p1/WINNT");
  CHECK(hosts[0].verdict == Verdict::no_evidence);
  CHECK(hosts[1].install.windows_dir == "nt4.vhd:p10/WINNT");
  CHECK(hosts[1].verdict == Verdict::q317218);
}

TEST_CASE("the readers on a volume give what they give on the local file", "[volume_fs]") {
  MemoryFs image;
  image.add_file("x.img:p1/SYSTEM", scenario_bytes("hive-flc-cs001"));
  image.add_file("x.img:p1/SysEvent.Evt", scenario_bytes("evt-q317218"));
  const auto on_volume = flscan::host::read_system_hive(image, "x.img:p1/SYSTEM");
  const auto local = flscan::host::read_system_hive(flscan::test::host_fixture("hive-flc-cs001"));
  REQUIRE(on_volume);
  REQUIRE(local);
  CHECK(on_volume->notes == local->notes);
  CHECK(on_volume->control_sets_present == local->control_sets_present);
  CHECK(on_volume->flc_services().size() == local->flc_services().size());
  const auto log = flscan::host::read_event_log(image, "x.img:p1/SysEvent.Evt");
  const auto local_log = flscan::host::read_event_log(flscan::test::host_fixture("evt-q317218"));
  REQUIRE(log);
  REQUIRE(local_log);
  CHECK(log->protected_storage_7024.record_numbers == local_log->protected_storage_7024.record_numbers);
  CHECK(log->spooler_7000.record_numbers == local_log->spooler_7000.record_numbers);
  CHECK(log->notes == local_log->notes);

  const auto missing = flscan::host::read_event_log(image, "x.img:p1/none.evt");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().path == "x.img:p1/none.evt");
}

TEST_CASE("FileSnapshot::from_reader: pieces, caps, errors", "[volume_fs]") {
  const Bytes data = {1, 2, 3, 4, 5, 6, 7};
  auto piecewise = [&](std::uint64_t offset, std::span<std::uint8_t> out) -> tl::expected<std::size_t, std::string> {
    const std::size_t n = std::min<std::size_t>({out.size(), 2, data.size() - offset});
    std::memcpy(out.data(), data.data() + offset, n);
    return n;
  };

  SECTION("read in pieces into a private memory file") {
    auto snap = FileSnapshot::from_reader("img:p1/f", data.size(), 100, piecewise);
    REQUIRE(snap);
    CHECK(Bytes(snap->bytes().begin(), snap->bytes().end()) == data);
    CHECK(snap->is_private());
    CHECK(file_bytes(snap->library_path()) == data);  // what the libraries open
  }
  SECTION("larger than the cap: refused before any read") {
    bool read = false;
    auto snap = FileSnapshot::from_reader("img:p1/f", 1000, 100, [&](std::uint64_t, std::span<std::uint8_t>) {
      read = true;
      return tl::expected<std::size_t, std::string>(0);
    });
    REQUIRE_FALSE(snap);
    CHECK(snap.error().path == "img:p1/f");
    CHECK(snap.error().reason == "file is 1000 bytes, more than the limit of 100 bytes; not read");
    CHECK_FALSE(read);
  }
  SECTION("the file ends early: what was read is kept") {
    auto snap = FileSnapshot::from_reader("img:p1/f", 20, 100, piecewise);
    REQUIRE(snap);
    CHECK(snap->bytes().size() == data.size());
  }
  SECTION("a read error names the cause") {
    auto snap = FileSnapshot::from_reader("img:p1/f", 7, 100, [](std::uint64_t, std::span<std::uint8_t>) {
      return tl::expected<std::size_t, std::string>(tl::unexpected(std::string("bad sector")));
    });
    REQUIRE_FALSE(snap);
    CHECK(snap.error().reason == "read error: bad sector");
  }
  SECTION("a reader that claims more than it was asked is refused") {
    auto snap = FileSnapshot::from_reader("img:p1/f", 7, 100, [](std::uint64_t, std::span<std::uint8_t> out) {
      return tl::expected<std::size_t, std::string>(out.size() + 1);
    });
    REQUIRE_FALSE(snap);
    CHECK(snap.error().reason.rfind("read error: ", 0) == 0);
  }
}

TEST_CASE("LocalFs: listing, kinds, snapshots of this machine's files", "[volume_fs]") {
  const fs::path dir = flscan::test::host_scratch("local-fs");
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  { std::ofstream(dir / "a.bin") << "abc"; }
  { std::ofstream(dir / "b.bin") << "de"; }
  fs::create_directory_symlink(dir / "sub", dir / "link-to-dir");
  fs::create_symlink(dir / "a.bin", dir / "link-to-file");
  const auto& local = flscan::host::local_fs();

  auto all = local.list(dir.string(), 100);
  REQUIRE(all);
  CHECK(std::set<std::string>(all->names.begin(), all->names.end()) ==
        std::set<std::string>{"sub", "a.bin", "b.bin", "link-to-dir", "link-to-file"});
  CHECK_FALSE(all->truncated);
  CHECK(all->read_error.empty());
  auto cut = local.list(dir.string(), 2);
  REQUIRE(cut);
  CHECK(cut->names.size() == 2);
  CHECK(cut->truncated);
  auto exact = local.list(dir.string(), 5);
  REQUIRE(exact);
  CHECK_FALSE(exact->truncated);
  auto none = local.list((dir / "none").string(), 10);
  REQUIRE_FALSE(none);
  CHECK(none.error().reason == std::string("cannot list: ") + std::strerror(ENOENT));

  CHECK(local.kind(dir.string()) == EntryKind::directory);
  CHECK(local.kind((dir / "a.bin").string()) == EntryKind::regular);
  // Issue 13: a symbolic link is never followed, to a directory or to a file.
  CHECK(local.kind((dir / "link-to-dir").string()) == EntryKind::symlink);
  CHECK(local.kind((dir / "link-to-file").string()) == EntryKind::symlink);
  auto through = local.list((dir / "link-to-dir").string(), 10);
  REQUIRE_FALSE(through);
  CHECK(through.error().reason == "cannot list: a symbolic link: not followed");
  auto linked = local.snapshot((dir / "link-to-file").string(), 100);
  REQUIRE_FALSE(linked);
  CHECK(linked.error().reason == "a symbolic link: not followed");
  // Rooted at the directory: a path below it through the symlinked directory is refused too.
  const flscan::host::LocalFs rooted(dir.string());
  CHECK(rooted.kind(dir.string()) == EntryKind::directory);
  CHECK(rooted.kind((dir / "link-to-dir" / "x").string()) == EntryKind::missing);
  auto below = rooted.snapshot((dir / "link-to-dir" / "x").string(), 100);
  REQUIRE_FALSE(below);
  CHECK(below.error().reason == "cannot open: " + (dir / "link-to-dir").string() + " is a symbolic link: not followed");
  CHECK(local.kind((dir / "none").string()) == EntryKind::missing);

  auto snap = local.snapshot((dir / "a.bin").string(), 100);
  REQUIRE(snap);
  CHECK(snap->bytes().size() == 3);
  auto big = local.snapshot((dir / "a.bin").string(), 2);
  REQUIRE_FALSE(big);
  CHECK(big.error().reason == "file is 3 bytes, more than the limit of 2 bytes; not read");
  auto gone = local.snapshot((dir / "none").string(), 100);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().path == (dir / "none").string());
  CHECK(gone.error().reason == std::string("cannot open: ") + std::strerror(ENOENT));
  auto directory = local.snapshot(dir.string(), 100);
  REQUIRE_FALSE(directory);
  CHECK(directory.error().reason == "not a regular file");

  CHECK(flscan::host::join_path("a", "b") == "a/b");
  CHECK(flscan::host::join_path("a/", "b") == "a/b");
  CHECK(flscan::host::join_path("", "b") == "b");
  CHECK(flscan::host::join_path("nt4.vhd:p1", "WINNT") == "nt4.vhd:p1/WINNT");
}

TEST_CASE("FileSnapshot::take: a file holding more than its reported size is modified, not a short copy",
          "[volume_fs]") {
  // Issue 12: a FUSE or network filesystem may report less than a file holds; /proc reports 0
  // bytes for files with content. The copy asks for one byte past the reported size.
  struct stat st {};
  REQUIRE(::stat("/proc/self/status", &st) == 0);
  REQUIRE(st.st_size == 0);
  auto proc = FileSnapshot::take("/proc/self/status", 1 << 20);
  REQUIRE_FALSE(proc);
  CHECK(proc.error().reason.find("modified while reading: its size was reported as 0 bytes") == 0);

  // A file of the size it reports is copied whole.
  const fs::path dir = flscan::test::host_scratch("take-size");
  fs::remove_all(dir);
  fs::create_directories(dir);
  { std::ofstream(dir / "f.bin") << "abcdef"; }
  auto snap = FileSnapshot::take(dir / "f.bin", 100);
  REQUIRE(snap);
  CHECK(snap->bytes().size() == 6);
  auto exact = FileSnapshot::take(dir / "f.bin", 6);
  REQUIRE(exact);
  CHECK(exact->bytes().size() == 6);
}

namespace {

// A flscan-live document (live/LIVE_JSON.md) for `computer` with Windows directory `windows_dir`:
// one flcss.exe process (pid 212) when `process`, `checked` as files.checked.
std::shared_ptr<const flscan::host::LiveReport> live_report(const std::string& computer, const std::string& windows_dir,
                                                            bool process, const std::string& checked = "[]") {
  // The Windows directory's backslashes as JSON escapes.
  std::string directory;
  for (char c : windows_dir) directory += c == '\\' ? std::string("\\\\") : std::string(1, c);
  const std::string ok = R"("status": "ok", "errors": [])";
  const std::string none = R"({"count": 0, "first_written_utc": null, "last_written_utc": null, "records": []})";
  const std::string text =
      R"({"format": "flscan-live", "format_version": 1, "tool_version": "0.1.0", "tool_architecture": "i686",
          "collected_utc": "2002-03-05T09:30:00Z",
          "machine": {"computer_name": ")" +
      computer + R"(", "windows_directory": ")" + directory +
      R"(", "system_directory": null, "os_version": null},
          "processes": {)" +
      ok + R"(, "method": "psapi", "process_count": 20, "flcss": [)" +
      (process ? R"({"pid": 212, "parent_pid": null, "image_name": "FLCSS.EXE", "path": null})" : "") + R"(]},
          "services": {)" +
      ok + R"(, "service_count": 80, "flcss": []},
          "event_log": {)" +
      ok + R"(, "records_read": 10, "protected_storage_7024": )" + none + R"(, "spooler_7000": )" + none + R"(},
          "files": {)" +
      ok + R"(, "checked": )" + checked + "}}";
  auto parsed = flscan::host::parse_live_report(text, "live.json");
  INFO((parsed ? std::string() : parsed.error()));
  REQUIRE(parsed);
  return std::make_shared<const flscan::host::LiveReport>(std::move(*parsed));
}

bool has_note_containing(const HostReport& host, std::string_view text) {
  return std::any_of(host.notes.begin(), host.notes.end(),
                     [&](const std::string& note) { return note.find(text) != std::string::npos; });
}

}  // namespace

TEST_CASE("live report joined: applied to the installation whose hive names its computer, only", "[volume_fs][live]") {
  using flscan::host::LiveJoinState;
  MemoryFs image;
  // p1: ComputerName flscan-nt4 in the current set; p2: the same installation's twin without one.
  image.add_file("nt4.vhd:p1/WINNT/system32/config/SYSTEM", scenario_bytes("hive-computer-name"));
  image.add_file("nt4.vhd:p2/WINNT/system32/config/SYSTEM", scenario_bytes("hive-clean"));
  for (const char* volume : {"nt4.vhd:p1", "nt4.vhd:p2"}) {
    image.add_file(std::string(volume) + "/WINNT/system32/winlogon.exe", program_bytes("winlogon"));
    image.add_file(std::string(volume) + "/WINNT/system32/csrss.exe", program_bytes("csrss"));
  }
  const ScanReport scan = image_scan({});
  const ScanReportFacts facts(scan);
  const auto build = [&] {
    return flscan::host::build_host_reports(facts, {HostVolume{image, "nt4.vhd:p1"}, HostVolume{image, "nt4.vhd:p2"}});
  };

  SECTION("matching computer (any case) and Windows directory: the live rows of p1 only") {
    auto hosts = build();
    REQUIRE(hosts.size() == 2);
    flscan::host::join_live_report(hosts, live_report("FLSCAN-NT4", "C:\\winnt", true), facts);
    REQUIRE(hosts[0].live);
    CHECK(hosts[0].live->state == LiveJoinState::applied);
    CHECK(row(hosts[0], "flcss-process") == SymptomStatus::found);
    CHECK(row(hosts[0], "slowness") == SymptomStatus::found);
    // A running flcss.exe is no evidence of content, but the clean disk is not called clean.
    CHECK(hosts[0].verdict == Verdict::incomplete);
    CHECK(hosts[0].live->incomplete_reason.find("1 flcss.exe process(es), 0 FLC/FLCSS service(s), 0 infected") !=
          std::string::npos);
    CHECK(hosts[1].live->state == LiveJoinState::other_installation);
    CHECK(hosts[1].live->reason == "the SYSTEM hive holds no ComputerName value in its current control set");
    CHECK(row(hosts[1], "flcss-process") == SymptomStatus::not_checkable_offline);
    CHECK(has_note_containing(hosts[1], "belongs to another installation of this scan"));
    CHECK(hosts[1].verdict == Verdict::no_evidence);
  }
  SECTION("no process in a list read whole: not-found, and the clean disk stays no-evidence") {
    auto hosts = build();
    flscan::host::join_live_report(hosts, live_report("flscan-nt4", "C:\\WINNT", false), facts);
    CHECK(row(hosts[0], "flcss-process") == SymptomStatus::not_found);
    CHECK(row(hosts[0], "slowness") == SymptomStatus::not_checkable_offline);
    CHECK(hosts[0].verdict == Verdict::no_evidence);
    // --live after the join (main.cpp): none running here does not undo what the live report found.
    hosts = build();
    flscan::host::join_live_report(hosts, live_report("flscan-nt4", "C:\\WINNT", true), facts);
    flscan::host::apply_live_processes(hosts[0], {});
    CHECK(row(hosts[0], "flcss-process") == SymptomStatus::found);
  }
  SECTION("another computer: applied nowhere, every installation incomplete") {
    auto hosts = build();
    flscan::host::join_live_report(hosts, live_report("OTHER-PC", "C:\\WINNT", true), facts);
    for (const HostReport& host : hosts) {
      CHECK(host.live->state == LiveJoinState::unmatched);
      CHECK(row(host, "flcss-process") == SymptomStatus::not_checkable_offline);
      CHECK(host.verdict == Verdict::incomplete);
      CHECK(host.live->incomplete_reason.find("matches no installation of this scan") != std::string::npos);
    }
    CHECK(hosts[0].live->reason == "computer name OTHER-PC in the live report, flscan-nt4 in the SYSTEM hive");
  }
  SECTION("the same computer but another Windows directory: unmatched") {
    auto hosts = build();
    flscan::host::join_live_report(hosts, live_report("FLSCAN-NT4", "C:\\WINDOWS", true), facts);
    CHECK(hosts[0].live->state == LiveJoinState::unmatched);
    CHECK(hosts[0].live->reason == "Windows directory C:\\WINDOWS in the live report, WINNT here");
  }
  SECTION("several installations match: applied to none") {
    image.add_file("nt4.vhd:p2/WINNT/system32/config/SYSTEM", scenario_bytes("hive-computer-name"));
    auto hosts = build();
    flscan::host::join_live_report(hosts, live_report("FLSCAN-NT4", "C:\\WINNT", true), facts);
    for (const HostReport& host : hosts) {
      CHECK(host.live->state == LiveJoinState::ambiguous);
      CHECK(row(host, "flcss-process") == SymptomStatus::not_checkable_offline);
      CHECK(host.verdict == Verdict::incomplete);
    }
  }
  SECTION("infected files the live tool names, none offline: incomplete, never q317218") {
    auto hosts = build();
    const std::string checked =
        R"([{"path": {"text": "C:\\WINNT\\system32\\calc.exe"}, "size": 100, "type": "pe", "state": "infected",
             "severity": "infection", "findings": [{"kind": "infected", "severity": "infection", "evidence": "x"}],
             "why": ["q317218-program"], "error": null}])";
    flscan::host::join_live_report(hosts, live_report("FLSCAN-NT4", "C:\\WINNT", false, checked), facts);
    CHECK(hosts[0].live->infected_files == std::vector<std::string>{"C:\\WINNT\\system32\\calc.exe"});
    CHECK(hosts[0].verdict == Verdict::incomplete);
    CHECK(hosts[0].live->incomplete_reason.find("1 infected file(s)), which the offline scan did not confirm") !=
          std::string::npos);
    CHECK(has_note_containing(hosts[0], "not counted in the exit code"));
  }
}
