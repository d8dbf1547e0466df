// The Q317218 host report: for one offline Windows installation, each symptom Microsoft KB
// Q317218 lists, mapped to the evidence an offline scan can show (infection-model section 8),
// a verdict (Q317218, Q321454 or neither) and remediation steps for what was found (sections 7
// and 9). Built from the facts of the finished file scan (scan_facts.h) plus the SYSTEM hive and
// SysEvent.Evt readers; it never rescans a file. Plain structs for the printers.
#pragma once

#include <array>
#include <memory>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/enum_table.h"
#include "scanner/host/event_log.h"
#include "scanner/host/live_process.h"
#include "scanner/host/live_report.h"
#include "scanner/host/scan_facts.h"
#include "scanner/host/system_hive.h"
#include "scanner/host/timeline.h"
#include "scanner/host/volume_fs.h"
#include "scanner/host/windows_install.h"

namespace flscan::host {

enum class SymptomStatus { found, not_found, not_checkable_offline, error };
// Stable JSON codes, one row per value in enum order (engine/enum_table.h).
inline constexpr std::array kSymptomStatuses = {
    EnumRow{SymptomStatus::found, "found"},
    EnumRow{SymptomStatus::not_found, "not-found"},
    EnumRow{SymptomStatus::not_checkable_offline, "not-checkable-offline"},
    EnumRow{SymptomStatus::error, "error"},
};
constexpr const auto& enum_rows(SymptomStatus) { return kSymptomStatuses; }
static_assert(is_complete_table(kSymptomStatuses), "kSymptomStatuses: one row per SymptomStatus, in order");
[[nodiscard]] constexpr std::string_view to_code(SymptomStatus status) { return code_of(status); }

// One Q317218 symptom. Ids (stable): slowness, event-7024, event-7000, sp-copy-errors,
// flcss-service, flcss-process, stop-c000021a.
struct SymptomRow {
  std::string id;
  std::string symptom;  // Q317218's words
  std::string meaning;  // what it means (infection-model section 8)
  SymptomStatus status = SymptomStatus::not_found;
  std::vector<std::string> evidence;
};

// A file's state as the file scan saw it. A present file without findings is clean only when
// the scan read it (not NOT SCANNED, not skipped, under a scanned PATH).
// other_shard: --shard, and another shard owns the file (shard.h); `flscan merge` replaces it
// with that shard's status.
enum class FileStatus { clean, infected, damaged, missing, not_scanned, other_shard };
inline constexpr std::array kFileStatuses = {
    EnumRow{FileStatus::clean, "clean"},
    EnumRow{FileStatus::infected, "infected"},
    EnumRow{FileStatus::damaged, "damaged"},
    EnumRow{FileStatus::missing, "missing"},
    EnumRow{FileStatus::not_scanned, "not-scanned"},
    EnumRow{FileStatus::other_shard, "other-shard"},
};
constexpr const auto& enum_rows(FileStatus) { return kFileStatuses; }
static_assert(is_complete_table(kFileStatuses), "kFileStatuses: one row per FileStatus, in order");
[[nodiscard]] constexpr std::string_view to_code(FileStatus status) { return code_of(status); }

struct ProgramCheck {
  std::string name;           // lower case, e.g. "calc.exe"
  bool q317218_list = false;  // one of the 33 programs the SP reinstall cannot copy
  std::string path;           // the file as found (empty when missing)
  FileStatus status = FileStatus::missing;
};

// ntoskrnl.exe, ntkrnlmp.exe (system32) and NTLDR (volume root), section 7.
struct KernelCheck {
  std::string name;
  std::string path;      // the file as found (empty when missing)
  std::string status;    // "clean", "patched", "modified" (checksum only), "infected", "missing", "not-scanned"
  std::string evidence;  // the strongest finding's evidence, if any
};

// Spooler / ProtectedStorage in the current control set: does the ImagePath file exist, clean?
struct ServiceImageCheck {
  std::string service;                    // "Spooler", "ProtectedStorage"
  bool present = false;                   // the key exists in the current control set
  std::optional<std::string> image_path;  // as stored
  std::string file;                       // resolved path (empty when it could not be resolved or found)
  FileStatus status = FileStatus::missing;
};

enum class Verdict { q317218, q321454, incomplete, no_evidence };
inline constexpr std::array kVerdicts = {
    EnumRow{Verdict::q317218, "q317218"},
    EnumRow{Verdict::q321454, "q321454"},
    EnumRow{Verdict::incomplete, "incomplete"},
    EnumRow{Verdict::no_evidence, "no-evidence"},
};
constexpr const auto& enum_rows(Verdict) { return kVerdicts; }
static_assert(is_complete_table(kVerdicts), "kVerdicts: one row per Verdict, in order");
[[nodiscard]] constexpr std::string_view to_code(Verdict verdict) { return code_of(verdict); }

// --live-report (issue 17): how the live report stands to this installation. Decided by
// join_live_report from the SYSTEM hive's computer name and the Windows directory's name.
enum class LiveJoinState { applied, other_installation, unmatched, ambiguous };
inline constexpr std::array kLiveJoinStates = {
    EnumRow{LiveJoinState::applied, "applied", "its live rows were filled from it"},
    EnumRow{LiveJoinState::other_installation, "other-installation", "it belongs to another installation of this scan"},
    EnumRow{LiveJoinState::unmatched, "unmatched", "it matches no installation of this scan"},
    EnumRow{LiveJoinState::ambiguous, "ambiguous", "it matches several installations of this scan"},
};
constexpr const auto& enum_rows(LiveJoinState) { return kLiveJoinStates; }
static_assert(is_complete_table(kLiveJoinStates), "kLiveJoinStates: one row per LiveJoinState, in order");
[[nodiscard]] constexpr std::string_view to_code(LiveJoinState state) { return code_of(state); }
[[nodiscard]] constexpr std::string_view describe(LiveJoinState state) { return description_of(state); }

struct LiveJoin {
  std::shared_ptr<const LiveReport> report;
  LiveJoinState state = LiveJoinState::unmatched;
  bool matches = false;  // this installation's computer name and Windows directory match the report's
  std::string reason;    // why it matches or not ("computer name ... in the live report, ... in the SYSTEM hive")
  // Derived by derive_host_report: files flscan-live's engine found infected on the running machine,
  // and why the live report leaves this installation incomplete (empty: it does not).
  std::vector<std::string> infected_files;
  std::string incomplete_reason;
};

struct HostReport {
  WindowsInstall install;
  std::optional<SystemHiveEvidence> hive;  // nullopt when it could not be read (see errors)
  std::string event_log_path;              // config/SysEvent.Evt as found (empty: not found)
  std::optional<EventLogEvidence> events;  // nullopt when not found or not readable
  std::vector<SymptomRow> symptoms;        // the seven rows, in Q317218's order
  std::vector<ProgramCheck> programs;      // the 33, then pstores, spoolss, csrss
  ProgramCheck flcss;                      // system32/flcss.exe
  std::vector<std::string> droppers;       // every file in the scan with a dropper finding
  std::vector<KernelCheck> kernel;
  std::vector<ServiceImageCheck> service_images;
  Verdict verdict = Verdict::no_evidence;
  std::string verdict_text;
  std::vector<std::string> remediation;
  std::vector<std::string> errors;  // host evidence that could not be read
  // What the reader should know that changes no verdict: a SYSTEM hive or SysEvent.Evt that was
  // not closed cleanly (issue 12). Derived by derive_host_report from the evidence.
  std::vector<std::string> notes;
  // When it happened (issue 20, timeline.h): derived by derive_host_report from the evidence and
  // the infected files' times.
  HostTimeline timeline;
  // Why the hive / the event log could not be read (nullopt: read, or for the log also not
  // found); derive_host_report's inputs besides the evidence above.
  std::optional<std::string> hive_error;
  std::optional<std::string> log_error;
  // --live-report: the live report and how it stands to this installation (join_live_report);
  // derive_host_report fills the live rows from it when applied.
  std::optional<LiveJoin> live;

