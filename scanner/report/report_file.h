// Report files (--json, --sarif, --html of a scan and of `flscan merge`) created without writing
// through a name someone else prepared (issue 13, item 5).
//
// flscan runs as root, often with its working directory inside the tree it scans (a CI job in a
// checkout: `--sarif flscan.sarif`). Whoever wrote that tree may have committed the report's name
// as a symbolic link to a file of theirs choosing, or may swap one in while the scan runs. So a
// report is never opened by its name for writing:
//   1. The directory part of the name is opened once (followed as given: it is the user's operand)
//      and every later step is relative to that descriptor.
//   2. A name that exists as a symbolic link, or as anything but a regular file (a FIFO, a device,
//      a directory), is refused with an error naming it: exit code 2 before the scan starts.
//   3. The report is written to a new file in that directory that this process created, never one
//      that was there: an unnamed one (O_TMPFILE), or, on a file system without them, a temporary
//      name created with O_CREAT|O_EXCL|O_NOFOLLOW. It is flushed, fsync()ed, given a temporary
//      name (linkat) if it had none, and renamed over the name. rename replaces a directory entry
//      and never follows a symlink at the target, so a symlink swapped in after step 2 is replaced,
//      not written through. Readers see the old report or the whole new one, never half of one.
//   4. A report that fails to write leaves the name as it was and removes the temporary file. A
//      scan killed before its reports are written leaves nothing beside them: the unnamed file
//      goes with the process; a named temporary file (a file system without O_TMPFILE, or the
//      moment between linkat and rename) is unlinked by the termination cleanup when SIGINT,
//      SIGTERM or SIGHUP ends the process (scanner/platform/termination_cleanup.h). SIGKILL
//      leaves a named one.
// What this does not promise: in a directory others can write, they can still rename, replace or
// delete the finished report afterwards; and a symlinked directory component of the name is
// followed (name reports in a directory the scanned tree's authors cannot write, or in the
// working directory with a plain file name).
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include <tl/expected.hpp>

#include <vector>

#include "scanner/report/output_spec.h"
#include "scanner/report/print_settings.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

class ReportFile {
 public:
  // Checks `path` (step 2) and creates the temporary file beside it (step 3). The error is the
  // reason only ("is a symbolic link (refused) ..."); the caller names the file and the report.
  [[nodiscard]] static tl::expected<std::unique_ptr<ReportFile>, std::string> create(const std::string& path);

  ReportFile(const ReportFile&) = delete;
  ReportFile& operator=(const ReportFile&) = delete;
  // Removes the temporary file unless commit() succeeded.
  ~ReportFile();

  // Where the report is written (buffered; errors show as a failed stream and in commit()).
  [[nodiscard]] std::ostream& stream();
  // Flushes, fsyncs and renames the temporary file over the name (refusing again a name that has
  // become a symlink or a non-regular file meanwhile). The error is the reason only.
  [[nodiscard]] tl::expected<void, std::string> commit();

 private:
  struct State;
  explicit ReportFile(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// The reports of one run, a scan's or a merge's: each OutputSpec (output_spec.h), a file or stdout
// (`out`), written by its format's printer in the order of the list.
class ReportOutputs {
 public:
  // Creates every report file before the scan, so a report that cannot be written fails now,
  // not after hours. The error is a whole message ("cannot write the JSON report to X: why").
  [[nodiscard]] static tl::expected<ReportOutputs, std::string> open(const std::vector<OutputSpec>& specs);
  // Writes every report and commits the files; false, each failure printed to `err` after
  // `program` ("flscan" or "flscan merge"), when one could not be written.
  [[nodiscard]] bool write(std::ostream& out, std::ostream& err, const char* program, const ScanReport& report,
                           const PrintSettings& settings);

 private:
  struct Output {
    OutputSpec spec;
    std::unique_ptr<ReportFile> file;  // null: stdout
  };
  std::vector<Output> outputs_;
};

}  // namespace flscan::scanner
