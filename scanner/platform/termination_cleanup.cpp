#include "scanner/platform/termination_cleanup.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

namespace flscan::scanner {
namespace {

// Every TerminationCleanup alive. Never destroyed: the cleanup thread may use it while static
// objects are destroyed at exit. Recursive: an owner makes its name and registers it in one
// locked() step.
struct Registry {
  std::recursive_mutex mutex;
  std::set<const std::function<void()>*> actions;
};
Registry& registry() {
  static auto* cleanups = new Registry;
  return *cleanups;
}

constexpr std::array<int, 3> kTerminatingSignals{SIGINT, SIGTERM, SIGHUP};

// The cleanup thread: waits for one of `signals`, runs every action (keeping the registry locked,
// so none is added or removed after), then ends the process by that signal with its default action.
[[noreturn]] void clean_up_on(sigset_t signals) {
  int signal_number = 0;
  while (::sigwait(&signals, &signal_number) != 0) {
  }
  Registry& r = registry();
  r.mutex.lock();  // never unlocked: the process ends here
  for (const std::function<void()>* action : r.actions) {
    try {
      (*action)();
    } catch (...) {
      // An action that failed leaves its name; the others still run.
    }
  }
  ::signal(signal_number, SIG_DFL);
  sigset_t only{};
  ::sigemptyset(&only);
  ::sigaddset(&only, signal_number);
  ::pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  ::raise(signal_number);
  ::_exit(128 + signal_number);  // not reached: the default action of these signals ends the process
}

}  // namespace

TerminationCleanup::TerminationCleanup(std::function<void()> action) : action_(std::move(action)) {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  r.actions.insert(&action_);
}

TerminationCleanup::~TerminationCleanup() {
  Registry& r = registry();
  const std::lock_guard lock(r.mutex);
  r.actions.erase(&action_);
}

std::recursive_mutex& TerminationCleanup::registry_mutex() { return registry().mutex; }

void clean_up_on_termination() {
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
