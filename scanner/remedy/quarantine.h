// The quarantine directory (--quarantine DIR, flscan restore DIR): verified, inert copies of
// infected files plus a manifest of where each came from. The only code of flscan that writes to
// or removes anything it scanned, and only when asked.
//
// Order of operations for one file, so that a crash or a full disk at any step loses nothing:
//   1.+2. copy the original (O_NOFOLLOW) in chunks to DIR/<id>.flq.part (mode 0400) while hashing
//      it: its SHA-256 must equal the scanned one; fsync, rename to DIR/<id>.flq, fsync DIR;
//   3. re-read the copy: its SHA-256 must equal the scanned one; the original must be unchanged
//      (same inode, size, mtime, ctime);
//   4. commit the manifest entry: write DIR/manifest.json.tmp, fsync, rename over
//      DIR/manifest.json, fsync DIR;
//   5. only then remove the original (or replace it with its repaired bytes) and fsync its
//      directory.
// Restore runs the mirror image: verified copy -> temp file beside the target -> fsync -> metadata
// -> rename without overwriting -> fsync -> manifest commit without the entry -> remove the copy.
//
// Who may write what (README "Safety", issue 13): the scanned tree and the directories of a
// restore target may belong to other users, so every directory below a trusted start (the PATH
// operand; / or --to ROOT for restore) is opened one component at a time without following a
// symbolic link (open_directory_beneath, open_path.h), and restore takes only directories owned
// by root, the user running it or the file's original owner. DIR itself must be private to root
// or the user running flscan (checked up to /), since restore trusts its manifest.
//
// Invariants that make every crash recoverable: a manifest entry exists only for a verified,
// fsynced copy; the original is removed only after its entry is committed; a copy whose entry is
// not committed (or no longer is) is garbage. Opening the directory therefore recovers by deleting
// its own temporary files and unreferenced copies. <id> is derived from the original's path and
// content, so running the same quarantine again finds the entry an interrupted run committed and
// finishes it instead of making a second copy.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "engine/enum_table.h"
#include "scanner/report/report.h"

