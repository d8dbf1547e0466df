// flscan-live.exe: reads the running Windows machine for the Q317218 rows only it shows (issue 17)
// and writes live/LIVE_JSON.md's document. Read-only: no write access is asked of any file, key,
// service or process; the one file written is the --json FILE the user names.
//
// Windows NT 4.0 / 2000 / XP and later: the program imports only what Windows 2000 exports (the
// import_table test checks every import of both builds); newer or optional APIs are looked up
// with GetProcAddress and have a fallback:
//   CreateToolhelp32Snapshot/Process32FirstW/Process32NextW (kernel32, Windows 2000; absent on NT4)
//     -> EnumProcesses/GetModuleFileNameExW (psapi.dll, loaded at run time: NT4 with the SDK's psapi)
//   QueryFullProcessImageNameW (kernel32, Vista) -> GetModuleFileNameExW (psapi.dll)
//   EnumServicesStatusExW (advapi32, Windows 2000) -> EnumServicesStatusW (NT 3.1; no PIDs)
#include <windows.h>
#include <tlhelp32.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/event_record.h"
#include "engine/funlove.h"
#include "engine/limits.h"
#include "engine/q317218.h"
#include "engine/scan.h"
#include "engine/sig/signature_set.h"
#include "engine/unicode.h"
#include "engine/utc_time.h"
#include "live/image_path.h"
#include "live/json_writer.h"
#include "live/limits.h"

#ifndef FLSCAN_VERSION
#error "FLSCAN_VERSION is set by live/CMakeLists.txt"
#endif

namespace flscan::live {
namespace {

#if defined(_WIN64)
constexpr const char* kArchitecture = "x86_64";
#else
constexpr const char* kArchitecture = "i686";
#endif

// ---- text ------------------------------------------------------------------------------------

// UTF-16 (wchar_t is 16 bits on Windows) -> UTF-8, unpaired surrogates as U+FFFD (LIVE_JSON.md).
std::string utf8(std::wstring_view wide) {
  return unicode::decode_utf16le(ByteView(reinterpret_cast<const std::uint8_t*>(wide.data()), wide.size() * 2),
                                 limits::kMaxPathChars, unicode::AtNul::keep)
      .text;
}

// "error 5 (Access is denied.)" for a Windows error code.
std::string error_text(DWORD code) {
  wchar_t* message = nullptr;
  const DWORD n =
      FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                     nullptr, code, 0, reinterpret_cast<wchar_t*>(&message), 0, nullptr);
  std::wstring text = n > 0 && message != nullptr ? std::wstring(message, n) : std::wstring();
  if (message != nullptr) LocalFree(message);
  while (!text.empty() && (text.back() == L'\r' || text.back() == L'\n' || text.back() == L' ')) text.pop_back();
  std::string out = "error " + std::to_string(code);
  if (!text.empty()) out += " (" + utf8(text) + ")";
  return out;
}

std::string call_failed(const std::string& call) { return call + ": " + error_text(GetLastError()); }

std::string iso_time(const SYSTEMTIME& t) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04u-%02u-%02uT%02u:%02u:%02uZ", t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute,
                t.wSecond);
  return buf;
}

// ---- sections --------------------------------------------------------------------------------

enum class Status { ok, partial, error, unavailable };

const char* status_code(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::partial:
      return "partial";
    case Status::error:
      return "error";
    case Status::unavailable:
      return "unavailable";
  }
  return "error";
}

struct Section {
  Status status = Status::ok;
  std::vector<std::string> errors;
  std::size_t errors_dropped = 0;
  void error(std::string text) {
    if (status == Status::ok) status = Status::partial;
    if (errors.size() < limits::kMaxErrorsListed) {
      errors.push_back(std::move(text));
    } else {
      ++errors_dropped;
    }
  }
  void write(JsonWriter& json) const {
    json.key("status").string(status_code(status));
    json.key("errors").begin_array();
    for (const auto& e : errors) json.string(e);
    if (errors_dropped > 0) json.string(std::to_string(errors_dropped) + " more errors not listed");
    json.end_array();
  }
};

// A handle closed once.
struct HandleCloser {
  void operator()(HANDLE h) const {
    if (h != nullptr && h != INVALID_HANDLE_VALUE) CloseHandle(h);
  }
};
using Handle = std::unique_ptr<void, HandleCloser>;

struct ScHandleCloser {
  void operator()(SC_HANDLE h) const {
    if (h != nullptr) CloseServiceHandle(h);
  }
};
using ScHandle = std::unique_ptr<std::remove_pointer_t<SC_HANDLE>, ScHandleCloser>;

template <typename Fn>
Fn kernel32_function(const char* name) {
  return reinterpret_cast<Fn>(reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"kernel32.dll"), name)));
}

