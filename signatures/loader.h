// Loads signature databases in the ClamAV-compatible subset flscan reads (.ndb body signatures,
// .hdb/.hsb whole-file hashes; signatures/README.md lists exactly what is accepted) into an
// engine SignatureSet. Loading is all or nothing per call: a malformed line rejects the whole
// file (and a directory with it) with the file, the line and the reason, and leaves the set
// untouched; a database is never silently partial.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "engine/sig/signature_set.h"

namespace flscan::signatures {

// The database formats, named after ClamAV's file extensions.
enum class Kind { ndb, hdb, hsb };

struct LoadError {
  std::string file;      // the path or origin it was loaded from
  std::size_t line = 0;  // 1-based line, 0 when the error concerns the whole file
  std::string reason;

  // "file:line: reason" (or "file: reason" when line is 0).
  [[nodiscard]] std::string message() const;
};

// The memory a database of `text_bytes` bytes may take once loaded (limits::kSignatureMemoryPerTextByte
// per byte plus limits::kSignatureMemoryAllowance); a database whose signatures would take more is
// refused at the line that goes over.
[[nodiscard]] std::uint64_t signature_memory_budget(std::uint64_t text_bytes);

// The format a file name's extension says (case-insensitive), if it is one flscan reads.
[[nodiscard]] std::optional<Kind> kind_for_path(const std::filesystem::path& path);

// Parses database text of the given kind. `origin` names it in errors and in each signature's
// origin ("origin:line"). Adds a source line to `set` on success.
tl::expected<void, LoadError> load_text(std::string_view text, Kind kind, std::string_view origin,
                                        sig::SignatureSet& set);

// Loads one .ndb/.hdb/.hsb file (the kind follows its extension; any other is an error).
tl::expected<void, LoadError> load_file(const std::filesystem::path& path, sig::SignatureSet& set);

// Loads a file, or every .ndb/.hdb/.hsb file directly inside a directory in name order (other
// files there are ignored, as ClamAV does; a directory with none is an error).
tl::expected<void, LoadError> load_path(const std::filesystem::path& path, sig::SignatureSet& set);

// The signature set compiled into flscan (signatures/funlove.ndb, embedded at build time), so a
// lone binary needs no files beside it. Its signatures' origins start with "builtin:".
tl::expected<sig::SignatureSet, LoadError> builtin_signatures();

// Version of the built-in set, e.g. "funlove-2026.11.1", for --version and reports.
[[nodiscard]] std::string_view builtin_version();

}  // namespace flscan::signatures
