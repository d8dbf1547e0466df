#!/usr/bin/env python3
"""The rescue image booted in QEMU, end to end (issue 16; README "Rescue media").

Builds the ISO with rescue/build_rescue.py from the flscan under test (or takes --iso), builds
disks from the corpus with the corpus's own tooling (corpus/build_images.py: mkntfs +
ntfs_populate, sfdisk), records each disk's SHA-256, and boots the ISO twice with every disk
attached (QEMU TCG; no KVM needed):

  bios   PC (i440FX), SeaBIOS, the ISO as a CD:   the infected disk on IDE (PIIX), the clean disk
         on AHCI, the report stick on USB (xHCI, usb-storage);
  uefi   Q35, OVMF, the ISO written as a USB stick (the hybrid image's other half): the infected
         disk on AHCI, the clean disk on NVMe, the report stick on USB.

In each boot GRUB's "then power off" entry is chosen through the serial port (its hotkey `p`),
and from the serial log and the stick (read with mtools, never mounted) the test asserts:

  - "flscan-rescue: begin", then one verdict line per scanned disk, then "flscan-rescue: done";
  - the infected disk (MBR + NTFS holding the corpus tree windows/nt4-infected): verdict q317218,
    exit 1 and the status of each Q317218 symptom, as the corpus manifest's host_trees entry says,
    no host error (the SYSTEM hive and SysEvent.Evt read); every file the manifest lists under
    that tree with a state other than clean is in the JSON report's results with that state and
    named in the text report; the JSON parses and has the keys of scanner/JSON.md the test reads;
    the HTML report holds the verdict (data-verdict="q317218");
  - the clean disk (windows/clean): verdict no-evidence, exit 0, its symptoms, no result;
  - the stick and, in the UEFI boot, the USB stick holding the image itself are not scanned;
  - every disk's SHA-256 is the same after the boot as before (the disks are attached writable:
    only the image keeps them unchanged).

--arch i686 boots the i686 image the same way on qemu-system-i386 with a Pentium III (no x86-64;
--cpu another model) and 32-bit OVMF. Each boot's wall time is printed. Needs qemu-system-x86, ovmf, mtools and what build_rescue.py
needs; the kernel is cached (build_rescue.py --cache).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.dont_write_bytecode = True
sys.path.insert(0, str(HERE.parent / "corpus"))
import build_images  # noqa: E402  (mkntfs + ntfs_populate volumes, sfdisk tables, sparse splicing)

MIB = 1 << 20
SECTOR = 512
STICK_OFFSET = MIB      # the report stick's FAT32 partition starts at 1 MiB, as fdisk places it
STICK_SECTORS = 40 * MIB // SECTOR
REPORT_LABEL = "FLSCAN-RPT"
# UEFI firmware per image: (code, variables, machine options, package). Debian 12's 32-bit OVMF
# (ovmf-ia32) comes only as the Secure Boot build, which needs SMM; its variables enrol no keys, so
# Secure Boot stays off and the unsigned image boots.
OVMF = {"amd64": (Path("/usr/share/OVMF/OVMF_CODE_4M.fd"), Path("/usr/share/OVMF/OVMF_VARS_4M.fd"), ["-M", "q35"], "ovmf"),
        "i686": (Path("/usr/share/OVMF/OVMF32_CODE_4M.secboot.fd"), Path("/usr/share/OVMF/OVMF32_VARS_4M.fd"),
                 ["-M", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on"], "ovmf-ia32")}
BOOT_TIMEOUT = 900      # seconds a boot may take, scan included (TCG on a busy 2-core machine)
boot_timeout = BOOT_TIMEOUT  # --boot-timeout: shorter when searching the least memory (a deadlock waits it out)
MENU_TEXT = b"then power off"  # the GRUB entry whose hotkey is p (rescue/grub.cfg)

failures: list = []


def check(condition, text: str) -> bool:
    if not condition:
        failures.append(text)
        print(f"FAIL: {text}", flush=True)
    return bool(condition)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(MIB):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Disks
# ---------------------------------------------------------------------------------------------
class Disk:
    """A scanned disk: an MBR with one NTFS partition holding a corpus tree. `mib` makes each
    disk's size unique: the test tells the disks apart in the reports by their size in sectors."""

    def __init__(self, work: Path, corpus: Path, populate: Path, tree: str, mib: int) -> None:
        self.tree = tree
        self.path = work / f"{tree.replace('/', '-')}.raw"
        self.sectors = mib * MIB // SECTOR
        scratch = work / f"{self.path.stem}.ntfs"
        build_images.new_image(self.path, self.sectors * SECTOR)
        start, size = build_images.ALIGN, build_images.NTFS_SECTORS
        build_images.sfdisk(self.path, f"label: dos\nunit: sectors\n\nstart={start}, size={size}, type=7\n")
        build_images.make_ntfs(scratch, size, start, "WIN", corpus / tree, populate)
        build_images.splice(self.path, start * SECTOR, scratch)
        scratch.unlink()
        self.sha256 = sha256(self.path)


