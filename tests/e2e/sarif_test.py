#!/usr/bin/env python3
"""flscan --sarif over the corpus, checked against the official SARIF 2.1.0 schema and against
the corpus manifest (never against earlier flscan output):

1. one scan of the demo tree and every Windows tree of manifest.host_trees, each a PATH operand:
   the log validates against the OASIS schema; every result names a rule of the log; the set of
   (file, state rule) pairs equals the manifest's expected states (clean files have no result),
   with levels, byte offsets and SHA-256 from how each sample was built; each installation has
   exactly its manifest verdict and found symptoms as results; the exit code is the manifest's;
2. a scan of hostile names (spaces, '%', '#', ':', a byte that is not UTF-8), a file PATH and a
   PATH that does not exist, to stdout: percent-encoded URIs that give back the exact bytes, the
   missing PATH as an FL900 result of kind "open", executionSuccessful false.

Usage: sarif_test.py FLSCAN CORPUS_DIR SARIF_SCHEMA
The schema is read from disk; nothing is fetched (remote references are refused)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

import jsonschema

# The documented interface (scanner/SARIF.md): manifest state -> rule id and level.
STATE_RULE = {
    "infected": "FL001", "damaged": "FL002", "dropper": "FL003", "kernel-patched": "FL004",
    "loader-patched": "FL005", "kernel-modified": "FL007", "remnant": "FL008", "inoculated": "FL009",
    "decoy": "FL010",
}
SIGNATURE_RULE = "FL006"
STATE_LEVEL = {
    "infected": "error", "damaged": "error", "dropper": "error", "kernel-patched": "error",
    "loader-patched": "error", "kernel-modified": "warning", "remnant": "note", "inoculated": "note",
    "decoy": "note",
}
INFECTION_STATES = {"infected", "damaged", "dropper", "kernel-patched", "loader-patched"}
VERDICT_RULE = {  # verdict -> (rule, kind, level)
    "q317218": ("FL100", "fail", "error"), "q321454": ("FL101", "fail", "warning"),
    "incomplete": ("FL102", "open", "none"), "no-evidence": ("FL103", "pass", "none"),
}
SYMPTOM_RULE = {
    "flcss-service": "FL110", "event-7024": "FL111", "event-7000": "FL112", "sp-copy-errors": "FL113",
    "flcss-process": "FL114", "stop-c000021a": "FL115", "slowness": "FL116",
}
HOST_RULES = {r for r, _, _ in VERDICT_RULE.values()} | set(SYMPTOM_RULE.values()) | {"FL901"}
DOCUMENTED_RULES = set(STATE_RULE.values()) | {SIGNATURE_RULE} | HOST_RULES | {"FL900"}

# RFC 3986 URI-reference characters, with every '%' starting a valid escape.
URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")

failures: list[str] = []


def check(condition: bool, text: str) -> bool:
    if not condition:
        failures.append(text)
    return condition


def validator(schema_path: str):
    """A validator for the schema file that never touches the network: the schema's own
    "$schema" (draft-04) only picks the validator class, and every remote reference is refused
    (the SARIF schema has none; all its references are "#/definitions/...")."""
    schema = json.loads(Path(schema_path).read_text())
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    cls.check_schema(schema)

    def refuse(uri):
        raise RuntimeError(f"schema reference {uri} would need the network")

    try:  # jsonschema >= 4.18 resolves references through the referencing library
        import referencing
        return cls(schema, registry=referencing.Registry(retrieve=refuse))
    except ImportError:  # Debian 12's python3-jsonschema 4.10
        # The draft-04 "id" is the base of every "#/definitions/..." reference: keep the schema
        # in the store under it, or the resolver would download it.
        base = schema.get("id", "")
        resolver = jsonschema.RefResolver(base, schema, store={base: schema}, handlers={"http": refuse, "https": refuse})
        return cls(schema, resolver=resolver)


def run_flscan(flscan: str, args: list, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([flscan, *args], cwd=cwd, capture_output=True, timeout=120)


def resolve(run: dict, location: dict) -> bytes:
    """artifactLocation -> the file's path as bytes (absolute), through originalUriBaseIds."""
    uri = location["uri"]
    check(uri != "" and URI_CHARS.match(uri) is not None, f"not a URI reference: {uri!r}")
    if "uriBaseId" in location:
        base = run["originalUriBaseIds"][location["uriBaseId"]]["uri"]
        check(base.startswith("file:///") and base.endswith("/"), f"base URI {base!r}")
        check(not urllib.parse.urlsplit(uri).scheme, f"relative URI with a scheme: {uri!r}")
        uri = urllib.parse.urljoin(base, uri)
    parts = urllib.parse.urlsplit(uri)
    check(parts.scheme == "file", f"not a file URI: {uri!r}")
    return urllib.parse.unquote_to_bytes(parts.path)


