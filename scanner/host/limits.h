// Every cap on a loop or allocation that a field of a SYSTEM hive or an EVT log can drive.
// Style guide habit 2: a crafted hive or log must not make flscan loop or allocate without bound.
// hivex and libevt have caps of their own (hivex: 25000 subkeys and 110000 values per key, 8 MB
// per value); these are ours, smaller, and they also bound the work summed over a whole file.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flscan::host::limits {

// Files ------------------------------------------------------------------------------------
// Largest SYSTEM hive read. NT4/2000/XP SYSTEM hives are 2-16 MiB; current Windows ones reach
// tens of MiB. The hive is copied into memory (see system_hive.cpp), so this bounds memory too.
inline constexpr std::uint64_t kMaxHiveFileBytes = 256ull * 1024 * 1024;
// Largest EVT log read. The NT4/2000/XP default is 512 KiB; the UI allows up to 4 GiB but the
// service keeps the whole log mapped, so real ones stay far below this.
inline constexpr std::uint64_t kMaxEventLogFileBytes = 256ull * 1024 * 1024;

// SYSTEM hive ------------------------------------------------------------------------------
// Keys under the root examined for Select and ControlSetNNN (a real SYSTEM root has ~10).
inline constexpr std::size_t kMaxRootKeysExamined = 4096;
// Root key names quoted in a "not a SYSTEM hive" reason (the rest are counted): enough to tell an
// NTUSER.DAT (AppEvents, Console, ...) from a SAM or SECURITY hive, short enough for one line.
inline constexpr std::size_t kMaxRootNamesQuoted = 8;
// ControlSetNNN keys read. Windows keeps 2-4 (current, last known good, failed); the sets named
// by Select are always read first, then the rest in ascending order up to this cap.
inline constexpr std::size_t kMaxControlSets = 16;
// Keys examined under one ControlSetNNN (Control, Enum, Hardware Profiles, Services, ...).
inline constexpr std::size_t kMaxControlSetChildren = 256;
// Keys examined under ControlSetNNN\Control for ComputerName (NT4 ~60, XP ~100).
inline constexpr std::size_t kMaxControlKeyChildren = 1024;
// Keys examined under Control\ComputerName for ComputerName (real ones: ComputerName, ActiveComputerName).
inline constexpr std::size_t kMaxComputerNameKeyChildren = 16;
// Service keys examined per control set (NT4 ~150, XP ~350, Windows 10 ~700).
inline constexpr std::size_t kMaxServicesPerControlSet = 8192;
// A service key declaring more values than this is not read (real ones have ~10).
inline constexpr std::size_t kMaxValuesPerKey = 512;
// Value names examined over the whole hive: bounds the total work of a hive made of many keys
// that each stay under the per-key caps.
inline constexpr std::size_t kMaxValuesExaminedPerHive = 1u << 20;
// Largest value data read (ImagePath is at most a few hundred bytes; MAX_PATH UTF-16 is 520).
// Staying far below 16344 also means no "big data" (db) value is ever read.
inline constexpr std::size_t kMaxValueBytes = 8 * 1024;
// Characters kept of any decoded string (longer ones are cut and the cut is noted).
inline constexpr std::size_t kMaxStringChars = 2048;

// EVT log ----------------------------------------------------------------------------------
// Records read (libevt's regular plus recovered records together). A 4 GiB log of minimal
// records would hold ~50 million; a 256 MiB log of SCM records ~1.5 million.
inline constexpr std::size_t kMaxEventRecords = 2'000'000;
// Strings read per record (SCM records have 1-3; the field is 16 bits).
inline constexpr int kMaxEventStringsPerRecord = 32;
// UTF-8 bytes read per string or name, terminator included; longer ones are not read.
inline constexpr std::size_t kMaxEventStringBytes = 4096;
// Evidence records kept in full per kind; further ones are only counted and timed.
inline constexpr std::size_t kMaxEvidenceRecordsKept = 256;

// Live report (flscan --live-report, live/LIVE_JSON.md) ------------------------------------
// Largest flscan-live document read. A real one holds a few flcss entries, two evidence lists of
// at most 64 records and a few hundred checked files: tens of KiB. The text is kept whole (the
// JSON report carries it for flscan merge), so this bounds memory too.
inline constexpr std::uint64_t kMaxLiveReportBytes = 16ull * 1024 * 1024;
// Nesting of the document: the contract's deepest value is 5 levels down
// (files.checked[i].findings[j].<field>); anything deeper is no flscan-live document.
inline constexpr int kMaxLiveReportDepth = 16;
// Entries of processes.flcss and services.flcss (a machine runs a handful at most).
inline constexpr std::size_t kMaxLiveFlcssEntries = 1024;
// Records per evidence list: the contract keeps at most the first 64.
inline constexpr std::size_t kMaxLiveEvidenceRecords = 64;
// Files in files.checked (every running process, every service and the 36 system files).
inline constexpr std::size_t kMaxLiveCheckedFiles = 65536;
// Findings per checked file.
inline constexpr std::size_t kMaxLiveFindingsPerFile = 256;
// Strings in one `errors` list, one `why` list or one record's `strings`.
inline constexpr std::size_t kMaxLiveListStrings = 4096;
// UTF-8 bytes of any one string of the document.
inline constexpr std::size_t kMaxLiveStringBytes = 32 * 1024;

// Both readers -----------------------------------------------------------------------------
// Notes (anomalies, skipped parts) kept per file; further ones are counted in a last note.
inline constexpr std::size_t kMaxNotes = 64;

}  // namespace flscan::host::limits
