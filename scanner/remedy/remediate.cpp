#include "scanner/remedy/remediate.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <ostream>

#include <CLI/CLI.hpp>

#include "engine/funlove.h"
#include "engine/hex_text.h"
#include "engine/pe.h"
#include "engine/repair.h"
#include "scanner/host/host_report.h"
#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

// A repair holds the infected file and its repaired bytes in memory (the quarantine copy itself is
// streamed, whatever its size); a larger file is quarantined without a repair attempt and its
// action says so. FunLove hosts are Windows programs of a few MiB at most; 256 MiB leaves room.
constexpr std::uint64_t kMaxRepairBytes = 256ull * 1024 * 1024;

std::string lower_base_name(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  std::string name(slash == std::string_view::npos ? path : path.substr(slash + 1));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

struct RepairPlan {
  std::optional<std::vector<std::uint8_t>> bytes;  // the repaired file, when it may replace the original
  RepairStatus status = RepairStatus::refused;
  std::string detail;
};

RepairPlan refused(std::string reason) { return RepairPlan{std::nullopt, RepairStatus::refused, std::move(reason)}; }

}  // namespace

bool needs_quarantine(const FileResult& result) {
  return std::any_of(result.findings.begin(), result.findings.end(),
                     [](const Finding& f) { return f.severity == Severity::infection; });
}

bool is_system_file(std::string_view path) {
  const std::string name = lower_base_name(path);
  if (funlove::role_for_name(name) != funlove::FileRole::ordinary) return true;
  if (name == "csrss.exe") return true;
  const auto& programs = host::q317218_programs();
  return std::find(programs.begin(), programs.end(), name) != programs.end();
}

Remediator::Remediator(Quarantine& quarantine, const sig::SignatureSet& signatures, RepairMode repair)
    : quarantine_(quarantine), scanner_(signatures), repair_(repair) {}

void Remediator::run(ScanReport& report) {
  for (FileResult& result : report.results) {
    if (!needs_quarantine(result)) continue;
    // A file inside a disk image (IMAGE:pN/...) is never written: the image is evidence, and
    // the path is no file of this machine (a sibling named like it must not be touched).
    const bool in_image =
        std::any_of(report.volumes.begin(), report.volumes.end(),
                    [&result](const ImageVolume& volume) { return result.path.starts_with(volume.path() + "/"); });
    if (in_image) {
      FileAction left;
      left.error = "inside a disk image: flscan never writes to an image; clean the volume itself (mounted read-write)";
      result.action = std::move(left);
      continue;
    }
    // The PATH operand the file was found under (the longest that holds it): the directories below
    // it are opened without following symbolic links (Quarantine::put).
    const std::string* root = nullptr;
    for (const std::string& candidate : report.roots) {
      const bool holds = result.path == candidate ||
                         (result.path.starts_with(candidate) && !candidate.empty() &&
                          (candidate.back() == '/' ||
                           (result.path.size() > candidate.size() && result.path[candidate.size()] == '/')));
      if (holds && (root == nullptr || candidate.size() > root->size())) root = &candidate;
    }
    if (root == nullptr) {
      FileAction left;
      left.error = "not below any PATH operand: not acted on";
      result.action = std::move(left);
      continue;
    }
    try {
      result.action = act(result, *root);
    } catch (const std::exception& e) {
      // Out of memory, say: this file's action is lost, not the others'. The quarantine's order of
      // steps keeps the file safe wherever this happened.
      FileAction failed;
      failed.error = std::string("internal error: ") + e.what();
      result.action = std::move(failed);
    }
  }
}