// psapi.dll: loaded once, on demand, never freed (its functions may be used until exit).
struct Psapi {
  using EnumProcessesFn = BOOL(WINAPI*)(DWORD*, DWORD, DWORD*);
  using GetModuleFileNameExWFn = DWORD(WINAPI*)(HANDLE, HMODULE, LPWSTR, DWORD);
  EnumProcessesFn enum_processes = nullptr;
  GetModuleFileNameExWFn module_file_name = nullptr;
  static const Psapi& get() {
    static const Psapi psapi = [] {
      Psapi p;
      if (HMODULE dll = LoadLibraryW(L"psapi.dll")) {
        p.enum_processes =
            reinterpret_cast<EnumProcessesFn>(reinterpret_cast<void*>(GetProcAddress(dll, "EnumProcesses")));
        p.module_file_name = reinterpret_cast<GetModuleFileNameExWFn>(
            reinterpret_cast<void*>(GetProcAddress(dll, "GetModuleFileNameExW")));
      }
      return p;
    }();
    return psapi;
  }
};

// ---- machine ---------------------------------------------------------------------------------

struct Machine {
  std::optional<std::wstring> computer_name;
  std::optional<std::wstring> windows_directory;
  std::optional<std::wstring> system_directory;
  std::optional<OSVERSIONINFOW> version;
};

std::optional<std::wstring> directory(UINT(WINAPI* fn)(LPWSTR, UINT)) {
  std::vector<wchar_t> buf(MAX_PATH + 1);
  UINT n = fn(buf.data(), static_cast<UINT>(buf.size()));
  if (n >= buf.size() && n < limits::kMaxPathChars) {
    buf.resize(n + 1);
    n = fn(buf.data(), static_cast<UINT>(buf.size()));
  }
  if (n == 0 || n >= buf.size()) return std::nullopt;
  return std::wstring(buf.data(), n);
}

Machine read_machine() {
  Machine m;
  wchar_t name[MAX_COMPUTERNAME_LENGTH + 1] = {};
  DWORD size = MAX_COMPUTERNAME_LENGTH + 1;
  if (GetComputerNameW(name, &size)) m.computer_name = std::wstring(name, size);
  m.windows_directory = directory(GetWindowsDirectoryW);
  m.system_directory = directory(GetSystemDirectoryW);
  OSVERSIONINFOW v{};
  v.dwOSVersionInfoSize = sizeof v;
  if (GetVersionExW(&v)) m.version = v;
  return m;
}

// ---- processes -------------------------------------------------------------------------------

struct Process {
  DWORD pid = 0;
  std::optional<DWORD> parent_pid;
  std::wstring image_name;
  std::optional<std::wstring> path;
};

struct Processes {
  Section section;
  std::string method;
  std::vector<Process> all;
};

bool is_flcss_name(std::wstring_view path_or_name) { return iequals_wide(base_name(path_or_name), L"flcss.exe"); }

// The full path of a process's executable; nothing (and an error) when it cannot be read.
std::optional<std::wstring> process_path(DWORD pid, const std::wstring& windows_dir, Section& section) {
  using QueryFullFn = BOOL(WINAPI*)(HANDLE, DWORD, LPWSTR, PDWORD);
  static const auto query_full = kernel32_function<QueryFullFn>("QueryFullProcessImageNameW");
  constexpr DWORD kQueryLimitedInformation = 0x1000;  // PROCESS_QUERY_LIMITED_INFORMATION (Vista)
  std::vector<wchar_t> buf(limits::kMaxPathChars);
  if (query_full != nullptr) {
    Handle h(OpenProcess(kQueryLimitedInformation, FALSE, pid));
    if (!h) {
      section.error(call_failed("OpenProcess(pid " + std::to_string(pid) + ")"));
      return std::nullopt;
    }
    DWORD size = static_cast<DWORD>(buf.size());
    if (!query_full(h.get(), 0, buf.data(), &size)) {
      section.error(call_failed("QueryFullProcessImageNameW(pid " + std::to_string(pid) + ")"));
      return std::nullopt;
    }
    return std::wstring(buf.data(), size);
  }
  const Psapi& psapi = Psapi::get();
  if (psapi.module_file_name == nullptr) {
    section.error("GetModuleFileNameExW(pid " + std::to_string(pid) + "): psapi.dll unavailable");
    return std::nullopt;
  }
  Handle h(OpenProcess(PROCESS_QUERY_INFORMATION | PROCESS_VM_READ, FALSE, pid));
  if (!h) {
    section.error(call_failed("OpenProcess(pid " + std::to_string(pid) + ")"));
    return std::nullopt;
  }
  const DWORD n = psapi.module_file_name(h.get(), nullptr, buf.data(), static_cast<DWORD>(buf.size()));
  if (n == 0) {
    section.error(call_failed("GetModuleFileNameExW(pid " + std::to_string(pid) + ")"));
    return std::nullopt;
  }
  return resolve_windows_path(std::wstring_view(buf.data(), n), windows_dir);
}

// The idle process and the kernel's System process have no executable file.
bool has_no_image(const Process& p) { return p.pid == 0 || (iequals_wide(p.image_name, L"System") && p.pid <= 8); }

