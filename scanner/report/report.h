// What a scan produced, as plain structs: the walk and the workers fill a ScanReport, the text and
// JSON printers read it (style guide habit 6: printers never call back into the engine or the
// filesystem). Only results that matter are kept: files with findings, entries that could not be
// scanned, entries skipped on purpose and, when asked for, the PE/MZ inventory. Clean files leave
// nothing behind but counters, so memory does not grow with the size of the tree.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/enum_table.h"
#include "engine/finding.h"
#include "engine/scan.h"
#include "scanner/report/fail_on.h"
#include "scanner/host/host_report.h"
#include "scanner/report/shard.h"

namespace flscan::scanner {

// Why an entry was not scanned. Every one of these makes the scan incomplete (exit code 2 unless
// FunLove evidence was found elsewhere): the entry may hold evidence flscan did not see, so it is
// never reported as clean. The codes (to_code) are a stable interface of the JSON report.
enum class NotScannedReason {
  not_found,             // a PATH operand that does not exist
  permission_denied,     // open/stat/list refused (EACCES, EPERM)
  vanished,              // listed, then gone before it could be examined or opened
  replaced,              // listed as a regular file or directory, something else when opened (walker.h)
  truncated,             // the file shrank while it was being read (short read against fstat's size)
  modified,              // size or mtime changed while the file was being read
  too_large,             // larger than --max-filesize and needed whole
  io_error,              // any other error of open/stat/read, with its errno text
  unlistable_directory,  // a directory that could not be (completely) listed
  loop,                  // a directory reached again below itself (followed symlink or bind mount)
  too_deep,              // nesting deeper than limits::kMaxDirectoryDepth
  internal_error,        // an exception caught at the per-file boundary (e.g. out of memory)
  // Disk images (scanner/image/): a volume, or the data of a file inside one, that could not be read.
  unreadable_image,    // the image (or this volume of it) cannot be opened or read: corrupt, truncated, unsupported
  unknown_filesystem,  // a partition (or a whole image) holding no filesystem The Sleuth Kit recognises
  encrypted_volume,  // an encrypted volume (BitLocker "-FVE-FS-" or To Go, LUKS) or an NTFS-encrypted (EFS) file in an
                     // image: only ciphertext
  special_file,  // a PATH operand that is a FIFO, socket or character device: never opened (issue 12; inside a walk:
                 // skipped)
  // A file whose content is a disk-image container or volume format (image/container_format.h,
  // issue 15): its files were not read.
  unsupported_image,  // a format flscan cannot open (qcow2, VDI, LVM2, DMG, ...), as PATH or inside a walk
  image_not_opened,   // a format flscan opens as PATH (E01, VHD, VHDX, VMDK), found inside a scanned directory
  // An encrypted volume (BitLocker, LUKS) for which keys of its kind were given, none of which
  // opens it (image/volume_keys.h, issue 15).
  key_rejected,
};
// Its codes (stable, scanner/JSON.md) and phrases for people (enum_table.h). A new reason: a value
// above, its row here, its code in scanner/JSON.md and README.md (ARCHITECTURE.md, "where to add").
inline constexpr std::array kNotScannedReasons = {
    EnumRow{NotScannedReason::not_found, "not-found", "does not exist"},
    EnumRow{NotScannedReason::permission_denied, "permission-denied", "permission denied"},
    EnumRow{NotScannedReason::vanished, "vanished", "vanished before it could be read"},
    EnumRow{NotScannedReason::replaced, "replaced", "replaced by something else after listing"},
    EnumRow{NotScannedReason::truncated, "truncated-while-reading", "truncated while being read"},
    EnumRow{NotScannedReason::modified, "modified-while-reading", "modified while being read"},
    EnumRow{NotScannedReason::too_large, "too-large", "larger than --max-filesize"},
    EnumRow{NotScannedReason::io_error, "io-error", "I/O error"},
    EnumRow{NotScannedReason::unlistable_directory, "unlistable-directory", "directory could not be listed"},
    EnumRow{NotScannedReason::loop, "loop", "directory loop"},
    EnumRow{NotScannedReason::too_deep, "too-deep", "directories nested too deep"},
    EnumRow{NotScannedReason::internal_error, "internal-error", "internal error"},
    EnumRow{NotScannedReason::unreadable_image, "unreadable-image", "disk image or volume could not be read"},
    EnumRow{NotScannedReason::unknown_filesystem, "unknown-filesystem", "no filesystem recognised in this volume"},
    EnumRow{NotScannedReason::encrypted_volume, "encrypted-volume", "encrypted volume"},
    EnumRow{NotScannedReason::special_file, "special-file", "PATH is not a regular file, directory or disk"},
    EnumRow{NotScannedReason::unsupported_image, "unsupported-image", "disk image in a format flscan cannot open"},
    EnumRow{NotScannedReason::image_not_opened, "image-not-opened",
            "disk image inside a scanned directory, not opened"},
    EnumRow{NotScannedReason::key_rejected, "key-rejected", "encrypted volume: no key given opens it"},
};
constexpr const auto& enum_rows(NotScannedReason) { return kNotScannedReasons; }
static_assert(is_complete_table(kNotScannedReasons), "kNotScannedReasons: one row per NotScannedReason, in order");

// Why an entry was skipped on purpose. Skipped entries are not files flscan reads, so they do not
// make the scan incomplete.
enum class SkipReason {
  fifo,  // never opened: opening a FIFO can block forever
  socket,
  device,            // block or character device: reading one can hang or have side effects
  symlink,           // not followed without --follow-symlinks
  broken_symlink,    // --follow-symlinks, but the target does not exist or cannot be resolved
  other_filesystem,  // --one-file-system and the entry lives on another device than its root
  excluded,          // matched an --exclude pattern
  other_type,        // any other file type (e.g. a Solaris door)
};
inline constexpr std::array kSkipReasons = {
    EnumRow{SkipReason::fifo, "fifo", "FIFO, never opened"},
    EnumRow{SkipReason::socket, "socket", "socket, never opened"},
    EnumRow{SkipReason::device, "device", "device, never opened"},
    EnumRow{SkipReason::symlink, "symlink", "symbolic link, not followed (see --follow-symlinks)"},
    EnumRow{SkipReason::broken_symlink, "broken-symlink", "symbolic link whose target cannot be resolved"},
    EnumRow{SkipReason::other_filesystem, "other-filesystem", "on another file system (--one-file-system)"},
    EnumRow{SkipReason::excluded, "excluded", "excluded"},
    EnumRow{SkipReason::other_type, "other-type", "not a regular file or directory"},
};
constexpr const auto& enum_rows(SkipReason) { return kSkipReasons; }
static_assert(is_complete_table(kSkipReasons), "kSkipReasons: one row per SkipReason, in order");

// Stable kebab-case codes ("permission-denied", "fifo", ...) and short phrases for people.
[[nodiscard]] constexpr std::string_view to_code(NotScannedReason reason) { return code_of(reason); }
[[nodiscard]] constexpr std::string_view describe(NotScannedReason reason) { return description_of(reason); }
[[nodiscard]] constexpr std::string_view to_code(SkipReason reason) { return code_of(reason); }
[[nodiscard]] constexpr std::string_view describe(SkipReason reason) { return description_of(reason); }

// Paths are kept as the raw bytes the filesystem gave (POSIX names are bytes, not text); printers
// decide how to show them.
// What --quarantine / --repair did with a file (scanner/remedy/remediate.h). The codes are a stable
// interface of the JSON report (scanner/JSON.md).
enum class ActionResult {
  quarantined,    // a verified copy is in the quarantine directory, the original was removed
  repaired,       // disinfected in place; the infected original's verified copy is in the directory
  left_in_place,  // the original was not touched (see `error`)
};
enum class RepairStatus {
  not_requested,  // no --repair
  repaired,
  refused,      // the file does not fit the model's repair, or the result would not scan clean
  system_file,  // never repaired in place: replace it from clean media
  failed,       // the repair could be made but not written; the file was quarantined instead
};
// The descriptions are the words of the text and HTML summaries' Quarantine line.
inline constexpr std::array kActionResults = {
    EnumRow{ActionResult::quarantined, "quarantined", "quarantined"},
    EnumRow{ActionResult::repaired, "repaired", "repaired in place"},
    EnumRow{ActionResult::left_in_place, "left-in-place", "left in place"},
};
constexpr const auto& enum_rows(ActionResult) { return kActionResults; }
static_assert(is_complete_table(kActionResults), "kActionResults: one row per ActionResult, in order");
inline constexpr std::array kRepairStatuses = {
    EnumRow{RepairStatus::not_requested, "not-requested"},
    EnumRow{RepairStatus::repaired, "repaired"},
    EnumRow{RepairStatus::refused, "refused"},
    EnumRow{RepairStatus::system_file, "system-file"},
    EnumRow{RepairStatus::failed, "failed"},
};
constexpr const auto& enum_rows(RepairStatus) { return kRepairStatuses; }
static_assert(is_complete_table(kRepairStatuses), "kRepairStatuses: one row per RepairStatus, in order");
[[nodiscard]] constexpr std::string_view to_code(ActionResult result) { return code_of(result); }
[[nodiscard]] constexpr std::string_view to_code(RepairStatus status) { return code_of(status); }
struct FileAction {
  ActionResult result = ActionResult::left_in_place;
  std::string quarantine_file;  // DIR/<id>.flq holding the original content; empty when no copy stays
  RepairStatus repair = RepairStatus::not_requested;
  std::string repair_detail;  // what the repair did, or why it was refused / not done
  std::string error;          // the step that failed and why; empty when none did
  // Other hard links to the file (st_nlink - 1) when it was removed or replaced: those names still
  // hold the infected content (issue 13); 0 normally.
  std::uint64_t other_links = 0;
};

// A file or directory as st_dev and st_ino name it.
struct FileIdentity {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  bool operator==(const FileIdentity&) const = default;
};

// Where a file of a directory scan was read (issue 13, item 3): the file as its descriptor was
// opened, and the directory the walk opened it in (none for a PATH operand that is a file).
// --quarantine acts on that file in that directory only (Quarantine::put). Not in any report.
struct FileOrigin {
  FileIdentity file;
  std::optional<FileIdentity> directory;
};

struct FileResult {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;  // lower-case hex
  ContentType type = ContentType::not_pe;
  std::vector<Finding> findings;       // strongest first
  std::optional<FileAction> action{};  // set by --quarantine (remediate.h) for the files it acted on
  std::optional<FileOrigin> origin{};  // set for files read from a directory walk
  // The file's times as its source recorded them (issue 20; host/file_times.h): kept for files
  // with findings only, so clean files still leave nothing behind. nullopt when the source has none.
  std::optional<host::FileTimes> times{};
};

struct NotScannedEntry {
  std::string path;
  NotScannedReason reason = NotScannedReason::io_error;
  std::string detail;  // the operation and errno text, or what changed
};

struct SkippedEntry {
  std::string path;
  SkipReason reason = SkipReason::other_type;
  std::string detail;
};

// One volume of a disk image operand (scanner/image/): a partition of its partition table, or the
// whole image when it has none. Paths of the files inside are `<image>:<name>/<path in volume>`.
enum class VolumeStatus {
  scanned,  // its files were listed and scanned (individual files may still be NOT SCANNED)
  skipped,  // a partition type that holds no files (Microsoft reserved, BIOS boot, swap) and no filesystem
  error,    // not scanned: `reason` and `detail` say why (also a NOT SCANNED entry `<image>:<name>`)
};
inline constexpr std::array kVolumeStatuses = {
    EnumRow{VolumeStatus::scanned, "scanned"},
    EnumRow{VolumeStatus::skipped, "skipped"},
    EnumRow{VolumeStatus::error, "error"},
};
constexpr const auto& enum_rows(VolumeStatus) { return kVolumeStatuses; }
static_assert(is_complete_table(kVolumeStatuses), "kVolumeStatuses: one row per VolumeStatus, in order");
[[nodiscard]] constexpr std::string_view to_code(VolumeStatus status) { return code_of(status); }

struct ImageVolume {
  std::string image;         // the PATH operand as given
  std::string name;          // "p1", "p2", ... (allocated partitions in start order) or "vol"
  std::string image_format;  // the container: "raw", "raw-split", "ewf", "vhd", "vhdx", "vmdk", "qcow2"
  // The files the image is made of, in order: the PATH operand, then its parent (backing) files,
  // or the segments of a split raw set (issue 15). One file for the others.
  std::vector<std::string> image_files;
  std::uint64_t offset = 0;    // bytes from the start of the image
  std::uint64_t length = 0;    // bytes
  std::string partition_type;  // the partition table's description, e.g. "NTFS / exFAT (0x07)"; empty for "vol"
  std::string filesystem;      // TSK's name ("ntfs", "fat16", "fat32", "exfat", ...); empty when none was recognised
  VolumeStatus status = VolumeStatus::scanned;
  NotScannedReason reason = NotScannedReason::unreadable_image;  // meaningful when status is error
  std::string detail;  // why it was not scanned or skipped, or a warning (image truncated)
  // An encrypted volume opened with a key: the kind of key that opened it ("luks-passphrase",
  // "bitlocker-recovery-password", ...; image/volume_keys.h), never the key. Empty otherwise.
  std::string decrypted_with;
  // A scanned volume that could not be opened again for the host evidence (no Windows installation
  // was looked for in it): why. Empty normally. Counts as a host error (ScanReport::host_errors()).
  std::string host_error;
  [[nodiscard]] std::string path() const { return image + ":" + name; }
};

struct InventoryEntry {
  std::string path;
  std::uint64_t size = 0;
  std::string sha256;
  ContentType type = ContentType::pe;  // pe or mz_not_pe
  std::string pe_error;                // why an MZ file is no valid PE (empty for PE files)
};

struct ScanCounters {
  std::uint64_t files_seen = 0;           // regular files the walk found (scanned or not)
  std::uint64_t files_examined = 0;       // read (at least the sniffed head) without error
  std::uint64_t files_scanned_whole = 0;  // read whole and given to the engine
  std::uint64_t directories = 0;          // directories listed
  std::uint64_t pe_files = 0;
  std::uint64_t mz_files = 0;  // start with MZ but are no valid PE
  std::uint64_t bytes_read = 0;
  std::uint64_t files_with_findings = 0;
  std::uint64_t infected_files = 0;         // files with at least one infection-severity finding
  std::uint64_t match_cap_hits = 0;         // signature matching cut short by an engine limit
  std::uint64_t lost_reports = 0;           // errors that could not even be recorded (out of memory)
  std::uint64_t files_in_other_shards = 0;  // --shard: regular files found that other shards own
  std::array<std::uint64_t, kEnumCount<FindingKind>> findings_by_kind{};
  std::array<std::uint64_t, kEnumCount<NotScannedReason>> not_scanned_by_reason{};
  std::array<std::uint64_t, kEnumCount<SkipReason>> skipped_by_reason{};

