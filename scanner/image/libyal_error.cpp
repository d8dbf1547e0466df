#include "scanner/image/libyal_error.h"

#include <cstring>

namespace flscan::scanner::image {

std::string libyal_error_line(std::string_view operation, const char* buffer, std::size_t size, int written) {
  std::string message(operation);
  message += ": ";
  const std::size_t length = written < 0 || buffer == nullptr ? 0 : ::strnlen(buffer, size);
  std::string joined;
  std::string line;
  auto flush = [&] {
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::size_t start = line.find_first_not_of(' ');
    if (start != std::string::npos) {
      if (!joined.empty()) joined += "; ";
      joined.append(line, start, std::string::npos);
    }
    line.clear();
  };
  for (std::size_t i = 0; i < length; ++i) {
    const char c = buffer[i];
    if (c == '\n' || c == '\r') {
      flush();
      continue;
    }
    line += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  }
  flush();
  message += joined.empty() ? "the library gave no reason" : joined;
  return message;
}

}  // namespace flscan::scanner::image
