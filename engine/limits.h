// Every cap on a loop or allocation that a field of scanned input can drive lives here.
// Style guide habit 2: a crafted file must not be able to make flscan loop or allocate
// without bound. Each constant says what it caps and why its value is enough.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flscan::limits {

// PE parser -----------------------------------------------------------------------------
// The PE format allows 65535 sections; the Windows loader refuses more than 96.
inline constexpr std::size_t kMaxPeSections = 96;
// e_lfanew beyond this is not a PE any loader accepts (Windows caps the header near 256 MiB,
// real files keep it under 4 KiB); we stop looking for a PE header past 16 MiB.
inline constexpr std::uint32_t kMaxLfanew = 16u * 1024 * 1024;
// Anomalies recorded per file: beyond this the parser notes "more anomalies" and stops listing.
inline constexpr std::size_t kMaxAnomalies = 32;

// Signature matching ---------------------------------------------------------------------
// Backtracking steps one pattern may spend on one start position before the match is abandoned
// (and recorded as a cap hit). Bounds `*` and `{n-m}` jumps against crafted input.
inline constexpr std::uint64_t kMaxMatchStepsPerStart = 1u << 16;
// Start positions one unanchored (`*`) pattern may try in one file.
inline constexpr std::uint64_t kMaxMatchStartsPerPattern = 1u << 26;
// Longest fixed-length piece (between `*` jumps) of a pattern matched on a streamed file: a
// stream carries this many bytes from one chunk to the next. Longer pieces make the set
// non-streamable, and files above the streaming threshold are then read whole.
inline constexpr std::uint64_t kMaxStreamSegment = 64 * 1024;
// The multi-literal prefilter (engine/sig/literal_index.h, issue 19). A window's unanchored
// searches find their anchor literals in one pass of the index when at least this many of them
// have one of 4 bytes or more; fewer search alone with memmem, whose vectorised skip loop beats a
// position-by-position pass for a handful of literals: measured on 875 MB of PE files, 6 literals
// took 1.56 s of CPU with memmem and 1.67 s with the index, 8 took 1.67 s either way
// (bench/results/ndb_rules.md).
inline constexpr std::size_t kLiteralIndexMinSearches = 8;
// Its two bitmaps (one bit per value of a literal's bytes 0-1, and of bytes 2-3): 8 KiB each.
inline constexpr std::size_t kLiteralIndexBitmapBytes = 65536 / 8;
// Its hash table on a literal's first 4 bytes starts at 2^kLiteralIndexMinBucketBits buckets and
// doubles to keep at most one key per two buckets; a bucket holds at most kLiteralIndexBucketKeys
// keys (a chain of 16 is 1e-17 likely for natural literals; crafted colliding ones are refused
// by the index and their patterns search alone, so no lookup walks more than 16 keys).
inline constexpr unsigned kLiteralIndexMinBucketBits = 6;
inline constexpr std::size_t kLiteralIndexBucketKeys = 16;
// Most literals one index takes (more search alone); its 32-bit indices stay far from overflow.
inline constexpr std::size_t kLiteralIndexMaxLiterals = std::size_t{1} << 24;
// Signature text: longest line and most lines accepted from one database file.
inline constexpr std::size_t kMaxSignatureLineLength = 64 * 1024;
inline constexpr std::size_t kMaxSignaturesPerFile = 4'000'000;
// Largest database file read; 4,000,000 .hsb lines are about 380 MB.
inline constexpr std::uint64_t kMaxSignatureFileBytes = 512ull * 1024 * 1024;
// Memory budget of a loaded .ndb (issue 13 item 10): the body signatures of one database file may
// take at most this many bytes per byte of its text, plus kSignatureMemoryAllowance, or the file
// is refused at the line that goes over. Charged per parsed signature and per piece it is cut into
// for streaming (each piece between `*` jumps is a compiled pattern of its own, a few hundred
// bytes however short its text), not per byte of text: text alone did not bound memory, since a
// line of 2-byte pieces joined by `*` took 69 bytes per byte. A typical .ndb is charged about 12
// per byte (short lines, with their fixed per-signature cost, up to about 25). ClamAV's own limit
// on pieces is far above what a line can hold (cli_ac_addsig in libclamav matcher-ac.c numbers a
// signature's parts in a uint16_t: 65535; a 64 KiB line holds at most 13,107 `*` pieces), so
// the budget, not a count of pieces, is what refuses a database, and only one far denser in
// pieces than real ones.
inline constexpr std::uint64_t kSignatureMemoryPerTextByte = 32;
inline constexpr std::uint64_t kSignatureMemoryAllowance = 128ull * 1024 * 1024;
// Largest `{n}` jump and largest alternation a pattern may use.
inline constexpr std::uint32_t kMaxPatternJump = 64u * 1024 * 1024;
inline constexpr std::size_t kMaxAlternatives = 256;