  ScanCounters& operator+=(const ScanCounters& other);
  [[nodiscard]] std::uint64_t not_scanned_total() const;
  [[nodiscard]] std::uint64_t skipped_total() const;
};

// What a PATH operand was when the scan started, recorded then so that no printer calls the
// filesystem and `flscan merge` prints what the scan saw, from whatever directory it runs in
// (issue 14). The codes (to_code) are a stable interface of the JSON report ("root_facts").
enum class RootKind {
  directory,  // stat (symlinks followed) says directory
  file,       // a regular file scanned as a file
  image,      // a disk image or disk: its volumes are in ScanReport::volumes
  special,    // a FIFO, socket or device that is no disk image
  missing,    // does not exist
  unknown,    // stat failed otherwise (permission...), or not known (an older report)
};
inline constexpr std::array kRootKinds = {
    EnumRow{RootKind::directory, "directory", ""}, EnumRow{RootKind::file, "file", ""},
    EnumRow{RootKind::image, "image", ""},         EnumRow{RootKind::special, "special", ""},
    EnumRow{RootKind::missing, "missing", ""},     EnumRow{RootKind::unknown, "unexamined", ""},
};
constexpr const auto& enum_rows(RootKind) { return kRootKinds; }
static_assert(is_complete_table(kRootKinds), "kRootKinds: one row per RootKind, in order");
[[nodiscard]] constexpr std::string_view to_code(RootKind kind) { return code_of(kind); }

// The order a PATH operand's files were read in (issue 19, --read-order; scanner/walk/read_order.h):
// as each directory lists them, or by their first physical byte on the disk.
enum class ReadOrder { listing, disk };
inline constexpr std::array kReadOrders = {EnumRow{ReadOrder::listing, "listing", ""},
                                           EnumRow{ReadOrder::disk, "disk", ""}};
constexpr const auto& enum_rows(ReadOrder) { return kReadOrders; }
static_assert(is_complete_table(kReadOrders), "kReadOrders: one row per ReadOrder, in order");
[[nodiscard]] constexpr std::string_view to_code(ReadOrder order) { return code_of(order); }

struct RootFacts {
  // The operand made absolute against the scan's working directory and lexically normalised (no
  // symlink resolved), as the SARIF base URIs need it; empty when unknown (no working directory).
  std::string absolute;
  RootKind kind = RootKind::unknown;
  // How its files were read (a directory walked, or a disk image) and why ("auto: rotational device
  // sda", "--read-order disk", ...); nullopt for any other operand and in reports of older versions.
  std::optional<ReadOrder> read_order{};
  std::string read_order_reason{};
  bool operator==(const RootFacts&) const = default;
};

struct ScanReport {
  std::vector<std::string> roots;
  // One per entry of `roots`, in the same order (ScanJob records them; a report read without them
  // has none, and root_facts_of infers them).
  std::vector<RootFacts> root_facts;
  // The scan's working directory (absolute), for a path outside every root (the installation of a
  // relative --windows-root); empty when unknown.
  std::string working_directory;
  std::vector<FileResult> results;           // sorted by path
  std::vector<NotScannedEntry> not_scanned;  // sorted by path
  std::vector<SkippedEntry> skipped;         // sorted by path; excluded entries only with --verbose
  std::vector<InventoryEntry> inventory;     // sorted by path; only with --inventory
  std::vector<ImageVolume> volumes;          // disk image operands' volumes, in operand then offset order
  ScanCounters counters;
  double elapsed_seconds = 0;
  // The Q317218 report of each Windows installation found (host_report.h), added after the scan.
  std::vector<host::HostReport> hosts;
  // --live only (nullopt otherwise): running processes named flcss.exe (live_process.h).
  std::optional<std::vector<host::LiveProcess>> live_processes;
  // --live-report FILE only (null otherwise): flscan-live's document (issue 17); each host's
  // `live` says whether it was applied there.
  std::shared_ptr<const host::LiveReport> live_report;
  // --shard K/N (shard.h): only the files of shard K were read; nullopt for a whole scan (and for
  // the report `flscan merge` puts together from all N shards).
  std::optional<Shard> shard;