def make_stick(path: Path) -> None:
    """A report stick as README "Rescue media" prepares one: an MBR, one FAT32 partition (type
    0x0c) labelled FLSCAN-RPT."""
    start = STICK_OFFSET // SECTOR
    build_images.new_image(path, STICK_OFFSET + STICK_SECTORS * SECTOR)
    build_images.sfdisk(path, f"label: dos\nunit: sectors\n\nstart={start}, size={STICK_SECTORS}, type=c\n")
    volume = path.with_suffix(".fat")
    build_images.make_fat32(volume, STICK_SECTORS, start, REPORT_LABEL, 0x464C5250, None)
    build_images.splice(path, STICK_OFFSET, volume)
    volume.unlink()


def stick_files(stick: Path) -> dict:
    """{path: bytes} of every file on the stick's FAT partition, read with mtools."""
    image = f"{stick}@@{STICK_OFFSET}"
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    listing = subprocess.run(["mdir", "-/", "-b", "-i", image, "::/"], capture_output=True, text=True, env=env)
    files = {}
    for line in listing.stdout.splitlines():
        name = line.strip()
        if not name or name.endswith("/"):
            continue
        data = subprocess.run(["mtype", "-i", image, name], capture_output=True, env=env)
        if data.returncode == 0:
            files[name.removeprefix("::/")] = data.stdout
    return files