Processes read_processes(const std::wstring& windows_dir) {
  Processes out;
  using SnapshotFn = HANDLE(WINAPI*)(DWORD, DWORD);
  using WalkFn = BOOL(WINAPI*)(HANDLE, LPPROCESSENTRY32W);
  const auto snapshot = kernel32_function<SnapshotFn>("CreateToolhelp32Snapshot");
  const auto first = kernel32_function<WalkFn>("Process32FirstW");
  const auto next = kernel32_function<WalkFn>("Process32NextW");
  if (snapshot != nullptr && first != nullptr && next != nullptr) {
    out.method = "toolhelp32";
    Handle snap(snapshot(TH32CS_SNAPPROCESS, 0));
    if (!snap || snap.get() == INVALID_HANDLE_VALUE) {
      snap.release();
      out.section.error(call_failed("CreateToolhelp32Snapshot"));
      out.section.status = Status::error;
      return out;
    }
    PROCESSENTRY32W entry{};
    entry.dwSize = sizeof entry;
    for (BOOL more = first(snap.get(), &entry); more; more = next(snap.get(), &entry)) {
      if (out.all.size() == limits::kMaxProcesses) {
        out.section.error("more than " + std::to_string(limits::kMaxProcesses) + " processes; the rest not read");
        break;
      }
      Process p;
      p.pid = entry.th32ProcessID;
      p.parent_pid = entry.th32ParentProcessID;
      p.image_name.assign(entry.szExeFile, wcsnlen(entry.szExeFile, MAX_PATH));
      out.all.push_back(std::move(p));
    }
  } else {
    const Psapi& psapi = Psapi::get();
    out.method = "psapi";
    if (psapi.enum_processes == nullptr) {
      out.section.status = Status::unavailable;
      out.section.errors.push_back("neither CreateToolhelp32Snapshot (kernel32) nor EnumProcesses (psapi.dll) exists");
      return out;
    }
    std::vector<DWORD> pids(1024);
    for (;;) {
      DWORD bytes = 0;
      if (!psapi.enum_processes(pids.data(), static_cast<DWORD>(pids.size() * sizeof(DWORD)), &bytes)) {
        out.section.error(call_failed("EnumProcesses"));
        out.section.status = Status::error;
        return out;
      }
      const std::size_t n = bytes / sizeof(DWORD);
      if (n < pids.size() || pids.size() >= limits::kMaxProcesses) {
        pids.resize(std::min(n, limits::kMaxProcesses));
        break;
      }
      pids.resize(std::min(pids.size() * 2, limits::kMaxProcesses));
    }
    for (DWORD pid : pids) {
      Process p;
      p.pid = pid;
      if (pid != 0) p.path = process_path(pid, windows_dir, out.section);
      p.image_name = p.path ? std::wstring(base_name(*p.path)) : std::wstring(pid == 0 ? L"[System Process]" : L"");
      out.all.push_back(std::move(p));
    }
    return out;
  }
  for (Process& p : out.all) {
    if (!has_no_image(p)) p.path = process_path(p.pid, windows_dir, out.section);
  }
  return out;
}

// ---- services --------------------------------------------------------------------------------

struct Service {
  std::wstring name;
  std::wstring display_name;
  DWORD state = 0;
  std::optional<DWORD> pid;
  std::optional<DWORD> start_type;
  std::optional<std::wstring> binary_path;
  std::optional<std::wstring> account;
  std::optional<std::string> config_error;
};

struct Services {
  Section section;
  std::vector<Service> all;
};

const char* state_code(DWORD state) {
  switch (state) {
    case SERVICE_STOPPED:
      return "stopped";
    case SERVICE_START_PENDING:
      return "start-pending";
    case SERVICE_STOP_PENDING:
      return "stop-pending";
    case SERVICE_RUNNING:
      return "running";
    case SERVICE_CONTINUE_PENDING:
      return "continue-pending";
    case SERVICE_PAUSE_PENDING:
      return "pause-pending";
    case SERVICE_PAUSED:
      return "paused";
    default:
      return "unknown";
  }
}

const char* start_type_code(std::optional<DWORD> type) {
  if (!type) return "unknown";
  switch (*type) {
    case SERVICE_BOOT_START:
      return "boot";
    case SERVICE_SYSTEM_START:
      return "system";
    case SERVICE_AUTO_START:
      return "auto";
    case SERVICE_DEMAND_START:
      return "demand";
    case SERVICE_DISABLED:
      return "disabled";
    default:
      return "unknown";
  }
}

std::wstring wide_or_empty(const wchar_t* text) { return text != nullptr ? std::wstring(text) : std::wstring(); }

