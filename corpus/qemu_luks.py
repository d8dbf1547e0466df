"""Runs `qemu-img` for the LUKS volumes the corpus and the tests make, reliably.

Before writing a LUKS key slot, qemu-img times PBKDF2 on the CPU of a new thread, reading that
thread's *user* time with getrusage(RUSAGE_THREAD). Linux splits a thread's exact run time into user
and system time in proportion to the timer ticks it sampled in each mode, so a new thread whose
early ticks landed in the kernel can read 0 ms of user time after milliseconds of work. qemu 7.2 in Debian 12 then gives up: "Unable to get accurate CPU usage" (upstream
changed the benchmark in 9.2.1, "crypto: fix bogus error benchmarking pbkdf on fast machines"). How often that
happens depends on the machine and its load: 9 runs in 30 on an idle 2-core VM.

`run` gives qemu-img a getrusage that reports a thread's user time as its exact CPU time
(CLOCK_THREAD_CPUTIME_ID), through a small LD_PRELOAD library compiled once per process. qemu-img
itself, its LUKS header and its encryption are unchanged; only the benchmark's clock is exact, so
the result no longer depends on where the ticks fell.

As a command, `python3 corpus/qemu_luks.py ARGS...` runs `qemu-img ARGS...` that way (for tests
written in C++); its exit status is qemu-img's.
"""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/resource.h>
#include <time.h>

int getrusage(int who, struct rusage *usage) {
  int (*real)(int, struct rusage *) = (int (*)(int, struct rusage *))dlsym(RTLD_NEXT, "getrusage");
  if (real == 0) return -1;
  int rc = real(who, usage);
  struct timespec now;
  if (rc == 0 && who == RUSAGE_THREAD && clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now) == 0) {
    usage->ru_utime.tv_sec = now.tv_sec;
    usage->ru_utime.tv_usec = now.tv_nsec / 1000;
  }
  return rc;
}
"""

_shim_path = None


def _shim() -> Path:
    global _shim_path
    if _shim_path is None or not _shim_path.exists():
        build = Path(tempfile.mkdtemp(prefix="flscan-qemu-luks-"))
        atexit.register(shutil.rmtree, build, True)
        source = build / "exact_thread_time.c"
        source.write_text(SHIM_SOURCE)
        library = build / "exact_thread_time.so"
        compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or "cc"
        subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"],
                       check=True, env=_without_sanitizer_flags())
        _shim_path = library
    return _shim_path


def _without_sanitizer_flags() -> dict:
    # The shim is loaded into qemu-img, which is not built with sanitizers: none of the test
    # environment's sanitizer settings belong in it.
    return {k: v for k, v in os.environ.items() if not k.endswith("SAN_OPTIONS") and k != "LD_PRELOAD"}


def run(args: list) -> None:
    """Runs `qemu-img ARGS` with the exact thread clock; raises SystemExit naming the command and
    qemu-img's own message if it fails."""
    command = ["qemu-img", *map(str, args)]
    env = _without_sanitizer_flags()
    env["LD_PRELOAD"] = str(_shim())
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"qemu-img failed (exit {done.returncode}): {' '.join(command)}\n"
                         f"{done.stderr.strip()}")


if __name__ == "__main__":
    sys.dont_write_bytecode = True
    try:
        run(sys.argv[1:])
    except SystemExit as failure:
        print(failure, file=sys.stderr)
        sys.exit(1)
