// Offline SYSTEM hive reader: the FunLove service (infection-model section 6, Q317218 "FLCSS
// service listed") and the Spooler / Protected Storage services of the Q317218 events (section 8),
// in every ControlSetNNN, read with hivex from a private copy of the hive.
//
// Contract: `read_system_hive` never throws and never trusts a count, offset or length from the
// file beyond hivex's own checks and the caps in scanner/host/limits.h. A hive that cannot be
// opened at all (not a hive, bad base block, hbins hivex rejects) is a HostError; a hive whose
// tree is damaged in places gives the evidence that could be read, `partial = true` and notes
// saying what was skipped and why.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "scanner/host/file_times.h"
#include "scanner/host/host_common.h"

namespace flscan::host {

class VolumeFs;

// The values of one service key that matter here. A value that is absent, of the wrong type or
// unreadable is std::nullopt, and the service's `notes` say which of those it was.
struct ServiceValues {
  std::optional<std::uint32_t> type;           // "Type"          (0x20 = share process)
  std::optional<std::uint32_t> start;          // "Start"         (2 = automatic)
  std::optional<std::uint32_t> error_control;  // "ErrorControl"
  std::optional<std::string> image_path;       // "ImagePath" as stored (not expanded), UTF-8
  std::optional<std::string> object_name;      // "ObjectName"    (account)
  std::optional<std::string> display_name;     // "DisplayName"
};

// Why a service was reported as FunLove evidence.
struct ServiceMatch {
  bool by_name = false;        // key name is FLC or FLCSS (ASCII case-insensitive)
  bool by_image_path = false;  // ImagePath's file name is flcss.exe (see image_path_names_flcss)
};

// A service key that is FunLove evidence.
struct FlcService {
  std::string key_name;     // the key name as stored, e.g. "FLC"
  std::string control_set;  // e.g. "ControlSet001"
  std::uint32_t control_set_number = 0;
  bool in_current_control_set = false;  // the set Select\Current names
  ServiceMatch match;
  ServiceValues values;
  // The key's last-write time (hivex_node_timestamp): when the service was created or last
  // changed (issue 20; infection-model section 7a). nullopt when unreadable or zero.
  std::optional<TimePoint> last_write;
  std::vector<std::string> notes;  // what could not be read in this key
};

// Spooler or ProtectedStorage in one control set (Q317218's 7000 and 7024 events name them).
struct KnownService {
  std::string key_name;                   // "Spooler" / "ProtectedStorage" (as looked up)
  bool present = false;                   // the key exists in this control set
  std::optional<std::string> image_path;  // absent -> nullopt (and a note when present)
  std::optional<std::string> display_name;
  std::vector<std::string> notes;
};

struct ControlSet {
  std::string name;  // "ControlSet001"
  std::uint32_t number = 0;
  bool is_current = false;  // Select\Current
  bool is_default = false;  // Select\Default
  bool is_last_known_good = false;
  bool is_failed = false;
  bool services_key_present = false;
  bool services_listed = false;          // the Services key's subkey list could be read
  std::size_t services_examined = 0;     // service keys looked at (<= kMaxServicesPerControlSet)
  std::vector<FlcService> flc_services;  // in key order
  KnownService spooler;
  KnownService protected_storage;
  // Control\ComputerName\ComputerName, value ComputerName: the NetBIOS name the machine had when
  // this set was written (issue 17: a live report is joined to the installation by it).
  std::optional<std::string> computer_name;
};

// Select's values (absent -> nullopt). A value of 0 means "none" (Failed is usually 0).
struct SelectKey {
  bool present = false;
  std::optional<std::uint32_t> current;
  std::optional<std::uint32_t> default_set;
  std::optional<std::uint32_t> last_known_good;
  std::optional<std::uint32_t> failed;
};

// The base block's two sequence numbers (REGF offsets 0x4 and 0x8). Windows raises the primary
// one before writing the hive and sets the secondary one to match when done; they differ in a hive
// that was not closed cleanly, whose latest changes may still sit in its transaction logs
// (SYSTEM.LOG, SYSTEM.LOG1, SYSTEM.LOG2), which flscan does not apply (issue 12).
struct HiveSequence {
  std::uint32_t primary = 0;
  std::uint32_t secondary = 0;
  [[nodiscard]] bool dirty() const { return primary != secondary; }
};

struct SystemHiveEvidence {
  std::filesystem::path path;
  HiveSequence sequence;
  SelectKey select;
  // Select\Current when it names a ControlSetNNN present in the hive, else nullopt (noted).
  std::optional<std::uint32_t> current_control_set;
  // Numbers of every ControlSetNNN key under the root, ascending (also those beyond the cap).
  std::vector<std::uint32_t> control_sets_present;
  // The control sets read, ascending by number (at most kMaxControlSets).
  std::vector<ControlSet> control_sets;
  bool partial = false;            // something was skipped; `notes` say what
  std::vector<std::string> notes;  // hive-level anomalies and skipped parts
  // The current control set's computer name (nullopt: no current set, or no readable value).
  std::optional<std::string> computer_name;

  // Every FunLove service found, over all control sets read, in control-set order.
  [[nodiscard]] std::vector<const FlcService*> flc_services() const;
  [[nodiscard]] bool has_flc_service() const;
  [[nodiscard]] const ControlSet* current() const;
};

// Reads the local file `path` as an offline SYSTEM hive (…\System32\config\SYSTEM).
//
// What makes it a SYSTEM hive is its content, not its name (issue 12): the root holds a Select key
// and ControlSetNNN keys, and at least one control set read has a Services key whose subkeys could
// be listed. Otherwise it is a HostError that names what was missing and what the root holds
// (an NTUSER.DAT, SAM, SECURITY or SOFTWARE hive copied under the name SYSTEM), with one
// exception: a hive without Select whose control sets hold a FunLove service is returned, partial,
// so that evidence is not lost.
tl::expected<SystemHiveEvidence, HostError> read_system_hive(const std::filesystem::path& path);
// The same for the file `path` of `volume` (volume_fs.h), e.g. inside a disk image: the reader
// works on volume.snapshot(path, cap), so a failure to take it is the HostError.
tl::expected<SystemHiveEvidence, HostError> read_system_hive(const VolumeFs& volume, const std::string& path);

// True when an ImagePath's file name is flcss.exe, ASCII case-insensitively, whatever precedes it:
// "%SystemRoot%\System32\flcss.exe", "\SystemRoot\System32\FLCSS.EXE",
// "\??\C:\WINNT\system32\flcss.exe", "flcss.exe", and the same in double quotes or with trailing
// blanks. "notflcss.exe" does not match: the file name must be exactly flcss.exe (infection-model
// section 6).
bool image_path_names_flcss(std::string_view image_path);

}  // namespace flscan::host