// Every service through EnumServicesStatusExW (PIDs) or, before Windows 2000, EnumServicesStatusW.
bool enumerate_services(SC_HANDLE scm, Services& out) {
  using EnumExFn =
      BOOL(WINAPI*)(SC_HANDLE, SC_ENUM_TYPE, DWORD, DWORD, LPBYTE, DWORD, LPDWORD, LPDWORD, LPDWORD, LPCWSTR);
  static const auto enum_ex = reinterpret_cast<EnumExFn>(
      reinterpret_cast<void*>(GetProcAddress(GetModuleHandleW(L"advapi32.dll"), "EnumServicesStatusExW")));
  std::vector<BYTE> buf(limits::kServiceEnumBufferBytes);
  DWORD resume = 0;
  for (;;) {
    DWORD needed = 0;
    DWORD count = 0;
    BOOL ok = FALSE;
    if (enum_ex != nullptr) {
      ok = enum_ex(scm, SC_ENUM_PROCESS_INFO, SERVICE_WIN32 | SERVICE_DRIVER, SERVICE_STATE_ALL, buf.data(),
                   static_cast<DWORD>(buf.size()), &needed, &count, &resume, nullptr);
    } else {
      ok = EnumServicesStatusW(scm, SERVICE_WIN32 | SERVICE_DRIVER, SERVICE_STATE_ALL,
                               reinterpret_cast<LPENUM_SERVICE_STATUSW>(buf.data()), static_cast<DWORD>(buf.size()),
                               &needed, &count, &resume);
    }
    const DWORD error = ok ? ERROR_SUCCESS : GetLastError();
    if (!ok && error != ERROR_MORE_DATA) {
      out.section.error(std::string(enum_ex != nullptr ? "EnumServicesStatusExW" : "EnumServicesStatusW") + ": " +
                        error_text(error));
      return false;
    }
    for (DWORD i = 0; i < count; ++i) {
      if (out.all.size() == limits::kMaxServices) {
        out.section.error("more than " + std::to_string(limits::kMaxServices) + " services; the rest not read");
        return true;
      }
      Service s;
      if (enum_ex != nullptr) {
        const auto& e = reinterpret_cast<const ENUM_SERVICE_STATUS_PROCESSW*>(buf.data())[i];
        s.name = wide_or_empty(e.lpServiceName);
        s.display_name = wide_or_empty(e.lpDisplayName);
        s.state = e.ServiceStatusProcess.dwCurrentState;
        if (e.ServiceStatusProcess.dwProcessId != 0) s.pid = e.ServiceStatusProcess.dwProcessId;
      } else {
        const auto& e = reinterpret_cast<const ENUM_SERVICE_STATUSW*>(buf.data())[i];
        s.name = wide_or_empty(e.lpServiceName);
        s.display_name = wide_or_empty(e.lpDisplayName);
        s.state = e.ServiceStatus.dwCurrentState;
      }
      out.all.push_back(std::move(s));
    }
    if (ok) return true;
    // A call that returned nothing while asking for more would loop for ever: stop, and say so.
    if (count == 0) {
      out.section.error("EnumServicesStatus: more services announced but none returned; the rest not read");
      return true;
    }
  }
}

void read_config(SC_HANDLE scm, Service& s) {
  ScHandle service(OpenServiceW(scm, s.name.c_str(), SERVICE_QUERY_CONFIG));
  if (!service) {
    s.config_error = call_failed("OpenServiceW(" + utf8(s.name) + ")");
    return;
  }
  std::vector<BYTE> buf(limits::kServiceConfigBytes);
  DWORD needed = 0;
  auto* config = reinterpret_cast<QUERY_SERVICE_CONFIGW*>(buf.data());
  if (!QueryServiceConfigW(service.get(), config, static_cast<DWORD>(buf.size()), &needed)) {
    s.config_error = call_failed("QueryServiceConfigW(" + utf8(s.name) + ")");
    return;
  }
  s.start_type = config->dwStartType;
  if (config->lpBinaryPathName != nullptr) s.binary_path = std::wstring(config->lpBinaryPathName);
  if (config->lpServiceStartName != nullptr) s.account = std::wstring(config->lpServiceStartName);
}

Services read_services() {
  Services out;
  ScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE));
  if (!scm) {
    out.section.error(call_failed("OpenSCManagerW"));
    out.section.status = Status::error;
    return out;
  }
  if (!enumerate_services(scm.get(), out) && out.all.empty()) {
    out.section.status = Status::error;
    return out;
  }
  for (Service& s : out.all) {
    read_config(scm.get(), s);
    if (s.config_error) out.section.error(*s.config_error);
  }
  return out;
}

bool is_flcss_service(const Service& s, const std::wstring& windows_dir) {
  if (iequals_wide(s.name, L"FLC") || iequals_wide(s.name, L"FLCSS")) return true;
  return s.binary_path && is_flcss_name(service_executable(*s.binary_path, windows_dir));
}

// ---- event log -------------------------------------------------------------------------------

struct Evidence {
  std::size_t count = 0;
  std::optional<std::uint32_t> first_written;
  std::optional<std::uint32_t> last_written;
  std::vector<evt::Record> records;
  void add(evt::Record r) {
    ++count;
    if (!first_written || r.time_written < *first_written) first_written = r.time_written;
    if (!last_written || r.time_written > *last_written) last_written = r.time_written;
    if (records.size() < limits::kMaxEvidenceRecordsKept) records.push_back(std::move(r));
  }
};

struct EventLog {
  Section section;
  std::size_t records_read = 0;
  Evidence protected_storage_7024;
  Evidence spooler_7000;
};