def check_log_shape(log: dict, returncode: int, schema) -> dict:
    errors = sorted(schema.iter_errors(log), key=lambda e: list(e.absolute_path))
    for error in errors[:10]:
        failures.append(f"schema: {'/'.join(map(str, error.absolute_path))}: {error.message[:300]}")
    check(log.get("version") == "2.1.0" and len(log.get("runs", [])) == 1, "version 2.1.0 with one run")
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    check(driver["name"] == "flscan" and driver.get("semanticVersion") == driver.get("version"), "driver name/version")
    rules = driver["rules"]
    ids = [r["id"] for r in rules]
    check(len(ids) == len(set(ids)), f"duplicate rule ids {ids}")
    check(DOCUMENTED_RULES <= set(ids), f"rules missing: {DOCUMENTED_RULES - set(ids)}")
    for rule in rules:
        for key in ("name",):
            check(bool(rule.get(key)), f"rule {rule['id']} has no {key}")
        for key in ("shortDescription", "fullDescription"):
            check(bool(rule.get(key, {}).get("text")), f"rule {rule['id']} has no {key}")
        check(bool(rule.get("help", {}).get("text")) and bool(rule.get("help", {}).get("markdown")),
              f"rule {rule['id']} help needs text and markdown")
        check(rule.get("defaultConfiguration", {}).get("level") in ("none", "note", "warning", "error"),
              f"rule {rule['id']} defaultConfiguration.level")
    for result in run["results"]:
        rid = result["ruleId"]
        check(rules[result["ruleIndex"]]["id"] == rid, f"ruleIndex of {rid}")
        kind = result.get("kind", "fail")
        # SARIF 3.27.10: a result whose kind is not "fail" has level "none".
        check(kind == "fail" or result.get("level") == "none", f"{rid}: kind {kind} with level {result.get('level')}")
        check(bool(result["message"]["text"]), f"{rid}: empty message")
        check(len(result["locations"]) >= 1 and "artifactLocation" in result["locations"][0]["physicalLocation"],
              f"{rid}: no physical location (GitHub code scanning rejects such a log)")
    invocation = run["invocations"][0]
    check(invocation["exitCode"] == returncode, f"exitCode {invocation['exitCode']}, process exit {returncode}")
    return run