# ---------------------------------------------------------------------------------------------
# Booting
# ---------------------------------------------------------------------------------------------
def boot(name: str, command: list, serial_log: Path) -> tuple:
    """Runs QEMU with the serial port on stdin/stdout; presses GRUB's `p` hotkey when the menu
    shows; returns (serial output, seconds, exit code or None on timeout)."""
    log(f"boot {name}: {' '.join(map(str, command))}")
    started = time.monotonic()
    process = subprocess.Popen([str(c) for c in command], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    output = bytearray()
    lock = threading.Lock()
    serial_file = open(serial_log, "wb")

    def reader() -> None:  # also to the log file as it comes, for whoever watches a slow boot
        while chunk := process.stdout.read1(4096):
            with lock:
                output.extend(chunk)
            serial_file.write(chunk)
            serial_file.flush()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    presses, last_press, done_at = 0, 0.0, None
    code = None
    while time.monotonic() - started < boot_timeout:
        code = process.poll()
        if code is not None:
            break
        with lock:
            menu = MENU_TEXT in output
            booted = b"flscan-rescue:" in output
            panic = b"end Kernel panic" in output
            # GRUB waits for a key after a menu entry failed (e.g. "error: out of memory").
            grub_failed = not booted and b"Press any key to continue" in output
            done = b"flscan-rescue: done" in output
        if done and done_at is None:
            done_at = time.monotonic()
        if done_at is not None and time.monotonic() - done_at > 120:
            process.kill()
            check(False, f"{name}: no power-off 120 s after flscan-rescue: done (the power-off entry was not chosen?)")
            break
        if panic or grub_failed:
            process.kill()
            with lock:
                errors = sorted(set(re.findall(rb"error: [^\r\n]*", output)))
            check(False, f"{name}: " + ("kernel panic" if panic else f"GRUB failed: {b'; '.join(errors).decode('utf-8', 'replace')}"))
            break
        if menu and not booted and presses < 5 and time.monotonic() - last_press > 2:
            # GRUB reads the serial port while its menu counts down (5 s); the key is pressed again
            # a few times, 2 s apart, in case one is lost to the firmware or a redraw.
            process.stdin.write(b"p")
            process.stdin.flush()
            presses += 1
            last_press = time.monotonic()
        time.sleep(0.5)
    else:
        process.kill()
        code = None
    process.wait()
    thread.join(timeout=10)
    serial_file.close()
    seconds = time.monotonic() - started
    text = output.decode("utf-8", "replace")
    check(presses, f"{name}: the GRUB menu ({MENU_TEXT.decode()}) never showed on the serial port")
    log(f"boot {name}: {seconds:.0f} s, QEMU exit {code}")
    return text, seconds, code


# The machine each image is booted on: the i686 image on a 32-bit emulator with a Pentium III (no
# x86-64, no PAE needed: Debian's 686 kernel), as the NT4/2000-era PCs it is for.
EMULATORS = {"amd64": ["qemu-system-x86_64"], "i686": ["qemu-system-i386", "-cpu", "pentium3"]}


def qemu_base(arch: str, memory: int) -> list:
    return EMULATORS[arch] + ["-accel", "tcg", "-m", str(memory), "-smp", "2", "-display", "none",
            "-monitor", "none", "-serial", "stdio", "-no-reboot", "-nodefaults", "-vga", "std"]


def drive(disk: Path, ident: str, readonly: bool = False) -> list:
    extra = ",readonly=on" if readonly else ""
    return ["-drive", f"if=none,id={ident},file={disk},format=raw,cache=unsafe{extra}"]


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------
def verdict_lines(name: str, text: str) -> dict:
    """{disk: (verdict, exit)} from the serial log; checks begin/verdicts/done order."""
    lines = [line.strip() for line in re.findall(r"flscan-rescue: [^\r\n]*", text)]
    protocol = [l for l in lines if re.match(r"flscan-rescue: (begin|done|verdict )", l)]
    errors = [l for l in lines if l.startswith("flscan-rescue: error")]
    check(not errors, f"{name}: {errors}")
    # Each protocol line is printed on the console and on ttyS0; with console=tty0 last, ttyS0
    # gets it once from the init and the kernel does not echo /dev/console there: no duplicates.
    check(protocol[:1] == ["flscan-rescue: begin"], f"{name}: the first protocol line is not begin: {protocol[:3]}")
    check(protocol[-1:] == ["flscan-rescue: done"], f"{name}: the last protocol line is not done: {protocol[-3:]}")
    found = {}
    for line in protocol[1:-1]:
        match = re.fullmatch(r"flscan-rescue: verdict (\S+) (\S+) (\d+)", line)
        if check(match, f"{name}: malformed line between begin and done: {line!r}"):
            check(match.group(1) not in found, f"{name}: two verdict lines for {match.group(1)}")
            found[match.group(1)] = (match.group(2), int(match.group(3)))
    return found


def disk_names(name: str, files: dict, disks: list) -> dict:
    """{Disk: device name} from disks.txt on the stick ("sda 20480 sectors, ...")."""
    listings = [data.decode("utf-8", "replace") for path, data in files.items() if path.endswith("/disks.txt")]
    if not check(len(listings) == 1, f"{name}: {len(listings)} disks.txt on the stick, not 1: {sorted(files)}"):
        return {}
    names = {}
    for disk in disks:
        match = re.search(rf"^\s*(\S+) {disk.sectors} sectors", listings[0], re.M)
        if check(match, f"{name}: disks.txt names no disk of {disk.sectors} sectors ({disk.tree}):\n{listings[0]}"):
            names[disk] = match.group(1)
    return names


def check_reports(name: str, files: dict, device: str, disk: Disk, expected: dict) -> None:
    """The text, JSON and HTML reports of one disk against the corpus manifest's expectations."""
    def one(suffix):
        hits = [data for path, data in files.items() if path.endswith(f"/{device}.{suffix}")]
        check(len(hits) == 1, f"{name}: {len(hits)} {device}.{suffix} on the stick, not 1")
        return hits[0] if hits else b""

    text, raw_json, html = one("txt").decode("utf-8", "replace"), one("json"), one("html").decode("utf-8", "replace")
    try:
        report = json.loads(raw_json)
    except ValueError as error:
        check(False, f"{name}: {device}.json is not JSON: {error}")
        return
    # The keys scanner/JSON.md defines that this test reads.
    check(report.get("schema") == "flscan-report" and report.get("schema_version") == 1,
          f"{name}: {device}.json schema {report.get('schema')!r} version {report.get('schema_version')!r}")
    check(report.get("roots") == [{"text": f"/dev/{device}"}], f"{name}: {device}.json roots {report.get('roots')}")
    volumes = [(v.get("volume"), v.get("status"), v.get("filesystem")) for v in report.get("volumes", [])]
    check(volumes == [("p1", "scanned", "ntfs")], f"{name}: {device}.json volumes {volumes}, not p1 scanned ntfs")
    check(report.get("not_scanned") == [], f"{name}: {device}: NOT SCANNED {report.get('not_scanned')}")
    hosts = report.get("hosts", [])
    verdicts = [h.get("verdict") for h in hosts]
    check(verdicts == [expected["verdict"]], f"{name}: {device}.json hosts verdicts {verdicts}, manifest {expected['verdict']}")
    for host in hosts:
        symptoms = {s.get("id"): s.get("status") for s in host.get("symptoms", [])}
        check(symptoms == expected["symptoms"], f"{name}: {device}.json symptoms {symptoms}, manifest {expected['symptoms']}")
        check(host.get("errors") == [], f"{name}: {device}.json host errors {host.get('errors')}")
    check(report.get("exit_code") == expected["exit"], f"{name}: {device}.json exit_code {report.get('exit_code')}")
    prefix = f"/dev/{device}:p1/"
    results = {}
    for result in report.get("results", []):
        path = result.get("path", {}).get("text", "")
        check(path.startswith(prefix), f"{name}: result outside {prefix}: {path}")
        results[path.removeprefix(prefix)] = result.get("state")
    check(results == expected["states"], f"{name}: {device}.json results {results}, manifest {expected['states']}")
    for path in expected["states"]:
        check(f"{prefix}{path}" in text, f"{name}: the text report of {device} does not name {prefix}{path}")
    check(f'data-verdict="{expected["verdict"]}"' in html, f"{name}: {device}.html lacks data-verdict=\"{expected['verdict']}\"")
    check(html.rstrip().endswith("</html>"), f"{name}: {device}.html does not end with </html>")


def expectations(corpus: Path, tree: str) -> dict:
    """What the corpus manifest says a scan of `tree` gives: the host verdict, the exit code, and
    the state of every file that is not clean (paths relative to the tree)."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    host = next(t for t in manifest["host_trees"] if t["root"] == tree)
    states = {f["path"].removeprefix(f"{tree}/"): f["expected"] for f in manifest["files"]
              if f["path"].startswith(f"{tree}/") and f["expected"] != "clean"}
    verdict = host["expected_verdict"]
    return {"verdict": verdict, "exit": 1 if verdict == "q317218" else 0, "states": states, "symptoms": host["symptoms"]}


def run_boot(name: str, command: list, work: Path, stick: Path, disks: list, expected: dict,
             also_seen: list) -> float:
    text, seconds, code = boot(name, command, work / f"{name}-serial.log")
    check(code == 0, f"{name}: QEMU did not power off by itself (exit {code}, timeout {boot_timeout} s)")
    verdicts = verdict_lines(name, text)
    files = stick_files(stick)
    names = disk_names(name, files, disks)
    check(sorted(verdicts) == sorted(names.values()),
          f"{name}: verdict lines for {sorted(verdicts)}, disks to scan {sorted(names.values())} "
          "(the report stick and the boot medium must not be scanned)")
    for disk, device in names.items():
        want = expected[disk.tree]
        check(verdicts.get(device) == (want["verdict"], want["exit"]),
              f"{name}: {device} ({disk.tree}): verdict line {verdicts.get(device)}, manifest {want['verdict']} {want['exit']}")
        check_reports(name, files, device, disk, want)
    for phrase in also_seen:
        check(phrase in text, f"{name}: the serial log lacks {phrase!r}")
    for disk in disks:
        check(sha256(disk.path) == disk.sha256, f"{name}: {disk.path.name} changed (SHA-256 before {disk.sha256})")
    if failures:
        print(f"--- {name} serial log (last 4000 characters) ---\n{text[-4000:]}", flush=True)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flscan", type=Path, help="the flscan to put in the image (built here with build_rescue.py)")
    parser.add_argument("--prefer-flscan", type=Path,
                        help="put this flscan in the image when it exists (the static one of `make portable`, "
                             "which `make test` builds first), else --flscan")
    parser.add_argument("--cmake-cache", type=Path, help="CMakeCache.txt, for a dynamic flscan")
    parser.add_argument("--iso", type=Path, help="boot this ISO instead of building one")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--ntfs-populate", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--memory", type=int, default=384, help="MiB of RAM for each boot (README \"Rescue media\": the least each image needs)")
    parser.add_argument("--only", choices=["bios", "uefi"], help="one boot only")
    parser.add_argument("--arch", choices=["amd64", "i686"], default="amd64",
                        help="the image's architecture (i686: qemu-system-i386, a Pentium III, 32-bit OVMF)")
    parser.add_argument("--cpu", help="QEMU's -cpu model (default: pentium3 for i686, QEMU's own for amd64)")
    parser.add_argument("--skip-without-flscan", action="store_true",
                        help="exit 77 (ctest: skipped) when --flscan does not exist (make portable ARCH=i686 not run)")
    parser.add_argument("--boot-timeout", type=int, default=BOOT_TIMEOUT, help="seconds a boot may take")
    args = parser.parse_args()
    global boot_timeout
    boot_timeout = args.boot_timeout
    if args.cpu:
        EMULATORS[args.arch] = [EMULATORS[args.arch][0], "-cpu", args.cpu]
    for tool, package in ((EMULATORS[args.arch][0], "qemu-system-x86"), ("mdir", "mtools"), ("mkntfs", "ntfs-3g"),
                          ("sfdisk", "fdisk")):
        if not shutil.which(tool):
            print(f"FAIL: {tool} not found (.ci/install-deps.sh installs {package})")
            return 1
    ovmf_code, ovmf_vars, ovmf_machine, ovmf_package = OVMF[args.arch]
    if args.only != "bios" and not ovmf_code.exists():
        print(f"FAIL: {ovmf_code} not found (.ci/install-deps.sh installs {ovmf_package})")
        return 1
    if args.skip_without_flscan and args.iso is None and args.flscan is not None and not args.flscan.is_file():
        print(f"SKIP: {args.flscan} not built (make portable ARCH=i686)")
        return 77
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    iso = args.iso
    if iso is None:
        if args.flscan is None:
            print("FAIL: --flscan or --iso is needed")
            return 1
        if args.prefer_flscan is not None and args.prefer_flscan.is_file():
            args.flscan = args.prefer_flscan
        log(f"the image holds {args.flscan}")
        iso = args.work / f"flscan-rescue-{args.arch}.iso"
        started = time.monotonic()
        command = [sys.executable, HERE / "build_rescue.py", "--arch", args.arch, "--flscan", args.flscan, "--output", iso]
        if args.cmake_cache:
            command += ["--cmake-cache", args.cmake_cache]
        result = subprocess.run([str(c) for c in command])
        if result.returncode != 0:
            print("FAIL: build_rescue.py failed")
            return 1
        log(f"ISO built in {time.monotonic() - started:.0f} s")

    infected = Disk(args.work, args.corpus, args.ntfs_populate, "windows/nt4-infected", 24)
    clean = Disk(args.work, args.corpus, args.ntfs_populate, "windows/clean", 20)
    disks = [infected, clean]
    expected = {d.tree: expectations(args.corpus, d.tree) for d in disks}
    check(expected[infected.tree]["verdict"] == "q317218" and expected[clean.tree]["verdict"] == "no-evidence",
          f"the corpus manifest changed: {expected}")
    stick = args.work / "stick.raw"
    times = {}

    if args.only in (None, "bios"):
        make_stick(stick)
        command = qemu_base(args.arch, args.memory) + [
            "-M", "pc", "-boot", "d",
            *drive(infected.path, "infected"), "-device", "ide-hd,drive=infected,bus=ide.0,unit=0",
            "-drive", f"if=none,id=cd,file={iso},format=raw,media=cdrom,readonly=on",
            "-device", "ide-cd,drive=cd,bus=ide.1,unit=0",
            "-device", "ahci,id=ahci", *drive(clean.path, "clean"), "-device", "ide-hd,drive=clean,bus=ahci.0",
            "-device", "qemu-xhci,id=xhci", *drive(stick, "stick"), "-device", "usb-storage,drive=stick,bus=xhci.0"]
        times["bios"] = run_boot("bios", command, args.work, stick, disks, expected, [])

    if args.only in (None, "uefi"):
        make_stick(stick)
        variables = args.work / "OVMF_VARS.fd"
        shutil.copy(ovmf_vars, variables)
        command = qemu_base(args.arch, args.memory) + [
            *ovmf_machine,
            "-drive", f"if=pflash,format=raw,unit=0,file={ovmf_code},readonly=on",
            "-drive", f"if=pflash,format=raw,unit=1,file={variables}",
            *drive(infected.path, "infected"), "-device", "ide-hd,drive=infected,bus=ide.0",
            *drive(clean.path, "clean"), "-device", "nvme,drive=clean,serial=FLSCANCLEAN",
            "-device", "qemu-xhci,id=xhci",
            *drive(iso, "boot", readonly=True), "-device", "usb-storage,drive=boot,bus=xhci.0,bootindex=0",
            *drive(stick, "stick"), "-device", "usb-storage,drive=stick,bus=xhci.0"]
        times["uefi"] = run_boot("uefi", command, args.work, stick, disks, expected, ["is this rescue image"])

    log(f"boot times ({args.arch}): " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()) + f" with -m {args.memory}")
    print(f"rescue boot test: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
