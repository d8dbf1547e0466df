// Names of flscan's own that must not outlive the process, removed also when SIGINT, SIGTERM or
// SIGHUP ends it: the private links to images in $TMPDIR (scanner/platform/private_link.h) and a
// report's named temporary file where the file system has no unnamed ones
// (scanner/report/report_file.h). A Ctrl-C or a CI timeout used to leave them behind.
//
// A TerminationCleanup holds one such action while it lives; its destructor only unregisters it
// (the owner removes the name itself). Once clean_up_on_termination() was called, one of those
// signals runs every registered action, then ends the process as the signal would have. SIGKILL
// or a crash still leaves the names.
#pragma once

#include <functional>
#include <mutex>

namespace flscan::scanner {

class TerminationCleanup {
 public:
  // Registers `action`. Make the name and register its cleanup inside locked() so that the
  // termination cleanup sees both or neither.
  explicit TerminationCleanup(std::function<void()> action);
  ~TerminationCleanup();
  TerminationCleanup(const TerminationCleanup&) = delete;
  TerminationCleanup& operator=(const TerminationCleanup&) = delete;

  // Runs `step` with the registry locked (re-entrant: it may construct or destroy
  // TerminationCleanups) and returns what it returns: no termination cleanup runs meanwhile. Once
  // one has begun, this blocks until the process ends.
  template <typename Step>
  static auto locked(Step&& step) {
    const std::lock_guard lock(registry_mutex());
    return step();
  }

 private:
  static std::recursive_mutex& registry_mutex();

  std::function<void()> action_;
};

// From now on SIGINT, SIGTERM and SIGHUP (those whose disposition is the default: one ignored, as
// under nohup, stays ignored) run every registered action first, then end the process as they
// would have (the same signal, with its default action). Call it before any other thread is
// started: the signals are blocked in the calling thread, so in every thread started later, and a
// thread of its own waits for them (sigwait), so no async-signal-safety limits what an action may
// do. Once the cleanup has begun, nothing is registered or unregistered any more.
void clean_up_on_termination();

}  // namespace flscan::scanner