def corpus_scan(flscan: str, corpus: Path, manifest: dict, schema) -> None:
    trees = ["demo"] + [t["root"] for t in manifest["host_trees"]]
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "corpus.sarif"
        done = run_flscan(flscan, ["-q", "--threads", "2", "--sarif", str(out), *trees], cwd=corpus)
        log = json.loads(out.read_bytes())
    files = [f for f in manifest["files"] if any(f["path"].startswith(t + "/") for t in trees)]
    expected_exit = 1 if any(f["expected"] in INFECTION_STATES for f in files) else 0
    check(done.returncode == expected_exit, f"corpus exit {done.returncode}, expected {expected_exit}: {done.stderr!r}")
    run = check_log_shape(log, done.returncode, schema)
    check(run["invocations"][0]["executionSuccessful"] is True, "the corpus scan is complete")
    check(run["invocations"][0].get("properties", {}).get("failOn") == "infected,incomplete", "default failOn")

    bases = run["originalUriBaseIds"]
    for i, tree in enumerate(trees, start=1):
        base = bases.get(f"PATH{i}", {}).get("uri", "")
        check(urllib.parse.unquote_to_bytes(urllib.parse.urlsplit(base).path) == os.fsencode(corpus / tree) + b"/",
              f"PATH{i} is {base!r}, expected the directory {tree}")

    root = os.fsencode(corpus) + b"/"
    by_file: dict[str, list] = {}
    host_results: list = []
    for result in run["results"]:
        if result["ruleId"] in HOST_RULES:
            host_results.append(result)
            continue
        location = result["locations"][0]["physicalLocation"]
        path = resolve(run, location["artifactLocation"])
        if not check(path.startswith(root), f"{result['ruleId']} outside the corpus: {path!r}"):
            continue
        by_file.setdefault(os.fsdecode(path[len(root):]), []).append(result)
    check(not any(r["ruleId"] == "FL900" for rs in by_file.values() for r in rs), "FL900 in a complete scan")

    by_path = {f["path"]: f for f in files}
    for path in sorted(set(by_file) - set(by_path)):
        failures.append(f"{path}: results for a file the manifest does not list in the scanned trees")
    for entry in files:
        path, state = entry["path"], entry["expected"]
        results = by_file.get(path, [])
        if state == "clean":
            check(not results, f"{path}: clean, but results {[r['ruleId'] for r in results]}")
            continue
        state_rules = {r["ruleId"] for r in results if r["ruleId"] != SIGNATURE_RULE}
        allowed_extra = {STATE_RULE[s] for s in entry.get("also", [])}
        # Infection-model section 5: a decoy is "at most a low-confidence note" (a text file
        # quoting the string is not even read whole), every other state is reported as such.
        required = set() if state == "decoy" else {STATE_RULE[state]}
        check(required <= state_rules and state_rules - {STATE_RULE[state]} <= allowed_extra,
              f"{path}: built as {state} ({STATE_RULE[state]}), results {sorted(state_rules)}")
        for result in results:
            props = result.get("properties", {})
            check(props.get("sha256") == entry["sha256"], f"{path}: sha256 {props.get('sha256')}")
            region = result["locations"][0]["physicalLocation"].get("region", {})
            if result["ruleId"] == SIGNATURE_RULE:
                # Built-in signatures are infection evidence only where the detector agrees.
                check(result["level"] != "error" or state in INFECTION_STATES,
                      f"{path}: error-level signature result on a file built as {state}")
                continue
            if result["ruleId"] != STATE_RULE[state]:
                continue
            check(result["level"] == STATE_LEVEL[state], f"{path}: level {result['level']}, expected {STATE_LEVEL[state]}")
            if state in ("infected", "damaged", "remnant") and "body_offset" in entry:
                check(region.get("byteOffset") == entry["body_offset"],
                      f"{path}: byteOffset {region.get('byteOffset')}, B = {entry['body_offset']}")
            if state in ("kernel-patched", "loader-patched"):
                check(region.get("byteOffset") == entry["pattern_offset"],
                      f"{path}: byteOffset {region.get('byteOffset')}, pattern at {entry['pattern_offset']}")
    artifacts = run.get("artifacts", [])
    for artifact in artifacts:
        rel = os.fsdecode(resolve(run, artifact["location"])[len(root):])
        if rel in by_path:
            check(artifact.get("hashes", {}).get("sha-256") == by_path[rel]["sha256"], f"artifact {rel} sha-256")
            check(artifact.get("length") == by_path[rel]["size"], f"artifact {rel} length")

    # Installations: the verdict and every found symptom, nothing else, per manifest host tree.
    per_tree: dict[str, list] = {}
    for result in host_results:
        location = result["locations"][0]["physicalLocation"]["artifactLocation"]
        index = int(location.get("uriBaseId", "PATH0")[4:])
        per_tree.setdefault(trees[index - 1] if 0 < index <= len(trees) else "?", []).append(result)
    check("demo" not in per_tree, "host results for the demo tree, which is no manifest host tree")
    for tree in manifest["host_trees"]:
        root_name = tree["root"]
        results = per_tree.get(root_name, [])
        rule, kind, level = VERDICT_RULE[tree["expected_verdict"]]
        expected = {rule} | {SYMPTOM_RULE[s] for s, status in tree["symptoms"].items() if status == "found"}
        got = [r["ruleId"] for r in results]
        check(sorted(got) == sorted(expected), f"{root_name}: host results {sorted(got)}, expected {sorted(expected)}")
        for result in results:
            if result["ruleId"] != rule:
                continue
            check(result.get("kind", "fail") == kind and result["level"] == level,
                  f"{root_name}: verdict kind/level {result.get('kind')}/{result['level']}")
            where = resolve(run, result["locations"][0]["physicalLocation"]["artifactLocation"])
            check(where == os.fsencode(corpus / root_name / tree["windows_dir"]) + b"/",
                  f"{root_name}: verdict located at {where!r}")
            for related in result.get("relatedLocations", []):
                rel = os.fsdecode(resolve(run, related["physicalLocation"]["artifactLocation"])[len(root):])
                check(by_path.get(rel, {}).get("expected") in INFECTION_STATES | {"kernel-modified"},
                      f"{root_name}: related location {rel} is not built as infected")
        print(f"{root_name}: {sorted(got)}")
    print(f"corpus: {len(run['results'])} results, {len(by_file)} files with results, exit {done.returncode}")