  // An FLC/FLCSS/flcss.exe service in some control set (FunLove evidence: exit code 1).
  [[nodiscard]] bool flc_service_found() const { return hive && hive->has_flc_service(); }
};

// Reads the installation's hive and event log from `volume` and maps them, with `scan` (the facts
// of the finished file scan), onto the Q317218 symptoms; every file it looks up (system32
// programs, flcss.exe, the kernels, NTLDR at install.volume_root, the Spooler / ProtectedStorage
// ImagePath files) is found on `volume` by listing (case-insensitively) and looked up in `scan` by
// path. A file counts as scanned when the scan's roots cover it. Never throws for bad input;
// read failures land in `errors`.
HostReport build_host_report(const VolumeFs& volume, const WindowsInstall& install, const ScanFacts& scan);

// The derivation, apart from every lookup: droppers, symptom rows, verdict and remediation from
// the evidence already in `host` (install, hive, events, programs, flcss, kernel, service images,
// errors, hive_error, log_error) and the infected files of `scan`. No I/O; recomputes those fields
// from scratch, so `flscan merge` calls it again on the evidence and the merged file results of
// all shards and gets what a full scan would have. With scan.shard() (one shard of several) a
// verdict other than q317218 is `incomplete`: the other shards' files are not in `scan`.
void derive_host_report(HostReport& host, const ScanFacts& scan);

// One place installations are looked for, and the filesystem its paths belong to.
struct HostVolume {
  enum class Kind {
    // Installations at or below `root` (find_windows_installs); `root` counts as scanned (a PATH
    // operand, or a volume of a scanned disk image).
    search,
    // --windows-root: `root` is the Windows directory itself (reported whether or not it has
    // system32/config/SYSTEM); its lexical parent is the volume root, where NTLDR is looked for.
    windows_dir,
  };
  const VolumeFs& fs;  // how the paths below `root` are listed and read
  std::string root;    // a PATH operand ("/mnt/c"), or "IMAGE:pN" for partition N of a disk image
  Kind kind = Kind::search;
};

// The host reports of a finished scan: one per installation found on `volumes`, in their order.
// Installations met twice are reported once.
std::vector<HostReport> build_host_reports(const ScanFacts& scan, const std::vector<HostVolume>& volumes);

// The same for directories of this machine (LocalFs): each PATH that is a directory, or, when
// `windows_root` is given (--windows-root), that directory only.
std::vector<HostReport> build_host_reports(const ScanFacts& scan, const std::vector<std::string>& paths,
                                           const std::optional<std::string>& windows_root);

// --live: the flcss-process row becomes found (the processes as evidence) or not-found, and
// slowness found when one runs. Without it both stay not-checkable-offline.
void apply_live_processes(HostReport& host, const std::vector<LiveProcess>& processes);

// --live-report (issue 17): decides for each installation whether `live` belongs to it (the SYSTEM
// hive's ComputerName and the Windows directory's name against machine.computer_name and
// machine.windows_directory, both case-insensitive), sets `live` on every host and derives each
// again (derive_host_report): the one match gets the live rows (flcss-process, flcss-service,
// slowness, event-7024, event-7000); none or several leave every installation incomplete (the
// live check asked for did not happen). Call before apply_live_processes.
void join_live_report(std::vector<HostReport>& hosts, const std::shared_ptr<const LiveReport>& live,
                      const ScanFacts& scan);

// The 33 programs Q317218 names (infection-model section 8), lower case.
[[nodiscard]] const std::vector<std::string_view>& q317218_programs();

}  // namespace flscan::host