EventLog read_event_log() {
  EventLog out;
  HANDLE log = OpenEventLogW(nullptr, L"System");
  if (log == nullptr) {
    out.section.error(call_failed("OpenEventLogW(System)"));
    out.section.status = Status::error;
    return out;
  }
  std::vector<std::uint8_t> buf(64 * 1024);
  for (;;) {
    DWORD read = 0;
    DWORD needed = 0;
    if (!ReadEventLogW(log, EVENTLOG_SEQUENTIAL_READ | EVENTLOG_FORWARDS_READ, 0, buf.data(),
                       static_cast<DWORD>(buf.size()), &read, &needed)) {
      const DWORD error = GetLastError();
      if (error == ERROR_HANDLE_EOF) break;
      if (error == ERROR_INSUFFICIENT_BUFFER && needed > buf.size() && needed <= flscan::limits::kMaxEventRecordBytes) {
        buf.resize(needed);
        continue;
      }
      out.section.error("ReadEventLogW(System): " + error_text(error));
      if (out.records_read == 0) out.section.status = Status::error;
      break;
    }
    // The buffer holds whole records one after another; each is parsed within what was read.
    const ByteView chunk(buf.data(), std::min<std::size_t>(read, buf.size()));
    std::uint64_t at = 0;
    bool stop = false;
    while (at < chunk.size()) {
      if (out.records_read == limits::kMaxEventRecords) {
        out.section.error("more than " + std::to_string(limits::kMaxEventRecords) + " records; the rest not read");
        stop = true;
        break;
      }
      auto record = evt::parse_record(chunk.clip(at, chunk.size() - at));
      if (!record) {
        out.section.error("ReadEventLogW(System): record at byte " + std::to_string(at) +
                          " of a read: " + record.error());
        break;  // the rest of this read cannot be located
      }
      ++out.records_read;
      at += record->length;
      switch (evt::classify(record->event_code(), record->source_name, record->strings)) {
        case evt::Kind::protected_storage_7024:
          out.protected_storage_7024.add(std::move(*record));
          break;
        case evt::Kind::spooler_7000:
          out.spooler_7000.add(std::move(*record));
          break;
        default:
          break;
      }
    }
    if (stop || read == 0) break;
  }
  CloseEventLog(log);
  return out;
}

// ---- files -----------------------------------------------------------------------------------

struct FileToCheck {
  std::wstring path;
  std::set<std::string> why;
};

struct CheckedFile {
  std::wstring path;
  std::set<std::string> why;
  std::optional<std::uint64_t> size;
  std::optional<std::string> sha256;
  std::optional<std::string> sha256_error;
  std::optional<FileVerdict> verdict;
  std::optional<std::string> error;
  bool absent = false;  // a Q317218 program or kernel this Windows does not have
};

// Positioned reads through ReadFile with an OVERLAPPED offset (synchronous handle: NT 3.1 on).
class HandleSource final : public ByteSource {
 public:
  explicit HandleSource(HANDLE h) : h_(h) {}
  bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) override {
    while (length > 0) {
      OVERLAPPED at{};
      at.Offset = static_cast<DWORD>(offset);
      at.OffsetHigh = static_cast<DWORD>(offset >> 32);
      const DWORD want = static_cast<DWORD>(std::min<std::size_t>(length, 1u << 20));
      DWORD got = 0;
      if (!ReadFile(h_, out, want, &got, &at)) {
        error_ = call_failed("ReadFile");
        return false;
      }
      if (got == 0) {
        error_ = "ReadFile: the file ended early (changed while read)";
        return false;
      }
      offset += got;
      out += got;
      length -= got;
    }
    return true;
  }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  HANDLE h_;
  std::string error_;
};

CheckedFile check_file(const FileToCheck& file, FileScanner& scanner) {
  CheckedFile out;
  out.path = file.path;
  out.why = file.why;
  // Read-only, shared with every other opener (writers and deleters included): the running
  // system keeps working while a file is read; nothing is asked that could change it.
  Handle h(CreateFileW(file.path.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                       OPEN_EXISTING, FILE_FLAG_SEQUENTIAL_SCAN, nullptr));
  if (h.get() == INVALID_HANDLE_VALUE) {
    h.release();
    const DWORD error = GetLastError();
    const bool optional = !file.why.count("process") && !file.why.count("service") &&
                          !file.why.count("flcss-process") && !file.why.count("flcss-service");
    out.absent = optional && (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND);
    out.error = "CreateFileW: " + error_text(error);
    return out;
  }
  if (GetFileType(h.get()) != FILE_TYPE_DISK) {
    out.error = "not a file on disk (device or pipe): not read";
    return out;
  }
  DWORD high = 0;
  const DWORD low = GetFileSize(h.get(), &high);
  if (low == INVALID_FILE_SIZE && GetLastError() != NO_ERROR) {
    out.error = call_failed("GetFileSize");
    return out;
  }
  const std::uint64_t size = (static_cast<std::uint64_t>(high) << 32) | low;
  out.size = size;
  const auto role = funlove::role_for_name(utf8(base_name(file.path)));
  HandleSource source(h.get());
  if (size > limits::kMaxWholeFileBytes) {
    if (!scanner.can_stream(role)) {
      out.error = "larger than " + std::to_string(limits::kMaxWholeFileBytes) + " bytes: not read";
      return out;
    }
    auto verdict = scanner.scan_stream(source, size);
    if (!verdict) {
      out.error = verdict.error() == StreamFailure::read_failed ? source.error() : "stream scan failed";
      return out;
    }
    out.verdict = std::move(*verdict);
  } else {
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    if (size > 0 && !source.read(0, bytes.data(), bytes.size())) {
      out.error = source.error();
      return out;
    }
    out.verdict = scanner.scan(ByteView(bytes.data(), bytes.size()), role);
  }
  // CryptoAPI may have no SHA-256 on this Windows (PROV_RSA_AES: XP SP3 on): null and why.
  if (scanner.sha256_error().empty()) {
    out.sha256 = to_hex(out.verdict->digests->sha256);
  } else {
    out.sha256_error = scanner.sha256_error();
  }
  return out;
}