namespace flscan::scanner {

// The steps that can fail, in the order a quarantine, a repair and a restore run them. Each is a
// fault point for tests (QuarantineHooks::before_step).
enum class QuarantineStep {
  open_original,  // open the original's directory and the original (O_NOFOLLOW), fstat
  create_copy,    // create DIR/<id>.flq.part
  write_copy,     // copy the original into it, hashing what was read
  sync_copy,
  rename_copy,          // DIR/<id>.flq.part -> DIR/<id>.flq
  sync_quarantine_dir,  // after the copy's rename
  verify_copy,          // re-read the copy, compare SHA-256
  check_original,       // the original is still the file that was read
  write_manifest,       // DIR/manifest.json.tmp
  sync_manifest,
  rename_manifest,  // -> DIR/manifest.json
  sync_manifest_dir,
  remove_original,  // unlink the original
  sync_original_dir,
  create_repaired,  // the repaired bytes beside the original, as .flscan-repair-<id>
  write_repaired,
  sync_repaired,
  set_repaired_metadata,  // owner, mode, times of the original
  rename_repaired,        // over the original
  sync_repaired_dir,
  read_copy,        // restore: read and verify the copy
  create_restored,  // restore: .flscan-restore-<id> beside the target
  write_restored,
  sync_restored,
  set_restored_metadata,
  link_restored,  // restore: rename to the target without overwriting
  sync_restored_dir,
  remove_copy,  // restore: unlink DIR/<id>.flq after the manifest no longer names it
  sync_copy_dir,
};
// The steps' names in errors ("write-copy: ...", QuarantineError::describe), in enum order.
inline constexpr std::array kQuarantineSteps = {
    EnumRow{QuarantineStep::open_original, "open-original"},
    EnumRow{QuarantineStep::create_copy, "create-copy"},
    EnumRow{QuarantineStep::write_copy, "write-copy"},
    EnumRow{QuarantineStep::sync_copy, "sync-copy"},
    EnumRow{QuarantineStep::rename_copy, "rename-copy"},
    EnumRow{QuarantineStep::sync_quarantine_dir, "sync-quarantine-dir"},
    EnumRow{QuarantineStep::verify_copy, "verify-copy"},
    EnumRow{QuarantineStep::check_original, "check-original"},
    EnumRow{QuarantineStep::write_manifest, "write-manifest"},
    EnumRow{QuarantineStep::sync_manifest, "sync-manifest"},
    EnumRow{QuarantineStep::rename_manifest, "rename-manifest"},
    EnumRow{QuarantineStep::sync_manifest_dir, "sync-manifest-dir"},
    EnumRow{QuarantineStep::remove_original, "remove-original"},
    EnumRow{QuarantineStep::sync_original_dir, "sync-original-dir"},
    EnumRow{QuarantineStep::create_repaired, "create-repaired"},
    EnumRow{QuarantineStep::write_repaired, "write-repaired"},
    EnumRow{QuarantineStep::sync_repaired, "sync-repaired"},
    EnumRow{QuarantineStep::set_repaired_metadata, "set-repaired-metadata"},
    EnumRow{QuarantineStep::rename_repaired, "rename-repaired"},
    EnumRow{QuarantineStep::sync_repaired_dir, "sync-repaired-dir"},
    EnumRow{QuarantineStep::read_copy, "read-copy"},
    EnumRow{QuarantineStep::create_restored, "create-restored"},
    EnumRow{QuarantineStep::write_restored, "write-restored"},
    EnumRow{QuarantineStep::sync_restored, "sync-restored"},
    EnumRow{QuarantineStep::set_restored_metadata, "set-restored-metadata"},
    EnumRow{QuarantineStep::link_restored, "link-restored"},
    EnumRow{QuarantineStep::sync_restored_dir, "sync-restored-dir"},
    EnumRow{QuarantineStep::remove_copy, "remove-copy"},
    EnumRow{QuarantineStep::sync_copy_dir, "sync-copy-dir"},
};
constexpr const auto& enum_rows(QuarantineStep) { return kQuarantineSteps; }
static_assert(is_complete_table(kQuarantineSteps), "kQuarantineSteps: one row per QuarantineStep, in order");
[[nodiscard]] constexpr std::string_view to_string(QuarantineStep step) { return code_of(step); }

// Test hooks; the program never sets them. before_step runs before every step; a non-zero return
// is an errno the step then fails with (as if the system call had), 0 lets it run. A test may also
// end the process inside it (fork, then _exit) to simulate a crash at that step.
struct QuarantineHooks {
  std::function<int(QuarantineStep)> before_step;
};

// One manifest entry: a copy in the quarantine directory and where it came from.
struct QuarantineEntry {
  std::string file;           // the copy's name in DIR: 32 hex digits + ".flq"
  std::string original_path;  // absolute, raw bytes (POSIX names are bytes)
  std::uint64_t size = 0;
  std::string sha256;      // lower-case hex of the content
  std::uint32_t mode = 0;  // permission bits (st_mode & 07777)
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::int64_t atime_ns = 0;  // nanoseconds since the epoch
  std::int64_t mtime_ns = 0;
  std::string state;                           // the finding kind that made flscan act, e.g. "infected"
  std::string rule;                            // its rule id, e.g. "funlove.infected"
  std::int64_t quarantined_at = 0;             // seconds since the epoch
  std::optional<std::string> repaired_sha256;  // set before a repaired file replaces the original
};

// A step that failed: which one and the errno text (or what did not match).
struct QuarantineError {
  QuarantineStep step = QuarantineStep::open_original;
  std::string message;
  std::string kept_copy;  // DIR/<id>.flq when a copy stays although the step failed (manifest sync)
  // put(): this Quarantine already removed or replaced this very file (same location and content,
  // met again through overlapping PATH operands); kept_copy names its copy. Nothing was done now.
  bool done_earlier = false;
  [[nodiscard]] std::string describe() const;
};

// The original of a file being quarantined, held open between the copy and its disposal.
class HeldOriginal;

// What put() hands back: the committed entry and the original, still open.
struct Quarantined {
  QuarantineEntry entry;
  std::shared_ptr<HeldOriginal> original;
  // The original's link count (st_nlink): removing or replacing this name leaves links - 1 other
  // names of the same infected file in place.
  std::uint64_t links = 1;
};

struct RestoreOutcome {
  std::string target;            // where the file was (or would have been) restored
  bool restored = false;         // the file is at `target` and its entry left the manifest
  bool already_present = false;  // the identical file was already there (interrupted run)
  std::string error;             // why it was not restored (its entry stays), empty when it was
  std::string warning;           // restored, but e.g. the owner could not be set without root
};

class Quarantine {
 public:
  // Opens DIR (created with mode 0700 when missing; an existing DIR must be empty or hold an
  // flscan manifest; DIR and every directory above it owned by root or the user running flscan
  // and writable by no one else, sticky parents aside), takes its lock (one flscan at a time), reads the manifest and
  // recovers from an interrupted run. The error says what is wrong with DIR.
  static tl::expected<Quarantine, std::string> open(const std::string& dir, QuarantineHooks hooks = {});