namespace {

// Whether and how a quarantined file can be repaired: the decision, and the repaired bytes made
// from the verified copy (never from the original, which may have changed since).
RepairPlan plan_repair(const FileResult& result, const QuarantineEntry& entry, const Quarantine& quarantine,
                       FileScanner& scanner) {
  if (is_system_file(result.path)) {
    return RepairPlan{std::nullopt, RepairStatus::system_file,
                      "a Windows system file: replace it from clean media (infection-model section 9; Q287664 for the "
                      "kernel and NTLDR)"};
  }
  const Finding& strongest = strongest_finding(result);
  switch (strongest.kind) {
    case FindingKind::infected:
    case FindingKind::damaged:
      break;
    case FindingKind::dropper:
      return refused("a FunLove dropper (FLCSS.EXE) is virus code throughout: no program to restore");
    case FindingKind::signature:
      return refused("only a signature matched: no FunLove infection the model knows how to take out");
    default:
      return refused(
          "a patched kernel or loader is replaced from clean media, never repaired (infection-model section 7)");
  }
  auto content = quarantine.read_copy(entry, kMaxRepairBytes);
  if (!content) return refused("the verified copy could not be read back: " + content.error());
  const ByteView bytes(content->data(), content->size());
  const FileVerdict verdict = scanner.scan(bytes, funlove::FileRole::ordinary);
  const auto image = pe::parse(bytes);
  if (!image || !verdict.geometry) return refused("no FunLove geometry to undo in this file");
  auto repaired = repair::disinfect(bytes, *image, *verdict.geometry);
  if (!repaired) return refused(repaired.error().reason);
  if (strongest.kind == FindingKind::damaged) return refused("the body is damaged (infection-model section 5)");
  // Only a result that scans clean replaces the original (informational notes are no infection).
  const FileVerdict after =
      scanner.scan(ByteView(repaired->bytes.data(), repaired->bytes.size()), funlove::FileRole::ordinary);
  for (const Finding& finding : after.findings) {
    if (finding.severity == Severity::informational) continue;
    return refused("the repaired file would still scan as " + std::string(to_string(finding.kind)) + " (" +
                   finding.rule + ")");
  }
  std::string detail = "the 8 saved bytes from B+0xBA7 written back at the entry point (offset " +
                       hex(repaired->entry_offset) + "), L.SizeOfRawData set to " +
                       hex(repaired->last_section_raw_size) + ", cut at B=" + hex(repaired->body_offset);
  detail += repaired->checksum_recomputed ? ", PE checksum recomputed (" + hex(repaired->checksum) + ")"
                                          : ", PE checksum left 0";
  return RepairPlan{std::move(repaired->bytes), RepairStatus::repaired, std::move(detail)};
}

}  // namespace

FileAction Remediator::act(const FileResult& result, const std::string& root) {
  FileAction action;
  const Finding& strongest = strongest_finding(result);
  auto item = quarantine_.put(result.path, result.sha256, std::string(to_string(strongest.kind)), strongest.rule, root,
                              result.origin);
  if (!item) {
    // The same file met again (overlapping PATH operands): what was done to it the first time.
    if (item.error().done_earlier) {
      if (const auto earlier = done_.find(item.error().kept_copy); earlier != done_.end()) return earlier->second;
    }
    action.error = item.error().describe();
    action.quarantine_file = item.error().kept_copy;
    return action;
  }
  action.quarantine_file = quarantine_.path_of(item->entry);
  action.other_links = item->links > 0 ? item->links - 1 : 0;
  action = finish(action, result, *item);
  if (action.result == ActionResult::left_in_place) action.other_links = 0;
  if (action.result != ActionResult::left_in_place) done_[action.quarantine_file] = action;
  return action;
}

FileAction Remediator::finish(FileAction action, const FileResult& result, Quarantined& item) {
  if (repair_ == RepairMode::on) {
    RepairPlan plan = plan_repair(result, item.entry, quarantine_, scanner_);
    action.repair = plan.status;
    action.repair_detail = std::move(plan.detail);
    if (plan.bytes) {
      auto replaced = quarantine_.replace_original(item, *plan.bytes);
      if (replaced) {
        action.result = ActionResult::repaired;
        return action;
      }
      if (replaced.error().step == QuarantineStep::sync_repaired_dir) {
        // The repaired file is in place; only the directory's sync failed.
        action.result = ActionResult::repaired;
        action.error = replaced.error().describe();
        return action;
      }
      // Writing the repair failed; the original is untouched: quarantine it instead.
      action.repair = RepairStatus::failed;
      action.repair_detail = replaced.error().describe();
    }
  }
  auto removed = quarantine_.remove_original(item);
  if (removed) {
    action.result = ActionResult::quarantined;
  } else {
    action.error = removed.error().describe();
    // Unlinked, but the directory's sync failed: gone from its directory all the same.
    if (removed.error().step == QuarantineStep::sync_original_dir) action.result = ActionResult::quarantined;
  }
  return action;
}