// ---- the document ----------------------------------------------------------------------------

void write_record(JsonWriter& json, const evt::Record& r) {
  json.begin_object();
  json.key("record_number").number(r.record_number);
  json.key("event_identifier").number(r.event_identifier);
  json.key("time_generated_utc").string(format_utc_iso8601(r.time_generated));
  json.key("time_written_utc").string(format_utc_iso8601(r.time_written));
  json.key("source_name").string(r.source_name);
  json.key("computer_name").string(r.computer_name);
  json.key("strings").begin_array();
  for (const auto& s : r.strings) json.string(s);
  json.end_array();
  json.end_object();
}

void write_evidence(JsonWriter& json, const Evidence& e) {
  json.begin_object();
  json.key("count").number(e.count);
  json.key("first_written_utc");
  json.string_or_null(e.first_written ? std::optional(format_utc_iso8601(*e.first_written)) : std::nullopt);
  json.key("last_written_utc");
  json.string_or_null(e.last_written ? std::optional(format_utc_iso8601(*e.last_written)) : std::nullopt);
  json.key("records").begin_array();
  for (const auto& r : e.records) write_record(json, r);
  json.end_array();
  json.end_object();
}

std::optional<std::string> utf8_opt(const std::optional<std::wstring>& w) {
  return w ? std::optional(utf8(*w)) : std::nullopt;
}
std::optional<std::uint64_t> number_opt(const std::optional<DWORD>& n) {
  return n ? std::optional<std::uint64_t>(*n) : std::nullopt;
}

struct Report {
  std::string collected_utc;
  Machine machine;
  Processes processes;
  Services services;
  EventLog event_log;
  Section files_section;
  std::vector<CheckedFile> files;
  std::wstring windows_dir;
};

void write_file(JsonWriter& json, const CheckedFile& f) {
  json.begin_object();
  json.key("path").string(utf8(f.path));
  json.key("size").number_or_null(f.size);
  if (f.verdict) {
    const FileVerdict& v = *f.verdict;
    json.key("sha256").string_or_null(f.sha256);
    json.key("sha256_error").string_or_null(f.sha256_error);
    json.key("type").string(to_code(v.type));
    if (v.findings.empty()) {
      json.key("state").string("clean");
      json.key("severity").null();
    } else {
      json.key("state").string(to_string(v.findings.front().kind));
      json.key("severity").string(to_string(v.findings.front().severity));
    }
    json.key("findings").begin_array();
    for (const Finding& finding : v.findings) {
      json.begin_object();
      json.key("kind").string(to_string(finding.kind));
      json.key("severity").string(to_string(finding.severity));
      json.key("rule").string(finding.rule);
      json.key("name").string(finding.name);
      json.key("confidence").string(to_string(finding.confidence));
      json.key("evidence").string(finding.evidence);
      json.key("offset").number(finding.offset);
      json.end_object();
    }
    json.end_array();
  } else {
    json.key("type").null();
    json.key("state").string("not-scanned");
    json.key("severity").null();
    json.key("findings").begin_array();
    json.end_array();
  }
  json.key("why").begin_array();
  for (const auto& why : f.why) json.string(why);
  json.end_array();
  json.key("error").string_or_null(f.error);
  json.end_object();
}

