#!/usr/bin/env python3
"""Host evidence is read below PATH without following symbolic links (issue 13; README, Safety).

A user who can write the scanned tree (played by nobody when the test runs as root) puts a
symbolic link where the host report looks for evidence; root's flscan must not read through it:

1. config/SYSTEM -> a root-only (0600) hive outside the PATH (an NTUSER.DAT: its root holds
   AppEvents and Console): exit 2, a host error naming the link "a symbolic link: not followed",
   and none of the hive's key names in any output.
2. System32/config -> the config directory of corpus windows/nt4-infected (an FLC service, so
   following it gives Q317218, exit 1) in an otherwise clean tree: exit 2, the link named, no
   Q317218 verdict.
3. WINNT/System32 -> nt4-infected's System32: the same.
4. config/SysEvent.Evt -> nt4-infected's log, in a copy of windows/q321454: a host error naming the
   link, exit 2 (the log is not read).
5. System32/calc.exe -> nt4-infected's infected calc.exe: the program is not-scanned, never
   clean nor infected (the walk does not follow the link, and neither does the host report).

Usage: host_links_test.py FLSCAN CORPUS_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_support import check, finish  # noqa: E402

NOBODY = 65534


def as_user(args: list) -> None:
    """Runs `args` as nobody when root (the attacker), else as this user."""
    prefix = []
    if os.geteuid() == 0 and shutil.which("setpriv"):
        prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    subprocess.run([*prefix, *args], check=True)


def give(tree: Path) -> None:
    """The tree belongs to the attacker."""
    if os.geteuid() == 0:
        for root, dirs, files in os.walk(tree):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.lchown(name, NOBODY, NOBODY)


def scan(flscan: str, tree: Path) -> tuple[int, str, dict]:
    r = subprocess.run([flscan, "--progress", "never", "--json", "-", str(tree)], capture_output=True, timeout=120)
    text = subprocess.run([flscan, "--progress", "never", str(tree)], capture_output=True, timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace") + text.stdout.decode("utf-8", "replace") + \
        text.stderr.decode("utf-8", "replace") + r.stderr.decode("utf-8", "replace"), json.loads(r.stdout)


def link_case(flscan: str, tree: Path, link: Path, label: str) -> dict:
    code, output, report = scan(flscan, tree)
    check(code == 2, f"{label}: exit {code}, expected 2 (host evidence not read)")
    errors = [e for host in report["hosts"] for e in host["errors"]]
    check(any(str(link) in e and "a symbolic link: not followed" in e for e in errors),
          f"{label}: no host error naming {link} as a symbolic link not followed: {errors}")
    check(all(host["verdict"] != "q317218" for host in report["hosts"]), f"{label}: a Q317218 verdict through a link")
    return {"output": output, "report": report}


def copy_tree(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, symlinks=True)
    give(dest)
    return dest


def main() -> int:
    flscan, corpus = sys.argv[1], Path(sys.argv[2])
    infected = corpus / "windows/nt4-infected/WINNT/System32"
    with tempfile.TemporaryDirectory(prefix="flscan-host-links-") as scratch:
        work = Path(scratch)
        os.chmod(work, 0o755)

        secret = work / "secret.hive"
        shutil.copyfile(corpus / "hives/ntuser-as-system/WINNT/system32/config/SYSTEM", secret)
        os.chmod(secret, 0o600)
        u = work / "u"
        u.mkdir()
        give(u)
        as_user(["mkdir", "-p", str(u / "WINNT/System32/config")])
        link = u / "WINNT/System32/config/SYSTEM"
        as_user(["ln", "-s", str(secret), str(link)])
        result = link_case(flscan, u, link, "config/SYSTEM -> a root-only hive")
        for key in ("AppEvents", "Console"):
            check(key not in result["output"], f"config/SYSTEM -> a root-only hive: its key {key} was shown")

        clean = copy_tree(corpus / "windows/q321454", work / "config-link")
        config = clean / "WINNT/System32/config"
        as_user(["rm", "-rf", str(config)])
        as_user(["ln", "-s", str(infected / "config"), str(config)])
        link_case(flscan, clean, config, "System32/config -> an infected tree's config")

        clean = copy_tree(corpus / "windows/q321454", work / "system32-link")
        system32 = clean / "WINNT/System32"
        as_user(["rm", "-rf", str(system32)])
        as_user(["ln", "-s", str(infected), str(system32)])
        link_case(flscan, clean, system32, "WINNT/System32 -> an infected tree's System32")

        clean = copy_tree(corpus / "windows/q321454", work / "log-link")
        log = clean / "WINNT/System32/config/SysEvent.Evt"
        as_user(["rm", "-f", str(log)])
        as_user(["ln", "-s", str(infected / "config/SysEvent.Evt"), str(log)])
        link_case(flscan, clean, log, "config/SysEvent.Evt -> another tree's log")

        clean = copy_tree(corpus / "windows/q321454", work / "program-link")
        calc = clean / "WINNT/System32/calc.exe"
        as_user(["rm", "-f", str(calc)])
        as_user(["ln", "-s", str(infected / "calc.exe"), str(calc)])
        code, _, report = scan(flscan, clean)
        programs = [p for host in report["hosts"] for p in host["programs"] if p["name"] == "calc.exe"]
        check(len(programs) == 1 and programs[0]["status"] == "not-scanned",
              f"System32/calc.exe -> an infected program: {programs}, expected not-scanned")
        check(code != 1, f"System32/calc.exe -> an infected program: exit {code} (the target was read)")
    return finish("host evidence through symbolic links")


if __name__ == "__main__":
    sys.exit(main())
