#include "live/image_path.h"

namespace flscan::live {
namespace {

wchar_t lower(wchar_t c) { return c >= L'A' && c <= L'Z' ? static_cast<wchar_t>(c - L'A' + L'a') : c; }

bool istarts_with(std::wstring_view text, std::wstring_view prefix) {
  return text.size() >= prefix.size() && iequals_wide(text.substr(0, prefix.size()), prefix);
}

// The first position where `ext` ends an executable name: followed by the end or a blank.
std::wstring_view::size_type executable_end(std::wstring_view text, std::wstring_view ext) {
  const std::wstring low = ascii_lower(text);
  for (std::wstring::size_type at = low.find(ext); at != std::wstring::npos; at = low.find(ext, at + 1)) {
    const auto end = at + ext.size();
    if (end == low.size() || low[end] == L' ' || low[end] == L'\t') return end;
  }
  return std::wstring_view::npos;
}

}  // namespace

bool iequals_wide(std::wstring_view a, std::wstring_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::wstring ascii_lower(std::wstring_view text) {
  std::wstring out(text);
  for (wchar_t& c : out) c = lower(c);
  return out;
}

std::wstring_view base_name(std::wstring_view path) {
  const auto at = path.find_last_of(L"\\/");
  return at == std::wstring_view::npos ? path : path.substr(at + 1);
}

std::wstring resolve_windows_path(std::wstring_view path, std::wstring_view windows_dir) {
  for (std::wstring_view prefix : {std::wstring_view(L"\\??\\"), std::wstring_view(L"\\\\?\\")}) {
    if (istarts_with(path, prefix)) path.remove_prefix(prefix.size());
  }
  for (std::wstring_view root :
       {std::wstring_view(L"\\SystemRoot"), std::wstring_view(L"%SystemRoot%"), std::wstring_view(L"%windir%")}) {
    if (istarts_with(path, root) && (path.size() == root.size() || path[root.size()] == L'\\')) {
      return std::wstring(windows_dir) + std::wstring(path.substr(root.size()));
    }
  }
  const bool drive = path.size() >= 2 && path[1] == L':';
  const bool unc = path.size() >= 2 && path[0] == L'\\' && path[1] == L'\\';
  if (drive || unc || path.empty()) return std::wstring(path);
  if (path[0] == L'\\') return std::wstring(windows_dir.substr(0, 2)) + std::wstring(path);  // root of the drive
  return std::wstring(windows_dir) + L"\\" + std::wstring(path);
}

std::wstring service_executable(std::wstring_view command_line, std::wstring_view windows_dir) {
  std::wstring_view text = command_line;
  while (!text.empty() && (text.front() == L' ' || text.front() == L'\t')) text.remove_prefix(1);
  if (text.empty()) return {};
  if (text.front() == L'"') {
    text.remove_prefix(1);
    const auto close = text.find(L'"');
    return resolve_windows_path(text.substr(0, close), windows_dir);
  }
  // Unquoted: the name ends at the first ".exe" or ".sys" followed by a blank or the end (a path
  // with blanks, "C:\Program Files\x.exe -k a", stays whole), else at the first blank.
  auto end = executable_end(text, L".exe");
  if (end == std::wstring_view::npos) end = executable_end(text, L".sys");
  if (end == std::wstring_view::npos) end = text.find_first_of(L" \t");
  return resolve_windows_path(text.substr(0, end), windows_dir);
}

}  // namespace flscan::live