std::string document(const Report& r) {
  JsonWriter json;
  json.begin_object();
  json.key("format").string("flscan-live");
  json.key("format_version").number(1);
  json.key("tool_version").string(FLSCAN_VERSION);
  json.key("tool_architecture").string(kArchitecture);
  json.key("collected_utc").string(r.collected_utc);

  json.key("machine").begin_object();
  json.key("computer_name").string_or_null(utf8_opt(r.machine.computer_name));
  json.key("windows_directory").string_or_null(utf8_opt(r.machine.windows_directory));
  json.key("system_directory").string_or_null(utf8_opt(r.machine.system_directory));
  json.key("os_version");
  if (r.machine.version) {
    const OSVERSIONINFOW& v = *r.machine.version;
    json.begin_object();
    json.key("major").number(v.dwMajorVersion);
    json.key("minor").number(v.dwMinorVersion);
    json.key("build").number(v.dwBuildNumber);
    json.key("service_pack").string(utf8(std::wstring(v.szCSDVersion, wcsnlen(v.szCSDVersion, 128))));
    json.end_object();
  } else {
    json.null();
  }
  json.end_object();

  json.key("processes").begin_object();
  r.processes.section.write(json);
  json.key("method").string(r.processes.method);
  json.key("process_count").number(r.processes.all.size());
  json.key("flcss").begin_array();
  for (const Process& p : r.processes.all) {
    if (!is_flcss_name(p.image_name) && !(p.path && is_flcss_name(*p.path))) continue;
    json.begin_object();
    json.key("pid").number(p.pid);
    json.key("parent_pid").number_or_null(number_opt(p.parent_pid));
    json.key("image_name").string(utf8(p.image_name));
    json.key("path").string_or_null(utf8_opt(p.path));
    json.end_object();
  }
  json.end_array();
  json.end_object();

  json.key("services").begin_object();
  r.services.section.write(json);
  json.key("service_count").number(r.services.all.size());
  json.key("flcss").begin_array();
  for (const Service& s : r.services.all) {
    if (!is_flcss_service(s, r.windows_dir)) continue;
    json.begin_object();
    json.key("name").string(utf8(s.name));
    json.key("display_name").string(utf8(s.display_name));
    json.key("state").string(state_code(s.state));
    json.key("pid").number_or_null(number_opt(s.pid));
    json.key("start_type").string(start_type_code(s.start_type));
    json.key("binary_path").string_or_null(utf8_opt(s.binary_path));
    json.key("account").string_or_null(utf8_opt(s.account));
    json.key("config_error").string_or_null(s.config_error);
    json.end_object();
  }
  json.end_array();
  json.end_object();

  json.key("event_log").begin_object();
  r.event_log.section.write(json);
  json.key("records_read").number(r.event_log.records_read);
  json.key("protected_storage_7024");
  write_evidence(json, r.event_log.protected_storage_7024);
  json.key("spooler_7000");
  write_evidence(json, r.event_log.spooler_7000);
  json.end_object();

  json.key("files").begin_object();
  r.files_section.write(json);
  json.key("checked").begin_array();
  for (const CheckedFile& f : r.files) {
    if (!f.absent) write_file(json, f);
  }
  json.end_array();
  json.end_object();

  json.end_object();
  return json.finish();
}

// ---- collection ------------------------------------------------------------------------------

std::vector<FileToCheck> files_to_check(const Report& r) {
  std::map<std::wstring, FileToCheck> by_key;  // key: the lower-case path (Windows paths ignore case)
  auto add = [&](const std::wstring& path, const char* why) {
    if (path.empty()) return;
    auto& entry = by_key[ascii_lower(path)];
    if (entry.path.empty()) entry.path = path;
    entry.why.insert(why);
  };
  for (const Process& p : r.processes.all) {
    if (!p.path) continue;
    add(*p.path, "process");
    if (is_flcss_name(p.image_name) || is_flcss_name(*p.path)) add(*p.path, "flcss-process");
  }
  for (const Service& s : r.services.all) {
    if (!s.binary_path) continue;
    const std::wstring exe = service_executable(*s.binary_path, r.windows_dir);
    add(exe, "service");
    if (is_flcss_service(s, r.windows_dir)) add(exe, "flcss-service");
  }
  if (r.machine.system_directory) {
    const std::wstring dir = *r.machine.system_directory + L"\\";
    for (std::string_view program : kQ317218Programs)
      add(dir + std::wstring(program.begin(), program.end()), "q317218-program");
    add(dir + L"ntoskrnl.exe", "kernel");
    add(dir + L"ntkrnlmp.exe", "kernel");
  }
  std::vector<FileToCheck> out;
  for (auto& [key, entry] : by_key) out.push_back(std::move(entry));  // sorted by the lower-case path
  return out;
}

Report collect() {
  Report r;
  SYSTEMTIME now{};
  GetSystemTime(&now);
  r.collected_utc = iso_time(now);
  r.machine = read_machine();
  r.windows_dir = r.machine.windows_directory.value_or(L"C:\\WINDOWS");
  r.processes = read_processes(r.windows_dir);
  r.services = read_services();
  r.event_log = read_event_log();

  const sig::SignatureSet no_signatures;  // the structural detector only (infection-model 2-7)
  FileScanner scanner(no_signatures);
  auto files = files_to_check(r);
  if (files.size() > limits::kMaxFilesChecked) {
    r.files_section.error(std::to_string(files.size()) + " executables; the first " +
                          std::to_string(limits::kMaxFilesChecked) + " by path checked");
    files.resize(limits::kMaxFilesChecked);
  }
  for (const FileToCheck& f : files) {
    CheckedFile checked = check_file(f, scanner);
    if (checked.error && !checked.absent) r.files_section.error(utf8(checked.path) + ": " + *checked.error);
    r.files.push_back(std::move(checked));
  }
  return r;
}

// ---- the program -----------------------------------------------------------------------------

void print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

