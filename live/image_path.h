// Where a process's or service's executable is, from the strings Windows gives (portable C++ on
// wide strings, tested on Linux by tests/live): a service's binary path is a command line
// ("C:\WINNT\System32\svchost.exe -k netsvcs", quoted or not) and may be relative to the Windows
// directory ("System32\drivers\x.sys"), start with "\SystemRoot\" or "%SystemRoot%", or carry the
// NT prefix "\??\"; a process path from GetModuleFileNameEx may carry the same prefixes.
#pragma once

#include <string>
#include <string_view>

namespace flscan::live {

// The executable named by a service's binary path (its command line), as a file path:
// prefixes resolved against `windows_dir`, arguments dropped. Empty for an empty command line.
[[nodiscard]] std::wstring service_executable(std::wstring_view command_line, std::wstring_view windows_dir);

// A path with the NT prefixes and %SystemRoot%/\SystemRoot\ resolved against `windows_dir`, and a
// relative path taken relative to it (what the service control manager does with ImagePath).
[[nodiscard]] std::wstring resolve_windows_path(std::wstring_view path, std::wstring_view windows_dir);

// The part after the last '\' or '/'.
[[nodiscard]] std::wstring_view base_name(std::wstring_view path);

// ASCII case-insensitive equality (file and service names as Windows compares them, for ASCII).
[[nodiscard]] bool iequals_wide(std::wstring_view a, std::wstring_view b);

// Lower-case ASCII letters, others unchanged (a key for case-insensitive sets and sorting).
[[nodiscard]] std::wstring ascii_lower(std::wstring_view text);

}  // namespace flscan::live
