#include "scanner/image/image_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>

#include "scanner/image/limits.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/open_path.h"

namespace flscan::scanner::image {

tl::expected<std::string, std::string> recorded_file_name(std::string_view recorded) {
  const std::size_t slash = recorded.find_last_of("/\\");
  const std::string_view name = slash == std::string_view::npos ? recorded : recorded.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    return tl::make_unexpected("\"" + std::string(recorded) + "\" names no file");
  }
  if (name.find('\0') != std::string_view::npos) {
    return tl::make_unexpected("the recorded name holds a NUL byte");
  }
  return std::string(name);
}

namespace {

std::mutex g_siblings_mutex;
std::map<std::string, std::string>& siblings() {
  static std::map<std::string, std::string> map;  // alias directory -> walk directory
  return map;
}

}  // namespace

void set_sibling_directory(const std::string& alias_directory, const std::string& sibling_directory) {
  const std::lock_guard lock(g_siblings_mutex);
  siblings()[alias_directory] = sibling_directory;
}

void clear_sibling_directory(const std::string& alias_directory) {
  const std::lock_guard lock(g_siblings_mutex);
  siblings().erase(alias_directory);
}

std::string sibling_directory_of(const std::string& directory) {
  const std::lock_guard lock(g_siblings_mutex);
  const auto found = siblings().find(directory);
  return found == siblings().end() ? directory : found->second;
}

std::string beside(const std::string& image_path, std::string_view name) {
  const std::size_t slash = image_path.find_last_of('/');
  if (slash == std::string::npos) return std::string(name);
  return sibling_directory_of(image_path.substr(0, slash + 1)) + std::string(name);
}

tl::expected<Fd, NamedFileError> open_named_file(const std::string& path, struct stat& st) {
  // lstat first: a FIFO or device is never opened (an open can block or act), and a symlink is
  // refused by name; O_NOFOLLOW and the fstat below hold even if the file is swapped meanwhile.
  if (stat_path(path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    const int error = errno;
    if (error == ENOENT) return tl::make_unexpected(NamedFileError{true, "missing"});
    return tl::make_unexpected(NamedFileError{false, "lstat: " + errno_text(error)});
  }
  if (S_ISLNK(st.st_mode)) return tl::make_unexpected(NamedFileError{false, "a symbolic link, not followed"});
  if (!S_ISREG(st.st_mode)) return tl::make_unexpected(NamedFileError{false, "not a regular file"});
  Fd fd(open_path(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    const int error = errno;
    if (error == ELOOP) return tl::make_unexpected(NamedFileError{false, "a symbolic link, not followed"});
    return tl::make_unexpected(NamedFileError{error == ENOENT, "open: " + errno_text(error)});
  }
  if (::fstat(fd.get(), &st) != 0) return tl::make_unexpected(NamedFileError{false, "fstat: " + errno_text(errno)});
  if (!S_ISREG(st.st_mode)) return tl::make_unexpected(NamedFileError{false, "not a regular file"});
  return fd;
}

tl::expected<void, std::string> ImageChain::add(const std::string& path, const struct stat& st) {
  const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
  if (std::find(ids_.begin(), ids_.end(), id) != ids_.end()) {
    std::string chain;
    for (const std::string& file : files_) chain += file + " -> ";
    return tl::make_unexpected("the chain of parent files loops: " + chain + path);
  }
  if (files_.size() >= limits::kMaxImageChainDepth) {
    return tl::make_unexpected("the chain of parent files is longer than " +
                               std::to_string(limits::kMaxImageChainDepth) + " files (" + path +
                               " would be the next); the rest is not read");
  }
  files_.push_back(path);
  ids_.push_back(id);
  return {};
}

}  // namespace flscan::scanner::image
