#!/usr/bin/env python3
"""flscan(1) and the bash completion against the built flscan's --help (issue 18).

    docs_test.py FLSCAN MAN_PAGE BASH_COMPLETION

- `man --warnings -l MAN_PAGE` renders with no warning, and has the sections the issue asks for,
  with a SYNOPSIS line for the scan, flscan merge and flscan restore;
- every option each --help lists (the lines of its "Options:" section, read here with a plain
  pattern, not with the generator's parser) has an entry in the man page under its command, and is
  offered by the completion for that command, and no option of another command is;
- option values complete: --progress and --fail-on to the values their code accepts (also after
  '=' and after a comma), FILE values to files, DIR values to directories only.
"""

import os
import re
import subprocess
import sys
import tempfile

failures = []
SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "THE Q317218 REPORT", "EXIT STATUS", "FILES",
            "EXAMPLES", "SEE ALSO"]
SUBCOMMANDS = ["merge", "restore"]  # main.cpp dispatches these before the scan's options


def check(condition, text):
    if not condition:
        failures.append(text)
    return condition


def help_options(flscan, *sub):
    """The option names of the "Options:" section of `flscan [sub] --help`."""
    text = subprocess.run([flscan, *sub, "--help"], capture_output=True, text=True, check=True).stdout
    section = text.split("\nOptions:\n", 1)[1].split("\n\n", 1)[0]
    names = []
    for line in section.split("\n"):
        match = re.match(r"^  (-[^ ]+)", line)
        if match:
            names += match.group(1).split(",")
    return names


def roff(name):
    return name.replace("-", "\\-")


def complete(completion, words, cwd):
    """COMPREPLY of _flscan for the command line `words`, the cursor on the last word."""
    script = (f"source {completion!r}; COMP_WORDS=({' '.join(sh_quote(w) for w in words)}); "
              f"COMP_CWORD={len(words) - 1}; _flscan; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    run = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True, cwd=cwd)
    check(run.returncode == 0 and not run.stderr, f"completion of {words}: exit {run.returncode}, stderr {run.stderr!r}")
    return sorted(w for w in run.stdout.split("\n") if w)


def sh_quote(word):
    return "'" + word.replace("'", "'\\''") + "'"


def main():
    flscan, man_page, completion = (os.path.abspath(a) for a in sys.argv[1:4])
    page = open(man_page).read()

    rendered = subprocess.run(["man", "--warnings", "-l", man_page], capture_output=True, text=True,
                              env={**os.environ, "MANWIDTH": "80"})
    check(rendered.returncode == 0, f"man -l exit {rendered.returncode}")
    check(not rendered.stderr.strip(), f"man --warnings -l {man_page}: {rendered.stderr}")
    headers = re.findall(r'^\.SH "?([^"\n]+)"?$', page, re.M)
    for section in SECTIONS:
        check(section in headers, f"man page lacks the section {section} (has {headers})")
    synopsis = page.split(".SH SYNOPSIS", 1)[1].split(".SH ", 1)[0]
    for command in ["flscan\\fR [OPTIONS]", "flscan merge", "flscan restore"]:
        check(command in synopsis, f"SYNOPSIS lacks {command!r}")

    # Each command's part of the man page: the scan's options come before the first subcommand's.
    parts = {"": page.split(".SH OPTIONS", 1)[1].split("\n.SS flscan ", 1)[0]}
    for sub in SUBCOMMANDS:
        parts[sub] = page.split(f"\n.SS flscan {sub}\n", 1)[1].split("\n.S", 1)[0] if f".SS flscan {sub}\n" in page else ""
        check(parts[sub], f"man page has no OPTIONS subsection for flscan {sub}")

    with tempfile.TemporaryDirectory() as tmp:
        os.mkdir(os.path.join(tmp, "quarantine-dir"))
        open(os.path.join(tmp, "report.json"), "w").close()
        options = {sub: help_options(flscan, *([sub] if sub else [])) for sub in [""] + SUBCOMMANDS}
        check(len(options[""]) > 20 and "--fail-on" in options[""], f"flscan --help options: {options['']}")
        for sub, names in options.items():
            prefix = ["flscan"] + ([sub] if sub else [])
            offered = complete(completion, prefix + ["-"], tmp)
            for name in names:
                tag = re.search(r"^\.TP\n.*\\fB" + re.escape(roff(name)) + r"\\fR", parts[sub], re.M)
                check(tag, f"man page: no entry for {' '.join(prefix)} {name}")
                check(name in offered, f"completion of '{' '.join(prefix)} -' does not offer {name}")
            check(set(offered) == set(names), f"completion of '{' '.join(prefix)} -' offers {sorted(set(offered) - set(names))} "
                                              f"beyond the help's options")

        # Values (scanner/app/options.cpp: --progress IsMember; report/fail_on.h: the --fail-on words).
        expect = {
            ("flscan", "--progress", ""): ["always", "auto", "never"],
            ("flscan", "--progress", "=", "al"): ["always"],
            ("flscan", "--fail-on", ""): ["incomplete", "infected", "none", "suspicious"],
            ("flscan", "--fail-on", "infected,s"): ["infected,suspicious"],
            ("flscan", "merge", "--fail-on", "inc"): ["incomplete"],
            ("flscan", "--json", "rep"): ["report.json"],
            ("flscan", "--quarantine", "q"): ["quarantine-dir"],
            ("flscan", "--quarantine", "r"): [],
            ("flscan", "restore", "--to", ""): ["quarantine-dir"],
            ("flscan", "restore", ""): ["quarantine-dir"],
            ("flscan", "merge", "rep"): ["report.json"],
            ("flscan", "res"): ["restore"],
            ("flscan", "-j", ""): [],
            ("flscan", "-q", "rep"): ["report.json"],
        }
        for words, wanted in expect.items():
            got = complete(completion, list(words), tmp)
            check(got == wanted, f"completion of {list(words)}: {got}, expected {wanted}")

    for failure in failures:
        print("FAIL:", failure)
    print(f"man page and completion against --help: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
