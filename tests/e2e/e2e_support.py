"""What the end-to-end test scripts share: failures collected rather than raised, so one run
reports every broken case, the marks of a sanitizer report, and JSON path objects read back."""
import base64

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
