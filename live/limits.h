// Caps of flscan-live.exe (style guide habit 2): every loop and allocation a Windows API answer
// drives is bounded here, with why the value is enough.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flscan::live::limits {

// Processes enumerated (Windows 2000 handles a few thousand; PIDs are multiples of 4 below 2^32).
inline constexpr std::size_t kMaxProcesses = 65536;
// Services and drivers enumerated (a Windows 2000 machine has about 200).
inline constexpr std::size_t kMaxServices = 16384;
// Bytes asked of EnumServicesStatus(Ex)W in one call (the API's own documented maximum is 256 KiB).
inline constexpr std::uint32_t kServiceEnumBufferBytes = 256 * 1024;
// QueryServiceConfigW's buffer: MSDN gives 8 KiB as the maximum size of QUERY_SERVICE_CONFIG.
inline constexpr std::uint32_t kServiceConfigBytes = 8 * 1024;
// System log records read (the offline reader's limit, scanner/host/limits.h kMaxEventRecords).
inline constexpr std::size_t kMaxEventRecords = 2'000'000;
// Matching records kept in full per evidence kind (live/LIVE_JSON.md: the first 64).
inline constexpr std::size_t kMaxEvidenceRecordsKept = 64;
// Executables checked: every process, every service, the 33 programs and the kernels.
inline constexpr std::size_t kMaxFilesChecked = 20000;
// Files up to this size are read whole; larger ordinary files are streamed in chunks, larger
// kernels (always read whole by the engine) are not checked (no real kernel comes near).
inline constexpr std::uint64_t kMaxWholeFileBytes = 64ull * 1024 * 1024;
// Characters of a path or name asked of an API (NT paths are at most 32767 characters).
inline constexpr std::uint32_t kMaxPathChars = 32768;
// Errors listed per section; the rest are counted in one last entry.
inline constexpr std::size_t kMaxErrorsListed = 256;

}  // namespace flscan::live::limits