def hostile_scan(flscan: str, corpus: Path, manifest: dict, schema) -> None:
    infected = next(f for f in manifest["files"] if f["expected"] == "infected" and f["path"].startswith("infected/"))
    remnant = next(f for f in manifest["files"] if f["expected"] == "remnant")
    with tempfile.TemporaryDirectory() as work:
        work_b = os.fsencode(work)
        name = b"we ird %41#?:;[]\xff.exe"
        os.makedirs(work_b + b"/tree/sub dir")
        shutil.copyfile(corpus / infected["path"], work_b + b"/tree/sub dir/" + name)
        shutil.copyfile(corpus / remnant["path"], work_b + b"/single.exe")
        operands = [work_b + b"/tree", work_b + b"/single.exe", work_b + b"/missing"]
        done = subprocess.run([os.fsencode(flscan), b"--sarif", b"-", *operands], capture_output=True, timeout=120)
        log = json.loads(done.stdout)  # stdout carries the log and nothing else
        check(done.returncode == 1, f"hostile: exit {done.returncode} (infected copy and a missing PATH: 1 wins)")
        run = check_log_shape(log, done.returncode, schema)
        invocation = run["invocations"][0]
        check(invocation["executionSuccessful"] is False, "hostile: a missing PATH makes the run unsuccessful")
        check(any(n.get("level") == "error" for n in invocation.get("toolExecutionNotifications", [])),
              "hostile: an error notification says the scan is incomplete")
        got = {}
        for result in run["results"]:
            location = result["locations"][0]["physicalLocation"]["artifactLocation"]
            got.setdefault(resolve(run, location), set()).add((result["ruleId"], result.get("kind", "fail"), result["level"]))
            if result["ruleId"] == "FL001":
                check(location["uri"] == "sub%20dir/we%20ird%20%2541%23%3F%3A%3B%5B%5D%FF.exe" and
                      location["uriBaseId"] == "PATH1", f"hostile: uri {location}")
            if result["ruleId"] == "FL008":
                check(location == {"uri": "single.exe", "uriBaseId": "PATH2", "index": location.get("index")},
                      f"hostile: file PATH location {location}")
        check(("FL001", "fail", "error") in got.get(work_b + b"/tree/sub dir/" + name, set()),
              f"hostile: infected copy not found back by its bytes: {got}")
        check(("FL008", "fail", "note") in got.get(work_b + b"/single.exe", set()), "hostile: remnant PATH")
        check(got.get(work_b + b"/missing") == {("FL900", "open", "none")}, f"hostile: missing PATH {got.get(work_b + b'/missing')}")
        bases = run["originalUriBaseIds"]
        check(bases["PATH2"]["uri"] == Path(work).as_uri() + "/", f"hostile: base of a file PATH {bases['PATH2']}")
        check(bases["PATH3"]["uri"] == Path(work).as_uri() + "/", f"hostile: base of a missing PATH {bases['PATH3']}")
        print(f"hostile: {len(run['results'])} results, exit {done.returncode}")


def main() -> int:
    flscan, corpus, schema_path = os.path.abspath(sys.argv[1]), Path(sys.argv[2]).resolve(), sys.argv[3]
    manifest = json.loads((corpus / "manifest.json").read_text())
    schema = validator(schema_path)
    corpus_scan(flscan, corpus, manifest, schema)
    hostile_scan(flscan, corpus, manifest, schema)
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
