#!/usr/bin/env python3
"""The fleet examples in examples/ are working manifests: each YAML file parses, the shard count
agrees everywhere it is written (Indexed Job completions/parallelism and SHARDS, the Actions matrix
and SHARDS, GitLab's parallel), the merge is the last stage, and the shell scripts they hold run
as written against a corpus tree (mount points and the report directory replaced by temporary
paths, flscan on PATH): every shard writes its report, and the merge exits with the full scan's
exit code and writes a report whose findings equal the full scan's.

Usage: examples_test.py FLSCAN CORPUS_DIR EXAMPLES_DIR
Exit code 77 (skipped) when the python3 yaml module is missing."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import yaml
except ImportError:
    print("SKIP: python3 yaml module (Debian: python3-yaml) not installed")
    sys.exit(77)

failures: list[str] = []


def check(condition: bool, text: str) -> bool:
    if not condition:
        failures.append(text)
    return condition


def sh(script: str, env: dict, cwd: Path, bindir: Path, shell: str = "sh") -> subprocess.CompletedProcess:
    full_env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", **{k: str(v) for k, v in env.items()})
    args = [shell, "-e", "-c", script] if shell == "bash" else [shell, "-c", script]
    return subprocess.run(args, env=full_env, cwd=cwd, capture_output=True, timeout=300)


def results(path: Path) -> list:
    return json.loads(path.read_text())["results"]


def container(job: dict) -> dict:
    return job["spec"]["template"]["spec"]["containers"][0]


def env_of(c: dict) -> dict:
    return {e["name"]: e["value"] for e in c.get("env", [])}


def main() -> int:
    flscan, corpus, examples = os.path.abspath(sys.argv[1]), Path(sys.argv[2]).resolve(), Path(sys.argv[3]).resolve()
    scan_root = corpus / "windows" / "nt4-infected"
    work = Path(tempfile.mkdtemp(prefix="flscan-examples-"))
    try:
        bindir = work / "bin"
        bindir.mkdir()
        os.symlink(flscan, bindir / "flscan")
        full = subprocess.run([flscan, "--progress", "never", "-q", "--json", str(work / "full.json"), str(scan_root)],
                              capture_output=True, timeout=300)
        full_results = results(work / "full.json")

        # Kubernetes: Indexed Job, then the merge Job.
        docs = list(yaml.safe_load_all((examples / "kubernetes/flscan-shards.yaml").read_text()))
        jobs = [d for d in docs if d and d.get("kind") == "Job"]
        check(any(d.get("kind") == "PersistentVolumeClaim" for d in docs), "k8s: no reports volume claim")
        if check(len(jobs) == 1, "k8s: flscan-shards.yaml must hold one Job"):
            job = jobs[0]
            spec = job["spec"]
            c = container(job)
            env = env_of(c)
            shards = int(env["SHARDS"])
            check(spec.get("completionMode") == "Indexed", "k8s: completionMode is not Indexed")
            check(spec["completions"] == shards and spec["parallelism"] == shards,
                  f"k8s: completions/parallelism {spec['completions']}/{spec['parallelism']} != SHARDS {shards}")
            mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
            check(mounts[env["SCAN_ROOT"]].get("readOnly") is True, "k8s: the snapshot is not mounted read-only")
            reports = work / "k8s-reports"
            reports.mkdir()
            for index in range(spec["completions"]):
                run = sh(c["args"][0], {**env, "SCAN_ROOT": scan_root, "REPORTS": reports, "JOB_COMPLETION_INDEX": index},
                         work, bindir)
                check(run.returncode == 0, f"k8s: pod {index} exited {run.returncode}: {run.stderr!r}")
            check(len(list(reports.glob("shard-*.json"))) == shards, "k8s: not one report per shard")
            check(not list(reports.glob("*.tmp")), "k8s: temporary report left behind")
            merge_job = yaml.safe_load((examples / "kubernetes/flscan-merge.yaml").read_text())
            mc = container(merge_job)
            check(int(env_of(mc)["SHARDS"]) == shards, "k8s: the merge Job's SHARDS differs")
            merged = sh(mc["args"][0], {**env_of(mc), "REPORTS": reports}, work, bindir)
            check(merged.returncode == full.returncode,
                  f"k8s: merge exited {merged.returncode}, the full scan {full.returncode}: {merged.stderr!r}")
            for name in ("flscan.json", "flscan.sarif", "flscan.html"):
                check((reports / name).is_file(), f"k8s: merge wrote no {name}")
            if (reports / "flscan.json").is_file():
                check(results(reports / "flscan.json") == full_results, "k8s: merged findings differ from the full scan")
            # One shard report gone: the merge Job must fail, not report less.
            sorted(reports.glob("shard-*.json"))[0].unlink()
            partial = sh(mc["args"][0], {**env_of(mc), "REPORTS": reports}, work, bindir)
            check(partial.returncode == 2 and b"missing shard" in partial.stderr, "k8s: merge with a shard missing did not fail")

        # GitHub Actions: matrix of shard jobs, then the merge job.
        workflow = yaml.safe_load((examples / "ci/github-actions.yml").read_text())
        check(True in workflow or "on" in workflow, "actions: no trigger")
        shards = int(workflow["env"]["SHARDS"])
        scan_job, merge_job = workflow["jobs"]["scan"], workflow["jobs"]["merge"]
        check(scan_job["strategy"]["matrix"]["shard"] == list(range(1, shards + 1)),
              f"actions: matrix {scan_job['strategy']['matrix']['shard']} is not 1..{shards}")
        check(merge_job.get("needs") == "scan", "actions: merge does not wait for the scan jobs")
        scan_step = next(s for s in scan_job["steps"] if "run" in s)
        actions = work / "actions"
        (actions / "shards").mkdir(parents=True)
        for shard in range(1, shards + 1):
            run = sh(scan_step["run"], {"SHARD": shard, "SHARDS": shards, "SCAN_ROOT": scan_root}, actions, bindir, "bash")
            check(run.returncode == 0, f"actions: shard {shard} exited {run.returncode}: {run.stderr!r}")
            if (actions / f"shard-{shard}.json").exists():
                shutil.move(actions / f"shard-{shard}.json", actions / "shards")  # what download-artifact does
        merge_step = next(s for s in merge_job["steps"] if s.get("id") == "merge")
        merged = sh(merge_step["run"], {}, actions, bindir, "bash")
        check(merged.returncode == full.returncode, f"actions: merge exited {merged.returncode}: {merged.stderr!r}")
        check((actions / "flscan.sarif").is_file(), "actions: merge wrote no SARIF")
        check(any("upload-sarif" in s.get("uses", "") for s in merge_job["steps"]), "actions: SARIF not uploaded")
        if (actions / "flscan.json").is_file():
            check(results(actions / "flscan.json") == full_results, "actions: merged findings differ from the full scan")

        # GitLab CI: parallel shard jobs, then the merge stage.
        pipeline = yaml.safe_load((examples / "ci/gitlab-ci.yml").read_text())
        check(pipeline["stages"][-1] == pipeline["flscan-merge"]["stage"], "gitlab: merge is not the last stage")
        check(pipeline["flscan-merge"].get("needs") == ["flscan-shard"], "gitlab: merge does not need the shard jobs")
        shard_job = pipeline["flscan-shard"]
        total = int(shard_job["parallel"])
        gitlab = work / "gitlab"
        gitlab.mkdir()
        for index in range(1, total + 1):
            env = {"CI_NODE_INDEX": index, "CI_NODE_TOTAL": total, "SCAN_ROOT": scan_root}
            run = sh("\n".join(shard_job["script"]), env, gitlab, bindir, "bash")
            check(run.returncode == 0, f"gitlab: shard {index} exited {run.returncode}: {run.stderr!r}")
            artifact = shard_job["artifacts"]["paths"][0].replace("$CI_NODE_INDEX", str(index))
            check((gitlab / artifact).is_file(), f"gitlab: shard {index} left no {artifact}")
        merged = sh("\n".join(pipeline["flscan-merge"]["script"]), {}, gitlab, bindir, "bash")
        check(merged.returncode == full.returncode, f"gitlab: merge exited {merged.returncode}: {merged.stderr!r}")
        for name in pipeline["flscan-merge"]["artifacts"]["paths"]:
            check((gitlab / name).is_file(), f"gitlab: merge left no {name}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    for failure in failures:
        print("FAIL:", failure)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