constexpr const char* kHelp =
    "flscan-live " FLSCAN_VERSION
    ": reads this running Windows machine for the W32.FunLove.4099 evidence only a\n"
    "running machine shows (Microsoft KB Q317218), for flscan --live-report.\n"
    "\n"
    "Usage: flscan-live.exe --json FILE\n"
    "       flscan-live.exe --help\n"
    "\n"
    "  --json FILE  write the findings as JSON (live/LIVE_JSON.md) to FILE, e.g. on the USB stick\n"
    "               the program runs from; a short summary goes to the console\n"
    "  --help       this text\n"
    "\n"
    "It reads: the processes (Flcss.exe), the services (FLC, FLCSS, any with flcss.exe as its\n"
    "binary), the System event log (7024 Protected Storage 2148270091, 7000 Spooler %%2), and\n"
    "checks the executables of every process and service, the 33 programs Q317218 names and\n"
    "ntoskrnl.exe/ntkrnlmp.exe with flscan's FunLove detector. It writes nothing but FILE, opens every other file\n"
    "read-only, changes no service, process or registry key and uses no network.\n"
    "\n"
    "Exit code: 0 no FunLove evidence, 1 FunLove evidence (an Flcss.exe process, an FLC/FLCSS\n"
    "service, an infected file), 2 the JSON could not be written or the command line is wrong.\n";

bool write_json(const std::wstring& path, const std::string& text, std::string& error) {
  Handle h(CreateFileW(path.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr));
  if (h.get() == INVALID_HANDLE_VALUE) {
    h.release();
    error = call_failed("CreateFileW(" + utf8(path) + ")");
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    DWORD wrote = 0;
    const auto n = static_cast<DWORD>(std::min<std::size_t>(text.size() - done, 1u << 20));
    if (!WriteFile(h.get(), text.data() + done, n, &wrote, nullptr) || wrote == 0) {
      error = call_failed("WriteFile(" + utf8(path) + ")");
      return false;
    }
    done += wrote;
  }
  if (!FlushFileBuffers(h.get())) {
    error = call_failed("FlushFileBuffers(" + utf8(path) + ")");
    return false;
  }
  return true;
}

std::string summary(const Report& r, std::size_t& infected) {
  std::string out = std::string("flscan-live ") + FLSCAN_VERSION + " (" + kArchitecture + ") on " +
                    (r.machine.computer_name ? utf8(*r.machine.computer_name) : "(unknown)") + ", " +
                    utf8(r.windows_dir) + "\n";
  std::size_t flcss_processes = 0;
  for (const Process& p : r.processes.all) {
    if (is_flcss_name(p.image_name) || (p.path && is_flcss_name(*p.path))) ++flcss_processes;
  }
  out += "processes (" + r.processes.method + ", " + status_code(r.processes.section.status) +
         "): " + std::to_string(r.processes.all.size()) + ", Flcss.exe: " + std::to_string(flcss_processes) + "\n";
  std::size_t flcss_services = 0;
  for (const Service& s : r.services.all) {
    if (!is_flcss_service(s, r.windows_dir)) continue;
    ++flcss_services;
    out += "  service " + utf8(s.name) + ": " + state_code(s.state) + ", " + utf8(s.binary_path.value_or(L"?")) + "\n";
  }
  out += "services (" + std::string(status_code(r.services.section.status)) +
         "): " + std::to_string(r.services.all.size()) + ", FLC/FLCSS: " + std::to_string(flcss_services) + "\n";
  out += "System log (" + std::string(status_code(r.event_log.section.status)) +
         "): " + std::to_string(r.event_log.records_read) +
         " records, 7024 Protected Storage: " + std::to_string(r.event_log.protected_storage_7024.count) +
         ", 7000 Spooler: " + std::to_string(r.event_log.spooler_7000.count) + "\n";
  std::size_t checked = 0, not_scanned = 0;
  infected = 0;
  for (const CheckedFile& f : r.files) {
    if (f.absent) continue;
    ++checked;
    if (!f.verdict) {
      ++not_scanned;
      continue;
    }
    const auto& findings = f.verdict->findings;
    if (!findings.empty() && findings.front().severity == Severity::infection) {
      ++infected;
      out += "  INFECTED " + utf8(f.path) + ": " + std::string(to_string(findings.front().kind)) + "\n";
    }
  }
  out += "files: " + std::to_string(checked) + " checked, " + std::to_string(infected) + " with FunLove evidence, " +
         std::to_string(not_scanned) + " not scanned\n";
  infected += flcss_processes + flcss_services;
  return out;
}

int run(int argc, wchar_t** argv) {
  std::optional<std::wstring> json_path;
  for (int i = 1; i < argc; ++i) {
    const std::wstring_view arg = argv[i];
    if (arg == L"--help" || arg == L"-h" || arg == L"/?") {
      print(kHelp);
      return 0;
    }
    if (arg == L"--json" && i + 1 < argc) {
      json_path = argv[++i];
      continue;
    }
    print("flscan-live: unknown or incomplete option " + utf8(arg) + " (see --help)\n");
    return 2;
  }
  if (!json_path) {
    print("flscan-live: --json FILE is required (see --help)\n");
    return 2;
  }
  const Report report = collect();
  std::size_t evidence = 0;
  print(summary(report, evidence));
  std::string error;
  if (!write_json(*json_path, document(report), error)) {
    print("flscan-live: " + error + "\n");
    return 2;
  }
  print("JSON written to " + utf8(*json_path) + "\n");
  return evidence > 0 ? 1 : 0;
}

}  // namespace
}  // namespace flscan::live

int wmain(int argc, wchar_t** argv) {
  try {
    return flscan::live::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "flscan-live: %s\n", e.what());
    return 2;
  }
}
