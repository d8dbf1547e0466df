#!/usr/bin/env python3
"""flscan --html, read back by a real browser: for each host tree of the corpus manifest named on
the command line, run flscan --html, load the page in headless Chromium (--dump-dom gives the DOM
after parsing, so a page that only looks right to a regex but not to an HTML parser fails), and
compare the verdict and every symptom row's status with the manifest's host_trees entry.

With --images IMAGES_DIR (issue 20), also the page of the infected NT4 tree's MBR disk image
(corpus/build_images.py: its NTFS volume carries known times): the overview on top (exit code,
files with FunLove evidence), the SVG timeline (inline, one mark per event, no script on the
page) and the timeline table's events (time, kind) against the corpus manifest's
`expected_timeline`, each infected file's "infected at about" time against
`expected_infected_at`, the per-program and kernel tables against the tree's infected and damaged
programs and its patched kernel and NTLDR, and corroborating signatures folded (no row of state
`signature` for a file the detector found infected).

Usage: html_report_test.py FLSCAN CORPUS_DIR TREE... [--images IMAGES_DIR]   (TREE e.g. windows/nt4-infected)
Chromium is a test dependency (.ci/install-deps.sh): when it is missing this test FAILS."""
import json
import re
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
        self.overview: dict = {}
        self.timeline_rows: dict[str, list] = {}  # table id -> [(data-time, data-kind)]
        self.svg_marks: dict[str, int] = {}      # svg id -> <g data-kind> count
        self.programs: dict[str, dict] = {}      # table id -> {program: status}
        self.kernel: dict[str, dict] = {}        # table id -> {file: status}
        self.infected_at: list[str] = []
        self.finding_states: list[str] = []
        self._table = self._svg = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "div" and a.get("id") == "overview":
            self.overview = a
        if tag == "table":
            self._table = a.get("id") or ""
        if tag == "svg":
            self._svg = a.get("id") or ""
            self.svg_marks[self._svg] = 0
        if tag == "g" and "data-kind" in a and self._svg:
            self.svg_marks[self._svg] += 1
        if tag == "tr" and "data-kind" in a:
            self.timeline_rows.setdefault(self._table, []).append((a.get("data-time"), a["data-kind"]))
        if tag == "tr" and "data-program" in a:
            self.programs.setdefault(self._table, {})[a["data-program"]] = a.get("data-status")
        if tag == "tr" and "data-kernel" in a:
            self.kernel.setdefault(self._table, {})[a["data-kernel"]] = a.get("data-status")
        if tag == "tr" and "data-state" in a:
            self.finding_states.append(a["data-state"])
        if tag == "span" and "infected-at" in (a.get("class") or "").split():
            self.infected_at.append(a.get("data-time"))
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
        if tag == "svg":
            self._svg = ""

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


def check_image_page(flscan: str, corpus: Path, images: Path, browser: str, work: Path, failures: list) -> None:
    """The NT4 MBR image's page against the corpus manifest (issue 20; see the module text)."""
    manifest = json.loads((corpus / "manifest.json").read_text())
    tree = next(t for t in manifest["host_trees"] if t["root"] == "windows/nt4-infected")
    image = images / "mbr.raw"
    page = work / "mbr.html"
    run = subprocess.run([flscan, "-q", "--html", str(page), str(image)], capture_output=True, text=True, timeout=300)
    if run.returncode != 1 or not page.exists():
        failures.append(f"mbr.raw: flscan exit {run.returncode}: {run.stderr[-500:]}")
        return
    html = page.read_text()
    dom = DomReader()
    dom.feed(dump_dom(browser, page))
    if "script" in dom.tags or re.search(r"<script|src=|href=\"http", html):
        failures.append("mbr.raw: the page has a script or an external asset")
    images_manifest = json.loads((images / "manifest.json").read_text())
    trees = [v["source_tree"] for img in images_manifest["images"] if img["path"] == "mbr.raw" for v in img["volumes"]]
    evidence_states = {"infected", "damaged", "dropper", "kernel-patched", "loader-patched"}
    infected = sum(1 for f in manifest["files"]
                   if any(f["path"].startswith(t + "/") for t in trees) and f["expected"] in evidence_states)
    if dom.overview.get("data-exit-code") != "1" or dom.overview.get("data-infected-files") != str(infected):
        failures.append(f"mbr.raw: overview {dom.overview}, expected exit 1 and {infected} files with evidence")
    expected_rows = [(e["time"], e["kind"]) for e in tree["expected_timeline"]]
    if dom.timeline_rows.get("timeline-0") != expected_rows:
        failures.append(f"mbr.raw: timeline rows {dom.timeline_rows.get('timeline-0')}, manifest {expected_rows}")
    if dom.svg_marks.get("timeline-svg-0") != len(expected_rows):
        failures.append(f"mbr.raw: SVG marks {dom.svg_marks}, expected {len(expected_rows)}")
    if sorted(dom.infected_at) != sorted(tree["expected_infected_at"].values()):
        failures.append(f"mbr.raw: infected-at {sorted(dom.infected_at)}, manifest {tree['expected_infected_at']}")
    programs = dom.programs.get("programs-0", {})
    for name in tree["infected_programs"]:
        if programs.get(name.lower()) != "infected":
            failures.append(f"mbr.raw: program {name} is {programs.get(name.lower())}, expected infected")
    for name in tree["damaged_programs"]:
        if programs.get(name.lower()) != "damaged":
            failures.append(f"mbr.raw: program {name} is {programs.get(name.lower())}, expected damaged")
    kernel = dom.kernel.get("kernel-0", {})
    if kernel.get("ntoskrnl.exe") != "patched" or kernel.get("NTLDR") != "patched":
        failures.append(f"mbr.raw: kernel table {kernel}, expected ntoskrnl.exe and NTLDR patched")
    if "signature" in dom.finding_states:
        failures.append("mbr.raw: a signature row not folded under the finding it corroborates")
    print(f"mbr.raw: overview {dom.overview}, {len(dom.timeline_rows.get('timeline-0', []))} timeline rows")


def main() -> int:
    images = None
    if "--images" in sys.argv:
        at = sys.argv.index("--images")
        images = Path(sys.argv[at + 1])
        del sys.argv[at:at + 2]
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
        if images is not None:
            check_image_page(flscan, corpus, images, browser, Path(work), failures)
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
