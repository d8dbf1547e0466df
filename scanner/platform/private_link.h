// A name of flscan's own in the temporary directory that must not outlive the process: a symbolic
// link alone in a private directory, "$TMPDIR/<prefix>.XXXXXX/<name>" (mkdtemp: mode 0700, made
// by this process). A disk image found during a walk is opened by the libraries through such a
// link to /proc/self/fd/N (scanner/image/nested_image.h): they need a name, and the image's own
// name in the tree must not be resolved again.
//
// Removed, link then directory, when the PrivateLink is destroyed, and also when SIGINT, SIGTERM
// or SIGHUP ends the process once clean_up_on_termination() was called
// (scanner/platform/termination_cleanup.h): a scan interrupted with Ctrl-C or by a CI timeout left
// `flscan-image.XXXXXX` behind, naming the image.
// A process ended by SIGKILL, or by a crash, still leaves it: a directory holding only that link,
// which points at no file once the process is gone (no byte of the image is ever written there).
#pragma once

#include <memory>
#include <string>
#include <utility>

#include <tl/expected.hpp>

#include "scanner/platform/termination_cleanup.h"

namespace flscan::scanner {

class PrivateLink {
 public:
  // Makes the directory "$TMPDIR/<prefix>.XXXXXX" (TMPDIR as std::filesystem::temp_directory_path
  // reads it; /tmp when unset or unreadable) and the link `name` -> `target` in it; the errno of the
  // call that failed (nothing is left behind then). `name` must be one path component.
  [[nodiscard]] static tl::expected<std::unique_ptr<PrivateLink>, int> create(const std::string& prefix,
                                                                              const std::string& name,
                                                                              const std::string& target);
  ~PrivateLink();
  PrivateLink(const PrivateLink&) = delete;
  PrivateLink& operator=(const PrivateLink&) = delete;

  [[nodiscard]] const std::string& path() const { return path_; }           // "<directory>/<name>"
  [[nodiscard]] std::string directory() const { return directory_ + "/"; }  // "<directory>/"

  // Unlinks the link and removes the directory: what the destructor does, and the termination
  // cleanup before it.
  void remove() const;

 private:
  PrivateLink(std::string directory, std::string path) : directory_(std::move(directory)), path_(std::move(path)) {}

  std::string directory_;  // without the trailing '/'
  std::string path_;
  std::unique_ptr<TerminationCleanup> cleanup_;  // remove(), registered while the link exists
};

}  // namespace flscan::scanner
