#include "scanner/platform/private_link.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

namespace flscan::scanner {

tl::expected<std::unique_ptr<PrivateLink>, int> PrivateLink::create(const std::string& prefix, const std::string& name,
                                                                    const std::string& target) {
  std::error_code ec;
  std::string directory = std::filesystem::temp_directory_path(ec).string();
  if (ec || directory.empty()) directory = "/tmp";
  if (directory.size() > 1 && directory.back() == '/') directory.pop_back();
  directory += "/" + prefix + ".XXXXXX";
  // Made and registered in one locked step, so the termination cleanup sees either nothing or both.
  return TerminationCleanup::locked([&]() -> tl::expected<std::unique_ptr<PrivateLink>, int> {
    if (::mkdtemp(directory.data()) == nullptr) return tl::make_unexpected(errno);
    std::string path = directory + "/" + name;
    if (::symlink(target.c_str(), path.c_str()) != 0) {
      const int error = errno;
      ::rmdir(directory.c_str());
      return tl::make_unexpected(error);
    }
    std::unique_ptr<PrivateLink> link(new PrivateLink(std::move(directory), std::move(path)));
    link->cleanup_ = std::make_unique<TerminationCleanup>([raw = link.get()] { raw->remove(); });
    return link;
  });
}

PrivateLink::~PrivateLink() {
  TerminationCleanup::locked([this] {
    remove();
    cleanup_.reset();
  });
}

void PrivateLink::remove() const {
  ::unlink(path_.c_str());
  ::rmdir(directory_.c_str());
}

}  // namespace flscan::scanner
