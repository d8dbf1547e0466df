#include "scanner/host/scan_facts.h"

#include <cctype>
#include <filesystem>

namespace flscan::host {

std::string path_key(std::string_view path) {
  std::string normal = std::filesystem::path(std::string(path)).lexically_normal().generic_string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  if (normal == ".") return {};
  for (char& c : normal) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return normal;
}

}  // namespace flscan::host
