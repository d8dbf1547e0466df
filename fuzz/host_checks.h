// Checks shared by the host-evidence fuzz targets: what scanner/host/*.h promise about every
// result, whatever the input (strings handed to reports are valid UTF-8, notes are capped, an
// error names the file and a cause).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "scanner/host/host_common.h"
#include "scanner/host/limits.h"

namespace flscan::fuzz {

inline bool is_valid_utf8(std::string_view text) {
  // sanitize_utf8 keeps valid UTF-8 unchanged; anything else comes back different.
  return host::sanitize_utf8(text, text.size() + 1) == text;
}

inline void check_text(std::string_view text, const char* what) { FUZZ_CHECK(is_valid_utf8(text), what); }

inline void check_notes(const std::vector<std::string>& notes) {
  // NoteList keeps kMaxNotes and summarises the rest in one last note.
  FUZZ_CHECK(notes.size() <= host::limits::kMaxNotes + 1, "notes are capped");
  for (const std::string& note : notes) {
    FUZZ_CHECK(!note.empty(), "no empty note");
    check_text(note, "notes are valid UTF-8 (the JSON and HTML reports print them)");
  }
}

inline void check_error(const host::HostError& error, const std::string& path) {
  FUZZ_CHECK(error.path == path, "an error names the file read");
  FUZZ_CHECK(!error.reason.empty(), "an error gives its cause");
  // The harness hands a regular file (RegularFileInput): a refusal as a symbolic link, or a
  // failure to open it, would mean the reader was never reached, and the target fuzzed nothing.
  FUZZ_CHECK(error.reason != host::kSymlinkNotFollowed, "the harness's input is a regular file, not a link");
  FUZZ_CHECK(!error.reason.starts_with("cannot open"), "the harness's input file opens");
}

}  // namespace flscan::fuzz
