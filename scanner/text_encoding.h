// Turning raw bytes (POSIX file names are bytes, not text) into something a terminal or a JSON
// reader can take without losing or forging anything.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flscan::scanner {

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
[[nodiscard]] bool is_valid_utf8(std::string_view bytes);

// Standard base64 (RFC 4648 section 4) with padding.
[[nodiscard]] std::string base64_encode(std::string_view bytes);
// Its inverse, strict: the length a multiple of 4, only the 64 letters, '=' only as the last one
// or two characters. Anything else (a hand-edited or damaged report or manifest) is nullopt.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

// For the text report: control characters and bytes that are not valid UTF-8 become \xNN, so a
// file name cannot move the cursor, recolour the terminal or start a forged report line.
[[nodiscard]] std::string escape_for_terminal(std::string_view bytes);
// The same for a file path, where a backslash is escaped too (\x5c), so that a name holding the
// characters "\x0a" and a name holding a newline never print alike: the form is lossless.
[[nodiscard]] std::string escape_path_for_terminal(std::string_view bytes);
// Both: `escape_backslash` selects the path form.
[[nodiscard]] std::string escape(std::string_view bytes, bool escape_backslash);

}  // namespace flscan::scanner
