// Offline System event log reader (NT4/2000/XP SysEvent.Evt, EVT format) for the two Q317218
// events (infection-model section 8), read with libevt from a private copy of the log. The rule
// set is engine/event_record.h's, which flscan-live.exe applies to the running machine's log:
//   7024 from "Service Control Manager": ("Protected Storage", "2148270091") -- 0x800C000B,
//        PST_E_DISK_IMAGE_MISMATCH; Q317218 (FunLove) or Q321454 (corrupted store) explain it;
//   7000 from "Service Control Manager": ("Spooler", "%%2") -- error 2, file not found.
// Event identifiers carry severity bits (7024 is stored as 0xC0001B70): the low 16 bits are
// compared. Other 7000/7024 records are counted, never evidence.
//
// Contract: `read_event_log` never throws. A file that is not an EVT log, or that libevt cannot
// open, is a HostError. Records libevt cannot read are skipped with a note (`partial`); records
// libevt recovers from a dirty or damaged log (outside the header's live range) are read too and
// flagged `recovered`. Every loop and string is capped by scanner/host/limits.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "engine/event_record.h"
#include "scanner/host/host_common.h"

namespace flscan::host {

class VolumeFs;

// One event record as stored.
struct EventRecord {
  std::uint32_t record_number = 0;
  std::uint32_t event_identifier = 0;  // all 32 bits, e.g. 0xC0001B70
  std::uint16_t event_code = 0;        // low 16 bits, e.g. 7024
  std::uint16_t event_type = 0;        // 1 error, 2 warning, 4 information, 8/16 audit
  std::uint32_t time_generated = 0;    // POSIX seconds, UTC
  std::uint32_t time_written = 0;
  std::string time_written_utc;  // ISO 8601, e.g. "2002-03-01T00:00:00Z"
  std::string source_name;       // UTF-8 (validated)
  std::string computer_name;
  std::vector<std::string> strings;  // the insertion strings, raw (UTF-8, validated)
  std::int64_t file_offset = -1;     // where libevt found it
  bool recovered = false;            // found by libevt's recovery scan, not in the live range
};

// All records of one evidence kind.
struct EventEvidence {
  std::size_t count = 0;                       // every matching record (also beyond the kept ones)
  std::optional<std::uint32_t> first_written;  // earliest / latest time written (POSIX, UTC)
  std::optional<std::uint32_t> last_written;
  std::string first_written_utc;  // ISO 8601, empty when count == 0
  std::string last_written_utc;
  std::vector<std::uint32_t> record_numbers;  // of the kept records
  std::vector<EventRecord> records;           // at most kMaxEvidenceRecordsKept, by time then number
  [[nodiscard]] bool found() const { return count > 0; }
};

// Header state (EVT file flags, libevt "File flags").
struct EventLogHeader {
  std::uint32_t flags = 0;
  bool dirty = false;    // ELF_LOGFILE_HEADER_DIRTY: not closed cleanly (offsets may be stale)
  bool wrapped = false;  // ELF_LOGFILE_HEADER_WRAP
  bool full = false;     // ELF_LOGFILE_LOGFULL_WRITTEN
  bool archive = false;  // ELF_LOGFILE_ARCHIVE_SET
  std::uint32_t major_version = 0;
  std::uint32_t minor_version = 0;
};

struct EventLogEvidence {
  std::filesystem::path path;
  EventLogHeader header;
  bool corrupted = false;                // libevt_file_is_corrupted
  std::size_t records_total = 0;         // libevt's regular records
  std::size_t recovered_total = 0;       // libevt's recovered records
  std::size_t records_read = 0;          // regular + recovered actually examined (<= kMaxEventRecords)
  std::size_t recovered_duplicates = 0;  // records at an offset already read (not counted again)

  EventEvidence protected_storage_7024;  // SCM 7024, Protected Storage, 2148270091 / 0x800C000B
  EventEvidence spooler_7000;            // SCM 7000, Spooler (or "Print Spooler"), %%2
  std::size_t other_scm_7024 = 0;        // SCM 7024 for another service or another error
  std::size_t other_scm_7000 = 0;        // SCM 7000 for another service or another error
  std::size_t other_records = 0;         // everything else
  // The latest time written of any record read (issue 17: live records after it are what the
  // file lacks); nullopt when no record was read.
  std::string newest_written_utc;  // ISO 8601 (engine/utc_time.h), empty when none

  bool partial = false;
  std::vector<std::string> notes;
};

// Reads the local file `path` as an EVT event log (…\System32\config\SysEvent.Evt).
tl::expected<EventLogEvidence, HostError> read_event_log(const std::filesystem::path& path);
// The same for the file `path` of `volume` (volume_fs.h), e.g. inside a disk image: the reader
// works on volume.snapshot(path, cap), so a failure to take it is the HostError.
tl::expected<EventLogEvidence, HostError> read_event_log(const VolumeFs& volume, const std::string& path);

// The two insertion-string tests, from the shared rule set.
using evt::is_file_not_found_insertion;
using evt::is_pst_disk_image_mismatch;

}  // namespace flscan::host
