#!/usr/bin/env python3
"""flscan --html, read back by a real browser: for each host tree of the corpus manifest named on
the command line, run flscan --html, load the page in headless Chromium (--dump-dom gives the DOM
after parsing, so a page that only looks right to a regex but not to an HTML parser fails), and
compare the verdict and every symptom row's status with the manifest's host_trees entry.

Usage: html_report_test.py FLSCAN CORPUS_DIR TREE...   (TREE e.g. windows/nt4-infected)
Chromium is a test dependency (.ci/install-deps.sh): when it is missing this test FAILS."""
import json
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path


class DomReader(HTMLParser):
    """Collects data-verdict of the first .verdict element and data-status per data-symptom."""

    def __init__(self):
        super().__init__()
        self.verdicts: list[str] = []
        self.symptoms: dict[str, str] = {}
        self.tags: set[str] = set()
        self.paths: list[str] = []  # text of the findings table's path cells
        self._in_path = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "td" and a.get("class") == "path":
            self._in_path = True
            self.paths.append("")
        if tag == "p" and "verdict" in (a.get("class") or "").split() and "data-verdict" in a:
            self.verdicts.append(a["data-verdict"])
        if tag == "tr" and "data-symptom" in a:
            self.symptoms[a["data-symptom"]] = a.get("data-status", "")

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_path = False

    def handle_data(self, data):
        if self._in_path:
            self.paths[-1] += data


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    sys.exit("FAIL: chromium not found (install it: .ci/install-deps.sh)")


def dump_dom(browser: str, page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             "--dump-dom", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=90)
    if done.returncode != 0 or "<html" not in done.stdout:
        sys.exit(f"FAIL: chromium exit {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def main() -> int:
    flscan, corpus, trees = sys.argv[1], Path(sys.argv[2]), sys.argv[3:]
    manifest = json.loads((corpus / "manifest.json").read_text())
    by_root = {t["root"]: t for t in manifest["host_trees"]}
    browser = chromium()
    failures = []
    with tempfile.TemporaryDirectory() as work:
        for tree in trees:
            expected = by_root[tree]
            page = Path(work) / (tree.replace("/", "_") + ".html")
            run = subprocess.run([flscan, "-q", "--html", str(page), str(corpus / tree)],
                                 capture_output=True, text=True, timeout=60)
            if run.returncode not in (0, 1, 2) or not page.exists():
                failures.append(f"{tree}: flscan exit {run.returncode}: {run.stderr}")
                continue
            dom = DomReader()
            dom.feed(dump_dom(browser, page))
            if dom.verdicts != [expected["expected_verdict"]]:
                failures.append(f"{tree}: verdicts {dom.verdicts}, expected [{expected['expected_verdict']}]")
            for symptom, status in expected["symptoms"].items():
                if dom.symptoms.get(symptom) != status:
                    failures.append(f"{tree}: symptom {symptom} is {dom.symptoms.get(symptom)}, expected {status}")
            print(f"{tree}: verdict {dom.verdicts}, symptoms {dom.symptoms}")
        # A hostile name: markup and a byte that is not UTF-8. The browser must show it as text
        # (the text report's \xNN form), not build elements from it; no installation is found.
        hostile = Path(work) / "hostile"
        hostile.mkdir()
        name = b"<i>a&b\xff.exe"
        src = corpus / "windows/nt4-infected/WINNT/System32/calc.exe"
        with open(bytes(hostile) + b"/" + name, "wb") as out:
            out.write(src.read_bytes())
        page = Path(work) / "hostile.html"
        subprocess.run([flscan, "-q", "--html", str(page), str(hostile)], capture_output=True, timeout=60)
        dom = DomReader()
        dom.feed(dump_dom(browser, page))
        if "i" in dom.tags:
            failures.append("hostile: the name's <i> became an element")
        if not any(p.endswith("/<i>a&b\\xff.exe") for p in dom.paths):
            failures.append(f"hostile: path cells {dom.paths}")
        if dom.verdicts != ["none"]:
            failures.append(f"hostile: verdicts {dom.verdicts}, expected ['none'] (no installation)")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