  // True when every entry found was scanned (nothing in not_scanned, no lost report).
  [[nodiscard]] bool complete() const;
  // True when the run as a whole is complete: complete(), no host error and no action left undone.
  // What JSON `summary.complete`, SARIF `executionSuccessful` and the text's INCOMPLETE say
  // (issue 12: a hive that could not be read, or a quarantine that did not happen, never leaves a
  // report calling itself complete).
  [[nodiscard]] bool run_complete() const;
  // True when some file carries an infection-severity finding.
  [[nodiscard]] bool infection_found() const { return counters.infected_files > 0; }
  // True when some installation has an FLC service (FunLove evidence too: exit code 1).
  [[nodiscard]] bool flc_service_found() const;
  // True when some finding (of any file, strongest or not) has severity suspicious (--fail-on).
  [[nodiscard]] bool suspicious_found() const;
  // True when a PATH operand does not exist: a failed run whatever --fail-on says.
  [[nodiscard]] bool operand_missing() const;
  // True when some installation's hive or event log could not be read (exit code 2 unless 1).
  [[nodiscard]] bool host_errors() const;
  // True when --live-report was given and applied to no installation (none matched, several did,
  // or no installation was found), or an installation it was applied to stays incomplete because
  // of it (host_report.h, LiveJoin::incomplete_reason): the live check asked for did not happen.
  [[nodiscard]] bool live_report_incomplete() const;
  // "applied to /mnt/c/WINNT", "not applied: it matches no installation of this scan", ...: the
  // run-level state of --live-report for the printers (empty without it).
  [[nodiscard]] std::string live_report_state() const;
  // True when --quarantine was asked to act on a file and left it in place (issue 13: an action
  // that was asked for and did not happen makes the run incomplete, exit code 2 unless 1).
  [[nodiscard]] bool actions_failed() const;
  // The disk images opened (those with volumes in the report), and how many of them a walk found
  // inside a PATH's directories rather than named as PATHs (issue 15).
  struct ImageCounts {
    std::uint64_t opened = 0;
    std::uint64_t in_directories = 0;
  };
  [[nodiscard]] ImageCounts image_counts() const;
};

// What the printers say about the program and its signatures (from main; no engine calls).
struct ReportMeta {
  std::string flscan_version;
  std::vector<std::string> signature_sources;  // SignatureSet::sources()
  std::size_t signature_count = 0;
};

// The process exit codes (documented in --help and scanner/JSON.md).
inline constexpr int kExitClean = 0;       // nothing found and every file scanned
inline constexpr int kExitInfected = 1;    // FunLove evidence found (wins over incomplete)
inline constexpr int kExitIncomplete = 2;  // scan incomplete, or the program failed

// With the default policy: 1 when FunLove evidence was found (an infection finding or an FLC
// service; even if the scan is also incomplete: the evidence is the fact that needs acting on),
// else 2 when the scan is incomplete, a host read failed or a requested action did not happen, else 0. `fail_on`
// (--fail-on) says which outcomes count: infected and suspicious give 1, incomplete 2, 1 winning. A PATH operand that
// does not exist gives 2 unless 1 applies, whatever `fail_on` says (the run failed).
[[nodiscard]] int exit_code(const ScanReport& report, const FailOn& fail_on = kDefaultFailOn);

// The facts of roots[index]: those recorded, else what the report itself shows, without a
// filesystem call (a report of an older flscan): an image when its volumes are listed; missing,
// special or a directory by the reason of a NOT SCANNED entry at the root itself; a file when an
// entry names the root itself; else a directory. Its absolute path then is the operand when it is
// absolute, else unknown (empty).
[[nodiscard]] RootFacts root_facts_of(const ScanReport& report, std::size_t index);
// Files per FileAction result (what --quarantine did), indexed by ActionResult.
[[nodiscard]] std::array<std::uint64_t, kEnumCount<ActionResult>> action_counts(const ScanReport& report);
// "2 quarantined, 1 repaired in place, 0 left in place" (every result, in table order); empty when
// no action was taken. The text and HTML summaries' Quarantine line.
[[nodiscard]] std::string action_summary(const ScanReport& report);

// Sorts results, not_scanned, skipped and inventory by path (bytes), ties broken by the rest, so
// a report is the same on every run whatever the thread timing (ScanJob, flscan merge).
void sort_entries(ScanReport& report);

// The strongest finding of a result (results always have at least one): highest severity, then
// the stronger kind. Its kind is the file's "state".
[[nodiscard]] const Finding& strongest_finding(const FileResult& result);

}  // namespace flscan::scanner
