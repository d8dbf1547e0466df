// Turning raw bytes (POSIX file names are bytes, not text) into something a terminal or a JSON
// reader can take without losing or forging anything.
#pragma once

#include <string>
#include <string_view>

namespace flscan::scanner {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
[[nodiscard]] bool is_valid_utf8(std::string_view bytes);

// Standard base64 (RFC 4648 section 4) with padding.
[[nodiscard]] std::string base64_encode(std::string_view bytes);

// For the text report: control characters and bytes that are not valid UTF-8 become \xNN, so a
// file name cannot move the cursor, recolour the terminal or start a forged report line.
[[nodiscard]] std::string escape_for_terminal(std::string_view bytes);

}  // namespace flscan::scanner
