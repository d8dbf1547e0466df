#!/usr/bin/env python3
"""flscan-live.exe (x86-64 build) under Wine against a real service (issue 17).

In a private WINEPREFIX under the build directory, created fresh for each run:
  1. no FLCSS service, no flcss.exe process: `processes.flcss` and `services.flcss` are empty lists
     ("looked and found none", live/LIVE_JSON.md), the machine section names Wine's C:\\windows,
     and the exit code is 0;
  2. the test's own service program (flcss_service.c, a tiny real service that reports RUNNING and
     waits) copied to C:\\windows\\system32\\flcss.exe, installed with
     `wine sc create FLCSS binPath= C:\\windows\\system32\\flcss.exe start= auto` and started with
     `wine sc start FLCSS`: flscan-live reports one process flcss.exe with that path, and the
     service FLCSS, state running, start type auto, that binary path, the process's PID; the
     executable is among the files checked with why flcss-process and flcss-service; exit code 1;
  3. an infected corpus sample (the manifest's infected/gui_hello.exe) copied over
     C:\\windows\\system32\\calc.exe, one of the 33 programs Q317218 names: the file check reports it
     with the manifest's expected state and sha256 (CryptoAPI's SHA-256 of the bytes), why
     q317218-program;
  4. the same with Wine's rsaenh.dll disabled (no CryptoAPI provider, as Windows 2000 has no
     PROV_RSA_AES): calc.exe is still checked and found infected, its sha256 null and sha256_error
     naming CryptAcquireContext(PROV_RSA_AES).

Wine's event-log API is a stub (advapi32's ReadEventLogW reports no records), so nothing about the
System log is asserted here beyond its section existing: the event-log records are parsed and
classified by engine/event_record, whose unit tests (tests/engine/event_record_test.cpp) build
EVENTLOGRECORD bytes field by field. 32-bit programs cannot run on this machine's kernel, so the
i686 build is checked by its imports only (import_table_test.py).

  5. the document of step 2, as flscan-live wrote it, read by `flscan --live-report` (the Linux
     side, scanner/host/live_report.h) over the corpus's infected NT4 tree: unchanged, it is read
     (not refused as a bad document) and applied to no installation (Wine's computer is not the
     tree's); with only its two identity fields (machine.computer_name, windows_directory) set to
     the tree's, as the manifest records them, it is joined: flcss-process found with the PID
     flscan-live saw, flcss-service found with the service running. This is the round trip of
     live/LIVE_JSON.md between the producer and the reader.

Every wine call has a timeout; `wineserver -k` ends the prefix's processes at the end, whatever
happened.

Usage: wine_live_test.py FLSCAN_LIVE_X86_64_EXE FLCSS_EXE CORPUS_DIR WORK_DIR FLSCAN"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

WINE_TIMEOUT = 300  # Wine's first start in a new prefix takes a while on a busy machine
failures: list[str] = []


def check(condition: bool, text: str) -> bool:
    if not condition:
        failures.append(text)
    return condition


def wine(env: dict, *args: str, timeout: int = WINE_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(["wine", *args], env=env, capture_output=True, timeout=timeout, cwd=env["WINEPREFIX"])


def run_live(env: dict, exe: Path, prefix: Path, what: str) -> dict | None:
    out = prefix / "drive_c" / "live.json"
    out.unlink(missing_ok=True)
    r = wine(env, str(exe), "--json", "C:\\live.json")
    text = r.stdout.decode("utf-8", "replace")
    if not check(out.is_file(), f"{what}: no JSON written (exit {r.returncode}); stdout: {text[-1500:]}; "
                 f"stderr: {r.stderr.decode('utf-8', 'replace')[-1500:]}"):
        return None
    doc = json.loads(out.read_text(encoding="utf-8"))
    doc["_text"] = out.read_text(encoding="utf-8")
    doc["_returncode"] = r.returncode
    doc["_stdout"] = text
    return doc


def checked_file(doc: dict, path: str) -> dict | None:
    for f in doc["files"]["checked"]:
        if f["path"].lower() == path.lower():
            return f
    return None


def main() -> int:
    if len(sys.argv) != 6:
        print(__doc__)
        return 2
    exe, flcss, corpus, work, flscan = (Path(a).resolve() for a in sys.argv[1:])
    if shutil.which("wine") is None:
        print("wine is not installed (.ci/install-deps.sh installs it)")
        return 1
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    sample = next(f for f in manifest["files"] if f["path"] == "infected/gui_hello.exe")

    prefix = work / "wineprefix"
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    env = dict(os.environ, WINEPREFIX=str(prefix), WINEDEBUG="-all", WINEARCH="win64",
               WINEDLLOVERRIDES="mscoree,mshtml=")  # no Mono/Gecko install dialogs
    try:
        init = subprocess.run(["wineboot", "--init"], env=env, capture_output=True, timeout=WINE_TIMEOUT)
        subprocess.run(["wineserver", "-w"], env=env, capture_output=True, timeout=WINE_TIMEOUT)
        if not check(init.returncode == 0, f"wineboot --init: exit {init.returncode}"):
            return finish()
        system32 = prefix / "drive_c" / "windows" / "system32"

        # 1. Nothing of FLCSS on the machine.
        doc = run_live(env, exe, prefix, "without FLCSS")
        if doc is not None:
            check(doc["format"] == "flscan-live" and doc["format_version"] == 1, "without FLCSS: format")
            check(doc["tool_architecture"] == "x86_64", f"without FLCSS: architecture {doc['tool_architecture']}")
            check(doc["machine"]["windows_directory"].lower() == "c:\\windows",
                  f"without FLCSS: windows_directory {doc['machine']['windows_directory']}")
            check(doc["processes"]["method"] == "toolhelp32", f"without FLCSS: method {doc['processes']['method']}")
            check(doc["processes"]["process_count"] > 0, "without FLCSS: no process enumerated")
            check(doc["processes"]["flcss"] == [], f"without FLCSS: processes.flcss {doc['processes']['flcss']}")
            check(doc["services"]["service_count"] > 0, "without FLCSS: no service enumerated")
            check(doc["services"]["flcss"] == [], f"without FLCSS: services.flcss {doc['services']['flcss']}")
            check("event_log" in doc and doc["event_log"]["status"] in ("ok", "partial", "error", "unavailable"),
                  "without FLCSS: event_log section")
            check(doc["_returncode"] == 0, f"without FLCSS: exit {doc['_returncode']}")

        # 2. The FLCSS service, running.
        shutil.copyfile(flcss, system32 / "flcss.exe")
        created = wine(env, "sc", "create", "FLCSS", "binPath=", "C:\\windows\\system32\\flcss.exe", "start=", "auto")
        check(created.returncode == 0, f"sc create: exit {created.returncode}: {created.stdout[-500:]!r}")
        # Wine's services.exe starts auto-start services itself when it (re)starts, so `sc start` may
        # answer "already running" (exit 1): what counts is the state the SCM reports next.
        started = wine(env, "sc", "start", "FLCSS")
        query = wine(env, "sc", "query", "FLCSS")
        check(b"RUNNING" in query.stdout, f"FLCSS not running: sc start exit {started.returncode}, "
              f"sc query: {query.stdout[-500:]!r}")
        # 3. An infected Q317218 program.
        shutil.copyfile(corpus / sample["path"], system32 / "calc.exe")

        doc = run_live(env, exe, prefix, "with FLCSS")
        if doc is not None:
            procs = doc["processes"]["flcss"]
            services = doc["services"]["flcss"]
            if check(len(procs) == 1, f"with FLCSS: processes.flcss {procs}"):
                p = procs[0]
                check(p["image_name"].lower() == "flcss.exe", f"with FLCSS: image_name {p['image_name']}")
                check((p["path"] or "").lower() == "c:\\windows\\system32\\flcss.exe", f"with FLCSS: path {p['path']}")
                check(isinstance(p["parent_pid"], int), "with FLCSS: parent_pid (toolhelp32 has one)")
            if check(len(services) == 1, f"with FLCSS: services.flcss {services}"):
                s = services[0]
                check(s["name"] == "FLCSS", f"with FLCSS: name {s['name']}")
                check(s["state"] == "running", f"with FLCSS: state {s['state']}")
                check(s["start_type"] == "auto", f"with FLCSS: start_type {s['start_type']}")
                check((s["binary_path"] or "").lower() == "c:\\windows\\system32\\flcss.exe",
                      f"with FLCSS: binary_path {s['binary_path']}")
                check(s["config_error"] is None, f"with FLCSS: config_error {s['config_error']}")
                if procs:
                    check(s["pid"] == procs[0]["pid"], f"with FLCSS: service pid {s['pid']} != process {procs[0]['pid']}")
            exe_entry = checked_file(doc, "C:\\windows\\system32\\flcss.exe")
            if check(exe_entry is not None, "with FLCSS: flcss.exe not among the files checked"):
                check({"flcss-process", "flcss-service"} <= set(exe_entry["why"]), f"with FLCSS: why {exe_entry['why']}")
                check(exe_entry["state"] == "clean", f"with FLCSS: the benign service program is {exe_entry['state']}")
            calc = checked_file(doc, "C:\\windows\\system32\\calc.exe")
            if check(calc is not None, "infected calc.exe not among the files checked"):
                check(calc["state"] == sample["expected"], f"calc.exe: state {calc['state']}, manifest {sample['expected']}")
                check(calc.get("sha256") == sample["sha256"], f"calc.exe: sha256 {calc.get('sha256')}, manifest {sample['sha256']}")
                check(calc["size"] == sample["size"], f"calc.exe: size {calc['size']}, manifest {sample['size']}")
                check("q317218-program" in calc["why"], f"calc.exe: why {calc['why']}")
                check(any(f["kind"] == "infected" for f in calc["findings"]), f"calc.exe: findings {calc['findings']}")
            check(doc["_returncode"] == 1, f"with FLCSS: exit {doc['_returncode']}")
            if procs:
                joined_by_flscan(flscan, corpus, manifest, work, doc["_text"], procs[0]["pid"])
            check("FLCSS: running" in doc["_stdout"], f"with FLCSS: summary {doc['_stdout']}")
            # Every file entry as live/LIVE_JSON.md describes it: a file not read carries its error and
            # no sha256, never a clean state; a file read has a SHA-256 here (Wine has PROV_RSA_AES).
            names = [f["path"].lower() for f in doc["files"]["checked"]]
            check(names == sorted(names), "with FLCSS: files.checked not sorted by path")
            for f in doc["files"]["checked"]:
                missing = {"path", "size", "type", "state", "severity", "findings", "why", "error"} - set(f)
                check(not missing, f"{f['path']}: keys missing: {missing}")
                if f["state"] == "not-scanned":
                    check("sha256" not in f and f["error"], f"{f['path']}: not scanned without error, or with sha256")
                else:
                    check(isinstance(f.get("sha256"), str) and len(f["sha256"]) == 64 and f["error"] is None,
                          f"{f['path']}: read, sha256 {f.get('sha256')}, error {f['error']}")

        # 4. No SHA-256 provider, as on Windows 2000 (no PROV_RSA_AES): Wine's rsaenh.dll disabled
        # for this run. The files are still checked; sha256 is null and sha256_error says why.
        no_aes = dict(env, WINEDLLOVERRIDES=env["WINEDLLOVERRIDES"] + ";rsaenh=d")
        doc = run_live(no_aes, exe, prefix, "without a SHA-256 provider")
        if doc is not None:
            calc = checked_file(doc, "C:\\windows\\system32\\calc.exe")
            if check(calc is not None, "without a SHA-256 provider: calc.exe not among the files checked"):
                check(calc["state"] == sample["expected"], f"without a SHA-256 provider: calc.exe {calc['state']}")
                check(calc.get("sha256", "absent") is None, f"without a SHA-256 provider: sha256 {calc.get('sha256')}")
                check("PROV_RSA_AES" in (calc.get("sha256_error") or ""),
                      f"without a SHA-256 provider: sha256_error {calc.get('sha256_error')}")
            check(doc["_returncode"] == 1, f"without a SHA-256 provider: exit {doc['_returncode']}")
        wine(env, "sc", "stop", "FLCSS", timeout=120)
    finally:
        subprocess.run(["wineserver", "-k"], env=env, capture_output=True, timeout=120)
    return finish()


def joined_by_flscan(flscan: Path, corpus: Path, manifest: dict, work: Path, text: str, pid: int) -> None:
    """Step 5: flscan-live's own document read and joined by flscan --live-report."""
    tree = next(t for t in manifest["host_trees"] if t["root"] == "windows/nt4-infected")

    def scan(document: str, name: str) -> dict | None:
        path = work / name
        path.write_text(document, encoding="utf-8")
        r = subprocess.run([str(flscan), "--json", "-", "--live-report", str(path), str(corpus / tree["root"])],
                           capture_output=True, timeout=300)
        if not check(r.returncode in (1, 2) and r.stdout.startswith(b"{"),
                     f"flscan --live-report {name}: exit {r.returncode}, stderr {r.stderr[-800:]!r}"):
            return None
        return json.loads(r.stdout)

    as_written = scan(text, "live-as-written.json")
    if as_written is not None:
        state = (as_written.get("live_report") or {}).get("state", "")
        check(state.startswith("not applied"), f"flscan-live's document unchanged: live_report.state {state!r}")
    doc = json.loads(text)
    doc["machine"]["computer_name"] = tree["computer_name"]
    doc["machine"]["windows_directory"] = "C:\\" + tree["windows_dir"]
    joined = scan(json.dumps(doc), "live-identity.json")
    if joined is not None and check(len(joined["hosts"]) == 1, f"joined: hosts {len(joined['hosts'])}"):
        host = joined["hosts"][0]
        check((host.get("live") or {}).get("state") == "applied", f"joined: hosts[0].live {host.get('live')}")
        rows = {r["id"]: r for r in host["symptoms"]}
        check(rows["flcss-process"]["status"] == "found"
              and any(f"pid {pid}" in line for line in rows["flcss-process"]["evidence"]),
              f"joined: flcss-process {rows['flcss-process']}")
        check(rows["flcss-service"]["status"] == "found"
              and any("FLCSS" in line and "running" in line for line in rows["flcss-service"]["evidence"]),
              f"joined: flcss-service {rows['flcss-service']}")


def finish() -> int:
    for f in failures:
        print("FAIL:", f)
    print(f"flscan-live under Wine: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