namespace {

constexpr const char* kRestoreDescription =
    "flscan restore: put every file of a quarantine directory (flscan --quarantine DIR) back where\n"
    "it was, with its content (checked by SHA-256), mode, modification and access times, and its\n"
    "owner when run as root. A file is never restored over a different existing file (except the\n"
    "repaired file --repair left in its place): such an entry stays in DIR and the error names the\n"
    "file. Each restored entry leaves the manifest; its copy is removed.\n\n"
    "DIR and its parents must be owned by root or you and writable by no one else. Every\n"
    "directory of a target path (and of ROOT) is opened without following a symbolic link and\n"
    "must be owned by root, you or the file's original owner; a missing one is created. An entry\n"
    "whose copy does not match its SHA-256, or that gives set-user-ID or set-group-ID bits to a\n"
    "file root did not own, is not restored.";

constexpr const char* kRestoreFooter = R"(Examples:
  flscan restore /var/quarantine              back to the original paths
  flscan restore /var/quarantine --to /tmp/r  under /tmp/r (e.g. /tmp/r/mnt/c/WINNT/...)

Exit codes: 0 every entry restored (or nothing to restore), 2 some entry not restored or a
usage error. To scan a directory literally named "restore", write it as ./restore.)";

}  // namespace

int run_restore_command(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
                        const QuarantineHooks& hooks) {
  CLI::App app{kRestoreDescription, "flscan restore"};
  app.footer(kRestoreFooter);
  std::string dir;
  std::string to_root;
  app.add_option("DIR", dir, "The quarantine directory (--quarantine DIR of the scan).")->required()->type_name("");
  app.add_option("--to", to_root,
                 "Restore under ROOT instead of the original locations: each file\n"
                 "goes to ROOT followed by its original absolute path; missing\n"
                 "directories are created. ROOT's directories must be no symbolic\n"
                 "links and owned by root or you. Example: --to /tmp/restored")
      ->type_name("ROOT");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kExitClean : kExitIncomplete;
  }
  if (app.count("--to") > 0 && to_root.empty()) {
    err << "flscan restore: --to needs a directory\n";
    return kExitIncomplete;
  }
  // Restore never creates a quarantine: DIR must hold one.
  struct stat st {};
  const std::string manifest = dir + "/" + std::string(kQuarantineManifest);
  if (::stat(manifest.c_str(), &st) != 0) {
    err << "flscan restore: " << escape_for_terminal(dir) << " holds no flscan quarantine (no " << kQuarantineManifest
        << ")\n";
    return kExitIncomplete;
  }
  auto quarantine = Quarantine::open(dir, hooks);
  if (!quarantine) {
    err << "flscan restore: " << quarantine.error() << '\n';
    return kExitIncomplete;
  }
  for (const std::string& name : quarantine->recovered()) {
    out << "cleaned up after an interrupted run: " << escape_for_terminal(name) << '\n';
  }
  if (quarantine->entries().empty()) {
    out << "nothing to restore in " << escape_for_terminal(dir) << '\n';
    return kExitClean;
  }
  std::size_t restored = 0, failed = 0;
  for (const RestoreOutcome& outcome :
       quarantine->restore_all(app.count("--to") > 0 ? std::optional(to_root) : std::nullopt)) {
    if (outcome.restored) {
      ++restored;
      out << (outcome.already_present ? "already in place: " : "restored: ") << escape_for_terminal(outcome.target);
      if (!outcome.warning.empty()) out << " (" << escape_for_terminal(outcome.warning) << ")";
      out << '\n';
    } else {
      ++failed;
      out << "NOT restored: " << escape_for_terminal(outcome.target) << ": " << escape_for_terminal(outcome.error)
          << '\n';
    }
  }
  out << restored << " restored, " << failed << " not restored; " << quarantine->entries().size() << " entries left in "
      << escape_for_terminal(dir) << '\n';
  return failed == 0 ? kExitClean : kExitIncomplete;
}

}  // namespace flscan::scanner
