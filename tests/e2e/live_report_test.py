#!/usr/bin/env python3
"""flscan --live-report (issue 17) on the corpus's infected NT4 tree and clean NT4 tree, with
flscan-live documents built here per live/LIVE_JSON.md (never output of a run):

1. the document names the tree's computer (the manifest's computer_name, which the tree's SYSTEM
   hive holds) and Windows directory, an flcss.exe process, a running FLC service and a 7024
   record written after the offline log's newest record (the manifest's event_log_newest): the
   live rows become found, each citing the file and collected_utc, and the verdict stays the
   manifest's; the JSON carries hosts[].live and live_report as JSON.md says; on the clean tree
   the same document leaves the installation incomplete (exit 2), and with no installation at
   all the run says it was applied nowhere;
2. the same document with another computer name: not applied, said in the JSON, the text, the
   HTML and the SARIF (an FL902 result); the run is incomplete (exit 2 on the clean tree; 1 on the infected one, the evidence
   wins);
3. a document that is no flscan-live version 1 stops flscan before the scan (exit 2), naming the
   file and the field;
4. two --shard scans with the live report merge into the full scan's live rows; shards with
   different live reports are refused.

Usage: live_report_test.py FLSCAN CORPUS_DIR"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from e2e_support import check, finish, run_json

COLLECTED = "2002-03-05T09:30:00Z"


def live_document(computer: str, windows_dir: str, newest: str) -> dict:
    """A flscan-live document: one flcss.exe process (pid 212), the FLC service running with it,
    one 7024 Protected Storage record written a day after `newest` (the offline log's last)."""
    day_after = f"2002-03-{int(newest[8:10]) + 1:02d}" + newest[10:]
    section = {"status": "ok", "errors": []}
    record = {"record_number": 300, "event_identifier": 0xC0001B70, "time_generated_utc": day_after,
              "time_written_utc": day_after, "source_name": "Service Control Manager", "computer_name": computer,
              "strings": ["Protected Storage", "2148270091"]}
    return {
        "format": "flscan-live", "format_version": 1, "tool_version": "0.1.0", "tool_architecture": "i686",
        "collected_utc": COLLECTED,
        "machine": {"computer_name": computer, "windows_directory": f"C:\\{windows_dir}",
                    "system_directory": f"C:\\{windows_dir}\\system32",
                    "os_version": {"major": 4, "minor": 0, "build": 1381, "service_pack": "Service Pack 6"}},
        "processes": {**section, "method": "psapi", "process_count": 24,
                      "flcss": [{"pid": 212, "parent_pid": None, "image_name": "FLCSS.EXE",
                                 "path": f"C:\\{windows_dir}\\System32\\FLCSS.EXE"}]},
        "services": {**section, "service_count": 97,
                     "flcss": [{"name": "FLC", "display_name": "FLC", "state": "running", "pid": 212,
                                "start_type": "auto", "binary_path": f"C:\\{windows_dir}\\System32\\flcss.exe",
                                "account": "LocalSystem", "config_error": None}]},
        "event_log": {**section, "records_read": 412,
                      "protected_storage_7024": {"count": 1, "first_written_utc": day_after,
                                                 "last_written_utc": day_after, "records": [record]},
                      "spooler_7000": {"count": 0, "first_written_utc": None, "last_written_utc": None,
                                       "records": []}},
        "files": {**section, "checked": []},
    }


def rows(host: dict) -> dict:
    return {s["id"]: s for s in host["symptoms"]}


def cites(row: dict, name: str, *words: str) -> bool:
    """Some evidence line of `row` names the live report file, its collection time and `words`."""
    return any(f"live report {name} (collected {COLLECTED})" in line and all(w in line for w in words)
               for line in row["evidence"])


def check_applied(report: dict, tree: dict, live_path: Path, what: str) -> None:
    host = report["hosts"][0]
    live = host.get("live") or {}
    check(live.get("state") == "applied" and live.get("matched") is True, f"{what}: hosts[0].live {live}")
    check(live.get("collected_utc") == COLLECTED and live.get("file", {}).get("text") == str(live_path),
          f"{what}: hosts[0].live names the file and collected_utc: {live}")
    r = rows(host)
    name = str(live_path)
    check(r["flcss-process"]["status"] == "found" and cites(r["flcss-process"], name, "pid 212", "FLCSS.EXE"),
          f"{what}: flcss-process {r['flcss-process']}")
    check(r["slowness"]["status"] == "found" and cites(r["slowness"], name, "flcss.exe is running"),
          f"{what}: slowness {r['slowness']}")
    check(r["flcss-service"]["status"] == "found" and cites(r["flcss-service"], name, "service FLC", "running")
          and cites(r["flcss-service"], name, "Access Denied"), f"{what}: flcss-service {r['flcss-service']}")
    check(r["event-7024"]["status"] == "found"
          and cites(r["event-7024"], name, "record 300", f"after SysEvent.Evt's newest record ({tree['event_log_newest']})"),
          f"{what}: event-7024 {r['event-7024']}")
    check(host["verdict"] == tree["expected_verdict"], f"{what}: verdict {host['verdict']}, manifest {tree['expected_verdict']}")
    top = report.get("live_report") or {}
    check(top.get("complete") is True and top.get("computer_name") == tree["computer_name"]
          and top.get("state", "").startswith("applied to "), f"{what}: live_report {dict(top, document='...')}")
    check(json.loads(top.get("document", "null")) is not None, f"{what}: live_report.document is no JSON text")


def main() -> int:
    flscan, corpus = sys.argv[1], Path(sys.argv[2])
    manifest = json.loads((corpus / "manifest.json").read_text())
    trees = {t["root"]: t for t in manifest["host_trees"]}
    infected, clean = trees["windows/nt4-infected"], trees["windows/clean"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        live_path = work / "live.json"
        live_path.write_text(json.dumps(live_document(infected["computer_name"], infected["windows_dir"],
                                                      infected["event_log_newest"])))
        tree = corpus / infected["root"]

        # 1. Matching: the live rows are filled.
        report = run_json([flscan, "--json", "-", "--live-report", str(live_path), str(tree)], work, "applied")
        if report:
            check_applied(report, infected, live_path, "applied")
            check(report["_returncode"] == 1, f"applied: exit {report['_returncode']}, FunLove evidence gives 1")
            offline = run_json([flscan, "--json", "-", str(tree)], work, "offline")
            if offline:
                r = rows(offline["hosts"][0])
                check(r["flcss-process"]["status"] == "not-checkable-offline" and offline["live_report"] is None
                      and offline["hosts"][0]["live"] is None, "offline: the live rows stay not-checkable-offline")

        # The clean tree (same computer name and Windows directory) with the same live report: the
        # rows are filled, but a disk is not called clean while its running machine showed FunLove.
        report = run_json([flscan, "--json", "-", "--live-report", str(live_path), str(corpus / clean["root"])],
                          work, "applied to the clean tree")
        if report:
            host = report["hosts"][0]
            check(host["live"]["state"] == "applied" and rows(host)["flcss-process"]["status"] == "found",
                  f"clean tree: {host['live']}")
            check(host["verdict"] == "incomplete" and "which the offline scan did not confirm"
                  in (host["live"]["incomplete"] or "") and report["_returncode"] == 2,
                  f"clean tree: verdict {host['verdict']}, exit {report['_returncode']}, {host['live']}")
        # No installation at all: applied nowhere, and the run says so.
        report = run_json([flscan, "--json", "-", "--live-report", str(live_path), str(corpus / "clean")], work,
                          "no installation")
        if report:
            check(report["hosts"] == [] and report["live_report"]["complete"] is False
                  and report["live_report"]["state"] == "not applied: no Windows installation was found in this scan"
                  and report["_returncode"] == 2, f"no installation: {dict(report['live_report'], document='...')}")

        # 2. Another computer: not applied, and said so everywhere.
        other_path = work / "other.json"
        other = live_document("OTHER-PC", infected["windows_dir"], infected["event_log_newest"])
        other_path.write_text(json.dumps(other))
        for t, code in ((infected, 1), (clean, 2)):
            what = f"unmatched on {t['root']}"
            report = run_json([flscan, "--json", "-", "--live-report", str(other_path), str(corpus / t["root"])],
                              work, what)
            if not report:
                continue
            host = report["hosts"][0]
            live = host.get("live") or {}
            check(live.get("state") == "unmatched" and live.get("matched") is False
                  and f"computer name OTHER-PC in the live report, {t['computer_name']} in the SYSTEM hive"
                  in live.get("reason", ""), f"{what}: hosts[0].live {live}")
            check(rows(host)["flcss-process"]["status"] == "not-checkable-offline", f"{what}: flcss-process filled")
            check(report["summary"]["complete"] is False and report["live_report"]["complete"] is False,
                  f"{what}: the run calls itself complete")
            check(report["_returncode"] == code, f"{what}: exit {report['_returncode']}, expected {code}")
            expected_verdict = t["expected_verdict"] if t["expected_verdict"] == "q317218" else "incomplete"
            check(host["verdict"] == expected_verdict, f"{what}: verdict {host['verdict']}")
        text = subprocess.run([flscan, "--live-report", str(other_path), "--html", str(work / "r.html"),
                               str(corpus / clean["root"])], capture_output=True, text=True, timeout=120)
        check("Live:       live report" in text.stdout and "unmatched (computer name OTHER-PC" in text.stdout
              and "live report not applied" in text.stdout, f"unmatched text report: {text.stdout[-2500:]}")
        html = (work / "r.html").read_text() if (work / "r.html").exists() else ""
        check('data-live="unmatched"' in html and 'id="live-report" data-incomplete="yes"' in html,
              "unmatched HTML report")

        sarif_run = subprocess.run([flscan, "--sarif", "-", "--live-report", str(other_path), str(corpus / clean["root"])],
                                   capture_output=True, text=True, timeout=120)
        try:
            run0 = json.loads(sarif_run.stdout)["runs"][0]
        except (ValueError, KeyError, IndexError):
            run0 = {}
        fl902 = [r for r in run0.get("results", []) if r.get("ruleId") == "FL902"]
        invocation = (run0.get("invocations") or [{}])[0]
        check(len(fl902) == 1 and fl902[0].get("kind") == "open"
              and fl902[0]["properties"]["liveReport"]["state"] == "unmatched"
              and invocation.get("executionSuccessful") is False
              and invocation.get("properties", {}).get("liveReport", {}).get("collectedUtc") == COLLECTED,
              f"unmatched SARIF: FL902 {fl902}, invocation {invocation}")

        # 3. Not a flscan-live version 1 document: refused before the scan.
        bad_path = work / "bad.json"
        bad = live_document(infected["computer_name"], infected["windows_dir"], infected["event_log_newest"])
        bad["format_version"] = 2
        bad_path.write_text(json.dumps(bad))
        refused = subprocess.run([flscan, "--live-report", str(bad_path), str(tree)], capture_output=True,
                                 text=True, timeout=120)
        check(refused.returncode == 2 and f"live report {bad_path}: format_version: 2" in refused.stderr
              and refused.stdout == "", f"bad document: exit {refused.returncode}, {refused.stderr}")

        # 4. Shards scanned with the live report merge to the same live rows; different ones are refused.
        def shard(k: int, live: Path, out: str) -> None:
            r = subprocess.run([flscan, "--json", str(work / out), "--shard", f"{k}/2", "--live-report", str(live),
                                str(tree)], capture_output=True, text=True, timeout=120, cwd=work)
            check(r.returncode in (0, 1, 2) and (work / out).exists(), f"shard {out}: exit {r.returncode} {r.stderr}")

        shard(1, live_path, "s1.json")
        shard(2, live_path, "s2.json")
        merged = run_json([flscan, "merge", "--json", "-", str(work / "s1.json"), str(work / "s2.json")], work,
                          "merge")
        if merged:
            check_applied(merged, infected, live_path, "merged")
        shard(2, other_path, "o2.json")
        refused = subprocess.run([flscan, "merge", "--json", "-", str(work / "s1.json"), str(work / "o2.json")],
                                 capture_output=True, text=True, timeout=120, cwd=work)
        check(refused.returncode == 2 and "scanned with different live reports (--live-report)" in refused.stderr,
              f"merge of different live reports: exit {refused.returncode}, {refused.stderr}")
    return finish("live_report_test")


if __name__ == "__main__":
    sys.exit(main())