  Quarantine(Quarantine&&) noexcept;
  Quarantine& operator=(Quarantine&&) noexcept;
  ~Quarantine();

  // Steps 1-4 for the file at `path` (as scanned: relative to the working directory or absolute)
  // whose scanned content has SHA-256 `sha256` (hex). On error nothing was committed and the
  // original is untouched. `root` is the PATH operand the scan found it under: it is followed as
  // given (the administrator named it), every directory below it is opened without following a
  // symbolic link, and the entry records the operand's canonical path plus the names below it.
  // Without `root`, every directory of `path` made absolute is opened so, from /. With `origin`
  // (the scan's FileOrigin), the directory opened and the file opened in it must be the ones the
  // scan read (st_dev, st_ino): a directory swapped for another directory since the scan is
  // refused (issue 13, item 3).
  [[nodiscard]] tl::expected<Quarantined, QuarantineError> put(const std::string& path, const std::string& sha256,
                                                               const std::string& state, const std::string& rule,
                                                               const std::string& root = {},
                                                               const std::optional<FileOrigin>& origin = std::nullopt);
  // The verified content of an entry's copy, read whole (--repair works from it, never from the
  // original); `max_bytes` caps what is read into memory.
  [[nodiscard]] tl::expected<std::vector<std::uint8_t>, std::string> read_copy(const QuarantineEntry& entry,
                                                                               std::uint64_t max_bytes) const;
  // Step 5: removes the original after checking it is still the file that was copied.
  [[nodiscard]] tl::expected<void, QuarantineError> remove_original(Quarantined& item);
  // Step 5 for --repair: writes `repaired` beside the original with its owner, mode and times,
  // records its SHA-256 in the entry (so restore may put the infected original back over it),
  // and renames it over the original. On error the original is untouched.
  [[nodiscard]] tl::expected<void, QuarantineError> replace_original(Quarantined& item,
                                                                     const std::vector<std::uint8_t>& repaired);

  // Puts every entry back (under `to_root` + its absolute path when given), never over a
  // different file, and drops each restored entry from the manifest. One outcome per entry.
  [[nodiscard]] std::vector<RestoreOutcome> restore_all(const std::optional<std::string>& to_root);

  [[nodiscard]] const std::vector<QuarantineEntry>& entries() const;
  [[nodiscard]] const std::string& dir() const;
  // DIR/<file>, for reports.
  [[nodiscard]] std::string path_of(const QuarantineEntry& entry) const;
  // What recovery removed when the directory was opened (names in DIR or beside originals).
  [[nodiscard]] const std::vector<std::string>& recovered() const;

 private:
  struct State;
  explicit Quarantine(std::unique_ptr<State> state);
  tl::expected<void, QuarantineError> restore_one(const QuarantineEntry& entry,
                                                  const std::optional<std::string>& to_root, RestoreOutcome& out);
  std::unique_ptr<State> state_;
};

// The manifest file's name inside DIR.
inline constexpr std::string_view kQuarantineManifest = "manifest.json";

}  // namespace flscan::scanner
