// --live: FunLove's dropper running on this machine. On Linux the only way a Windows program runs
// is under Wine, which starts it as a process whose argv (or, for a native lookalike, executable)
// names flcss.exe; so /proc/*/exe and /proc/*/cmdline are read and matched by base name. This is
// a Q317218 symptom (the flcss-process row), never a file verdict: names are not evidence of
// content, so a match does not change the exit code.
#pragma once

#include <string>
#include <vector>

namespace flscan::host {

struct LiveProcess {
  long pid = 0;
  std::string exe;                // readlink of /proc/PID/exe (empty when not readable)
  std::vector<std::string> argv;  // /proc/PID/cmdline split at NUL (bounded read)
};

// The processes under `proc_dir` (default /proc) whose executable or any argument has the base
// name flcss.exe (case-insensitive; '/' and '\' both separate, Wine passes Windows paths).
// flscan's own process is left out: its PATH operands may name flcss.exe. Unreadable entries
// (exited processes, other users' exe links) are skipped; sorted by pid.
[[nodiscard]] std::vector<LiveProcess> find_flcss_processes(const std::string& proc_dir = "/proc");

// "pid 123: /usr/bin/sleep, command line: /tmp/x/FLCSS.EXE 60" (raw bytes; printers escape).
[[nodiscard]] std::string describe(const LiveProcess& process);

}  // namespace flscan::host