// FunLove detector -------------------------------------------------------------------------
// How far past the model's padding bound the detector looks for a displaced body: none. The body
// position is fixed by geometry (infection-model section 2), so the detector reads at most a few
// fixed windows and never loops over file contents except the kernel/loader byte searches below.
// Largest file searched byte-by-byte for the NTLDR/ntoskrnl patch patterns (real files: < 6 MiB).
inline constexpr std::size_t kMaxKernelSearchBytes = 64u * 1024 * 1024;
// Patched-looking SeAccessCheck sequences before the first intact original that are each undone
// and checksummed (infection-model section 7; one search of the file each). A real kernel holds
// one or two; more leave the patch unconfirmed, never confirmed.
inline constexpr std::size_t kMaxKernelPatchCandidates = 16;

// Scanner ----------------------------------------------------------------------------------
// Bytes read first from every regular file to recognise it by content. One page: recognising MZ
// needs two bytes, and most files on a drive are not PE, so a larger first read only costs I/O.
inline constexpr std::size_t kSniffBytes = 4 * 1024;
// Default --max-filesize: larger files are reported as not scanned (never as clean). A cap on
// time, not memory: files above --stream-above stream in fixed chunks.
inline constexpr std::uint64_t kDefaultMaxFileSize = 4ull * 1024 * 1024 * 1024;
// Largest file read whole into memory, for the files that cannot stream (kernel and loader files,
// whose patch search and checksum read every byte; any file when a loaded signature has a
// variable-length piece). Larger ones are reported as not scanned (too-large).
inline constexpr std::uint64_t kMaxWholeRead = 256ull * 1024 * 1024;
// Default --stream-above: files up to this size are read whole in one read (per worker buffer);
// larger ones stream in chunks of StreamSettings::chunk_bytes, so a worker's memory stays under
// this plus one chunk whatever the file's size.
inline constexpr std::uint64_t kDefaultStreamAbove = 8ull * 1024 * 1024;
// Directory depth the walker descends before reporting the directory as not scanned.
inline constexpr std::size_t kMaxDirectoryDepth = 4096;
// Directory descriptors the walker keeps open while idle (scanner/walk/dir_handle.h): past this the
// least recently used is closed and re-opened from its nearest open ancestor when needed again.
// Lowered to a quarter of RLIMIT_NOFILE's soft limit when that is smaller, never below the minimum.
inline constexpr std::size_t kMaxOpenDirectories = 256;
inline constexpr std::size_t kMinOpenDirectories = 8;
// Bytes of directory records read per getdents64 call while listing a directory.
inline constexpr std::size_t kDirectoryReadBytes = 32 * 1024;
// --read-order disk (scanner/walk/read_order.h, issue 19): regular files of one directory held at
// once to be sorted by their first physical byte; a larger directory is read in consecutive
// batches of this many (each in disk order), so a directory of millions of names costs bounded memory.
inline constexpr std::size_t kMaxReadOrderBatch = 65536;
// File systems (st_dev) remembered as answering FIEMAP with EOPNOTSUPP/ENOTTY, so their files are
// not asked again; past this many, such a file system's files are asked (one failed ioctl each).
inline constexpr std::size_t kMaxNoFiemapDevices = 64;
// Bytes read of one sysfs attribute (queue/rotational, uevent) by --read-order auto.
inline constexpr std::size_t kSysfsReadBytes = 256;

// Event log records (engine/event_record.h: one EVENTLOGRECORD, as ReadEventLogW returns it and as
// SysEvent.Evt stores it) ---------------------------------------------------------------------
// Largest record parsed: ReadEventLogW's buffer is at most 0x7FFFF bytes (MAX_SIZE of the API),
// which also bounds one record of an .evt file.
inline constexpr std::uint32_t kMaxEventRecordBytes = 0x7FFFF;
// Insertion strings kept per record (the two Q317218 events carry 2; a record claims up to 65535).
inline constexpr std::size_t kMaxEventRecordStrings = 32;
// Code points kept of one string (source, computer or insertion string); longer ones are cut.
inline constexpr std::size_t kMaxEventRecordStringChars = 2048;

}  // namespace flscan::limits
