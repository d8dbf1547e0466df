// --quarantine DIR and --repair, after the scan, and the `flscan restore` command. By default
// flscan never writes to anything it scans; these are the only exceptions, and each acts on a
// file only through the quarantine's crash-safe sequence (quarantine.h).
//
// Which files: every result with a finding of severity `infection` (infected, damaged, dropper,
// kernel-patched, loader-patched, and signature matches counted as infection). Not suspicious or
// informational ones: a remnant or an inoculated file is an inert, working program (infection-
// model section 5), and a kernel whose checksum alone differs is not proof of anything.
//
// What happens to each (FileAction in report.h):
//   - a verified copy goes into DIR with a manifest entry, then the original is removed;
//   - with --repair, an `infected` file that is not a system file is disinfected instead
//     (engine/repair.h, section 9), re-scanned, and written back in place only when the result
//     scans without any infection or suspicious finding; the verified copy stays in DIR;
//   - a file that cannot be repaired (damaged, dropper, signature match, system file, a refusal of
//     the engine or a repaired result that does not scan clean) is quarantined as without --repair.
// System files (funlove::role_for_name: kernel or loader; the programs Q317218 names; csrss.exe)
// are quarantined like any infected file but never repaired in place: section 9 and Q287664 say to
// replace them from clean media.
#pragma once

#include <iosfwd>
#include <map>
#include <string>
#include <string_view>

#include "engine/scan.h"
#include "engine/sig/signature_set.h"
#include "scanner/remedy/quarantine.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

// True when the file's findings make --quarantine act on it (an infection-severity finding).
[[nodiscard]] bool needs_quarantine(const FileResult& result);

// True when `path`'s base name is a Windows system file flscan never repairs in place: the kernel
// and loader (funlove::role_for_name), the 33 programs of Q317218 (host::q317218_programs) and
// csrss.exe (section 8: the other process whose death is STOP 0xC000021A). Case-insensitive.
[[nodiscard]] bool is_system_file(std::string_view path);

enum class RepairMode { off, on };

class Remediator {
 public:
  // `signatures` re-scan repaired bytes; they must outlive the Remediator.
  Remediator(Quarantine& quarantine, const sig::SignatureSet& signatures, RepairMode repair);

  // Acts on every result that needs_quarantine, in report order, and records what it did in each
  // result's `action`.
  void run(ScanReport& report);

  // One file, found under the PATH operand `root` (Quarantine::put; empty: its directories are
  // opened from /). The same file met again (overlapping operands) gets its first action.
  [[nodiscard]] FileAction act(const FileResult& result, const std::string& root = {});

 private:
  // Repair or removal of a file whose copy is committed.
  FileAction finish(FileAction action, const FileResult& result, Quarantined& item);

  Quarantine& quarantine_;
  std::map<std::string, FileAction> done_;  // by quarantine_file: files removed or repaired so far
  FileScanner scanner_;
  RepairMode repair_;
};

// `flscan restore DIR [--to ROOT]` (main calls it when argv[1] is "restore"; argv[0] is then
// "restore"). Puts every quarantined file back, prints one line per entry and a summary; exit 0
// when every entry was restored, 2 otherwise (or on a usage error).
int run_restore_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                        const QuarantineHooks& hooks = {});

}  // namespace flscan::scanner
