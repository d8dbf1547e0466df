#!/usr/bin/env python3
"""Start-up cost guard: what the dynamic loader must do before flscan's main() runs.

Each shared library flscan is linked against is mapped and has its symbols resolved at every run,
`flscan --version` included (README.md, Dependencies: linking). This test checks that
  - libtsk and its image-format libraries are not linked (scanner/image/tsk_runtime.cpp loads libtsk
    when the first disk image is opened) and are not loaded by `flscan --version`;
  - with FLSCAN_STATIC_LIBS (the default), libcrypto, Boost.Filesystem, hivex, libevt and libbfio
    are linked statically;
  - `flscan --version` still prints the built-in set.

usage: startup_test.py FLSCAN STATIC_LIBS(ON|OFF)
"""
import os
import re
import subprocess
import sys

# Never linked: loaded at run time, only for disk images.
IMAGE_LIBS = ("libtsk", "libewf", "libvhdi", "libvmdk", "libafflib")
# Linked statically when FLSCAN_STATIC_LIBS is on.
STATIC_LIBS = ("libcrypto", "libboost_filesystem", "libhivex", "libevt", "libbfio")


def needed(binary: str) -> list[str]:
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def main() -> int:
    flscan, static_libs = sys.argv[1], sys.argv[2].upper() in ("ON", "TRUE", "1", "YES")
    failures = []
    libs = needed(flscan)
    for lib in libs:
        if lib.startswith(IMAGE_LIBS):
            failures.append(f"{lib} is linked: image libraries must be loaded only when an image is opened")
        if static_libs and lib.startswith(STATIC_LIBS):
            failures.append(f"{lib} is linked shared although FLSCAN_STATIC_LIBS is on")

    # What the dynamic loader actually opens for --version (LD_DEBUG=files lists every object,
    # DT_NEEDED or dlopen'ed).
    env = dict(os.environ, LD_DEBUG="files")
    run = subprocess.run([flscan, "--version"], capture_output=True, text=True, env=env)
    if run.returncode != 0:
        failures.append(f"flscan --version exited {run.returncode}: {run.stderr[-500:]}")
    opened = sorted(set(re.findall(r"file=(\S+)\s+\[\d+\];\s+(?:needed|dynamically loaded)", run.stderr)))
    for lib in opened:
        if os.path.basename(lib).startswith(IMAGE_LIBS):
            failures.append(f"flscan --version loaded {lib}")
    if not re.search(r"^signatures: \d+ in total$", run.stdout, re.M) or "built-in " not in run.stdout:
        failures.append(f"flscan --version does not name the signature set: {run.stdout!r}")

    print(f"NEEDED: {', '.join(libs)}")
    print(f"opened by --version: {', '.join(os.path.basename(x) for x in opened)}")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
