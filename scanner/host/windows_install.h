// Where the Windows installations are in a scan: a `WINNT` or `WINDOWS` directory (any case)
// directly under a scan root, or the root itself, holding `system32/config/SYSTEM` (of any type)
// or `system32/config/SysEvent.Evt` (any case:
// `WINNT/System32/CONFIG/system` is normal on a mounted NTFS volume). The Q317218 host report
// (host_report.h, infection-model section 8) reads its evidence from there; NTLDR is looked for at
// the volume root (section 7).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scanner/host/volume_fs.h"

namespace flscan::host {

// Paths are the scan root as given joined with the names as the directory listing spells them
// (join_path), so they compare equal to the scanner's result paths, on this machine and inside
// an image alike ("nt4.vhd:p1/WINNT").
struct WindowsInstall {
  std::string volume_root;  // where NTLDR is looked for (the scan root)
  std::string windows_dir;  // e.g. "/mnt/c/WINNT"
  std::string system32;     // e.g. "/mnt/c/WINNT/System32"; empty when there is none
  std::string config_dir;   // system32's "config" child; empty when there is none
  std::string system_hive;  // config's "SYSTEM" child of any type; empty when there is none
  // system32 or its config child when that is a symbolic link: not followed (issue 13), so the
  // hive and the event log below it are not read and the report says so. Empty otherwise.
  std::string unfollowed_link;
};

// The names in one directory of `volume`, listed once (at most kMaxEntriesListed entries, see
// volume_fs.h), for looking up several children case-insensitively without listing the
// directory again for each.
class DirectoryListing {
 public:
  DirectoryListing() = default;  // lists nothing (there is no such directory)
  DirectoryListing(const VolumeFs& volume, const std::string& dir);
  // The child whose name equals `name` ASCII case-insensitively (an exact match wins), as a
  // path joined to the directory. Not found or unlistable: nullopt.
  [[nodiscard]] std::optional<std::string> find(std::string_view name) const;
  // The directory holds more than kMaxEntriesListed entries: a name not found may be among the
  // unlisted ones.
  [[nodiscard]] bool truncated() const { return truncated_; }
  // Why the directory could not be listed, or the listing ended early (empty: it did not).
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::string dir_;
  std::vector<std::string> names_;
  bool truncated_ = false;
  std::string error_;
};

// One lookup: DirectoryListing(volume, dir).find(name).
std::optional<std::string> find_child_icase(const VolumeFs& volume, const std::string& dir, std::string_view name);

// The installation in `windows_dir`, whether or not it has system32/config/SYSTEM (for
// --windows-root: the user said so); the missing parts are empty.
WindowsInstall describe_install(const VolumeFs& volume, const std::string& windows_dir, const std::string& volume_root);

// Every installation under `scan_root` of `volume` (see the file comment): the root itself when
// it is a Windows directory, else each WINNT/WINDOWS child that has system32/config/SYSTEM (of
// any type: a directory or link there is a host error) or system32/config/SysEvent.Evt. A
// system32 or config that is a symbolic link makes an installation too (unfollowed_link): where
// the hive should be, a link is reported, never followed and never passed over as absent.
std::vector<WindowsInstall> find_windows_installs(const VolumeFs& volume, const std::string& scan_root);

}  // namespace flscan::host
