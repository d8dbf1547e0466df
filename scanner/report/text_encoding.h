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

// Characters that steer or hide what a terminal or a browser shows without being visible
// themselves: every Unicode Default_Ignorable_Code_Point (DerivedCoreProperties.txt: U+00AD,
// U+034F, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors U+FE00..U+FE0F
// and U+E0100..U+E01EF, the zero-width and Bidi_Control characters of "Trojan Source",
// CVE-2021-42574, the tag characters, ...), the C1 controls, the line and paragraph separators
// U+2028, U+2029 and the interlinear annotation controls U+FFF9..U+FFFB. The printers escape
// them (issue 13, item 9). The table is in text_encoding.cpp.
[[nodiscard]] bool is_invisible_control(char32_t code_point);

// For the text report: control characters, the characters above and bytes that are not valid
// UTF-8 become \xNN (one per byte: U+202E prints as \xe2\x80\xae), so a file name cannot move
// the cursor, recolour the terminal, start a forged report line or show its letters reordered.
[[nodiscard]] std::string escape_for_terminal(std::string_view bytes);
// The same for a file path, where a backslash is escaped too (\x5c), so that a name holding the
// characters "\x0a" and a name holding a newline never print alike: the form is lossless.
[[nodiscard]] std::string escape_path_for_terminal(std::string_view bytes);
// True when escape_for_terminal would leave `bytes` as they are: valid UTF-8 without a control
// or invisible character. What the report reader asks of a field that is text, not a path.
[[nodiscard]] bool is_printable_text(std::string_view bytes);
// Both: `escape_backslash` selects the path form.
[[nodiscard]] std::string escape(std::string_view bytes, bool escape_backslash);

}  // namespace flscan::scanner
