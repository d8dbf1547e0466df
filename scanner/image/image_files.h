// The files a disk image is made of besides the one named as PATH: the backing (parent) file of a
// qcow2 or differencing VHD/VHDX, and its own parent in turn; the later segments of a split raw
// set (issue 15).
//
// flscan runs as root on attacker-controlled data, and these names come from inside the image: a
// backing file recorded as "/etc/shadow" or "../../x" must not be read. So a file an image names
// is looked up ONLY in the directory of the image that names it, by file name (the last component
// of what the image records, split at '/' and '\'), and it must be a regular file that is not a
// symbolic link. A chain of parents ends after limits::kMaxImageChainDepth files, and a file met
// twice (same device and inode) is a loop; both are refused with their reason, never read.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "scanner/platform/fd.h"

namespace flscan::scanner::image {

// The file name in `recorded` (a path as an image stores it: POSIX or Windows, absolute or
// relative): its last component; an error when that names no file ("", ".", "..").
[[nodiscard]] tl::expected<std::string, std::string> recorded_file_name(std::string_view recorded);

// The path of `name` (a bare file name) in the directory of `image_path` (the image's path as
// given: "dir/child.qcow2" -> "dir/name", "child.qcow2" -> "name"; that directory as
// sibling_directory_of maps it).
[[nodiscard]] std::string beside(const std::string& image_path, std::string_view name);

// An image found during a directory walk is opened through an alias in a private directory
// (nested_image.h); the files it names are in the walk's directory, which flscan holds open.
// While registered, the alias's directory `alias_directory` ("/tmp/flscan-image.X/") stands for
// `sibling_directory` ("/proc/self/fd/N/", N a descriptor of the walk's directory held for the
// scan) wherever a file beside the image is looked up (beside, split_raw.h). Thread-safe.
void set_sibling_directory(const std::string& alias_directory, const std::string& sibling_directory);
void clear_sibling_directory(const std::string& alias_directory);
// `directory` (ending in '/', or empty for the working directory) as the files beside an image in
// it are looked up: itself, or the walk directory registered for it.
[[nodiscard]] std::string sibling_directory_of(const std::string& directory);

// Why a file an image names cannot be used.
struct NamedFileError {
  bool missing = false;  // it does not exist (unreadable-image naming it); else refused
  std::string detail;
};

// `path` (a file named by an image, already placed beside it) opened read-only: not through a
// symbolic link in its last component, never blocking, and only when it is a regular file; its
// stat in `st`.
[[nodiscard]] tl::expected<Fd, NamedFileError> open_named_file(const std::string& path, struct stat& st);

// The files of a chain (child first), each checked against the loop and depth rules as it is
// added.
class ImageChain {
 public:
  // Adds the file `path` with stat `st`; an error (the chain so far named) when it was met
  // already or the chain would hold more than limits::kMaxImageChainDepth files.
  [[nodiscard]] tl::expected<void, std::string> add(const std::string& path, const struct stat& st);
  [[nodiscard]] const std::vector<std::string>& files() const { return files_; }

 private:
  std::vector<std::string> files_;
  std::vector<std::pair<dev_t, ino_t>> ids_;
};

}  // namespace flscan::scanner::image
