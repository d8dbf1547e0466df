"""What the end-to-end test scripts share: failures collected rather than raised, so one run
reports every broken case, the marks of a sanitizer report, and JSON path objects read back."""
import base64
import json
import subprocess

SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "UndefinedBehaviorSanitizer")

failures: list[str] = []


def check(condition: bool, text: str) -> bool:
    """Records `text` as a failure unless `condition` holds; returns the condition."""
    if not condition:
        failures.append(text)
    return condition


def path_text(p: dict) -> str:
    """A JSON path object ({text} or {bytes}, scanner/JSON.md) as a str (bytes kept through surrogateescape)."""
    if "text" in p:
        return p["text"]
    return base64.b64decode(p["bytes"]).decode("utf-8", "surrogateescape")


def finish(summary: str) -> int:
    """Prints every failure, then `summary` and their count; the exit status (1 with failures)."""
    for f in failures:
        print("FAIL:", f)
    print(f"{summary}, {len(failures)} failures")
    return 1 if failures else 0


def run_json(command: list, cwd, what: str, env: dict | None = None) -> dict | None:
    """Runs a flscan command that writes its JSON report to stdout (`--json -`): no crash (exit 0, 1
    or 2), no sanitizer report, one JSON document. Returns it with the exit code as `_returncode`;
    None (the failure recorded) when stdout is not JSON."""
    r = subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=300)
    stderr = r.stderr.decode("utf-8", "replace")
    check(r.returncode in (0, 1, 2), f"{what}: exit {r.returncode} (a signal or a crash); stderr: {stderr[-1500:]}")
    check(not any(m in stderr for m in SANITIZER_MARKS), f"{what}: sanitizer report: {stderr[-3000:]}")
    try:
        report = json.loads(r.stdout)
    except ValueError:
        failures.append(f"{what}: stdout is not one JSON document (exit {r.returncode}); stderr: {stderr[-1500:]}")
        return None
    report["_returncode"] = r.returncode
    return report
