#include "scanner/platform/private_link.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

namespace flscan::scanner {
namespace {

// Every PrivateLink alive. Never destroyed: the cleanup thread may use it while static objects
// are destroyed at exit.
struct Registry {
  std::mutex mutex;
  std::set<const PrivateLink*> links;
};
Registry& registry() {
  static auto* links = new Registry;
  return *links;
}

constexpr std::array<int, 3> kTerminatingSignals{SIGINT, SIGTERM, SIGHUP};

// The cleanup thread: waits for one of `signals`, removes every link (keeping the registry locked,
// so none is made or removed after), then ends the process by that signal with its default action.
[[noreturn]] void clean_up_on(sigset_t signals) {
  int signal_number = 0;
  while (::sigwait(&signals, &signal_number) != 0) {
  }
  Registry& links = registry();
  links.mutex.lock();  // never unlocked: the process ends here
  for (const PrivateLink* link : links.links) link->remove();
  ::signal(signal_number, SIG_DFL);
  sigset_t only{};
  ::sigemptyset(&only);
  ::sigaddset(&only, signal_number);
  ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  ::raise(signal_number);
  ::_exit(128 + signal_number);  // not reached: the default action of these signals ends the process
}

}  // namespace

tl::expected<std::unique_ptr<PrivateLink>, int> PrivateLink::create(const std::string& prefix, const std::string& name,
                                                                    const std::string& target) {
  std::error_code ec;
  std::string directory = std::filesystem::temp_directory_path(ec).string();
  if (ec || directory.empty()) directory = "/tmp";
  if (directory.size() > 1 && directory.back() == '/') directory.pop_back();
  directory += "/" + prefix + ".XXXXXX";
  // Made and registered under the lock, so the termination cleanup sees either nothing or both.
  Registry& links = registry();
  const std::lock_guard lock(links.mutex);
  if (::mkdtemp(directory.data()) == nullptr) return tl::make_unexpected(errno);
  std::string path = directory + "/" + name;
  if (::symlink(target.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::rmdir(directory.c_str());
    return tl::make_unexpected(error);
  }
  std::unique_ptr<PrivateLink> link(new PrivateLink(std::move(directory), std::move(path)));
  links.links.insert(link.get());
  return link;
}

PrivateLink::~PrivateLink() {
  Registry& links = registry();
  const std::lock_guard lock(links.mutex);
  remove();
  links.links.erase(this);
}

void PrivateLink::remove() const {
  ::unlink(path_.c_str());
  ::rmdir(directory_.c_str());
}

void remove_private_links_on_termination() {
  sigset_t signals{};
  ::sigemptyset(&signals);
  std::size_t handled = 0;
  for (const int signal_number : kTerminatingSignals) {
    struct sigaction current {};
    // An ignored signal stays ignored (nohup, a shell's background job): blocked, it would be
    // delivered to sigwait instead of being discarded.
    if (::sigaction(signal_number, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) == 0 &&
        current.sa_handler == SIG_DFL) {
      ::sigaddset(&signals, signal_number);
      ++handled;
    }
  }
  if (handled == 0 || ::pthread_sigmask(SIG_BLOCK, &signals, nullptr) != 0) return;
  try {
    std::thread([signals] { clean_up_on(signals); }).detach();
  } catch (const std::system_error&) {
    // No thread to wait for them: the signals end the process as before, without the cleanup.
    ::pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  }
}

}  // namespace flscan::scanner
