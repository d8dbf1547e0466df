// File names in JSON (scanner/JSON.md, "Paths"). POSIX names are bytes, not text, so a path is
// written ripgrep's way: {"text": "..."} when the bytes are valid UTF-8 (is_valid_utf8), else
// {"bytes": "<base64>"} (RFC 4648 with padding), and no name is mangled. The JSON report, its
// reader (flscan merge) and the quarantine manifest (scanner/remedy/quarantine.cpp) write and read
// paths through these functions only.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace flscan::scanner {

// A file name as JSON: {"text": ...} or {"bytes": base64}.
[[nodiscard]] nlohmann::ordered_json path_to_json(std::string_view path);

// A path object back to its bytes. The object must have exactly one key, "text" holding a string
// or "bytes" holding strict base64 (base64_decode); anything else is refused with the reason (a
// hand-edited or damaged report or manifest). A "text" string is taken as it is: a JSON parser has
// already checked it is UTF-8.
[[nodiscard]] tl::expected<std::string, std::string> path_from_json(const nlohmann::json& value);
[[nodiscard]] tl::expected<std::string, std::string> path_from_json(const nlohmann::ordered_json& value);

}  // namespace flscan::scanner
