#!/usr/bin/env python3
"""The man page flscan(1) and the bash completion, generated at build time from the --help of the
built flscan (and of each subcommand it names), so neither can fall behind the options (issue 18).

    gen_docs.py man  FLSCAN OUT.1 [OUT.1.gz]
    gen_docs.py bash FLSCAN OUT

Hand-written here: only the prose --help does not carry (the introduction and the offline
procedure, from README.md "flscan" and "Offline Windows"), FILES and SEE ALSO. Everything else,
options, value lists, exit codes, examples, the Q317218 report, merge and restore, is --help's.
"""

import gzip
import re
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cli_help  # noqa: E402

# README.md, opening paragraph.
INTRO = (
    "flscan finds the W32.FunLove.4099 file virus and what it leaves on a Windows system: infected "
    "PE files (and damaged ones), the FLCSS.EXE dropper under any name, the patched NT kernel and "
    "loader, and the harmless leftovers (Norton-repair remnants, inoculated files, lookalike decoys) "
    "that other scanners either miss or misreport. It recognises files by content, explains every "
    "finding with the offsets and bytes it saw, and never reports a file it could not read as clean."
)
# README.md "Offline Windows (Q317218 report)", the procedure.
OFFLINE_STEPS = [
    "Boot the machine from rescue media (a live CD or USB stick with flscan): a running FunLove "
    "reinfects every file cleaned while it runs, so scan and clean offline.",
    "Mount the Windows volume read-only, e.g. mount -o ro /dev/sda1 /mnt/c, or name the disk or "
    "its image as PATH without mounting it.",
    "Run flscan /mnt/c (add --json report.json for programs).",
]
# Footer blocks of the main --help that become sections of their own; the others are subsections
# of DESCRIPTION, in --help's order, so a block added to --help later is never dropped.
Q317218_BLOCK = re.compile(r"Q317218")
EXAMPLES_BLOCK = re.compile(r"^Examples?\b")
EXIT_BLOCK = re.compile(r"^Exit codes")
ITEM = re.compile(r"^( *)(\S+)( {2,})(\S.*)$")


def esc(text):
    """Text as roff: backslashes and minus signs escaped, no control line by accident."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def bold(text):
    return f"\\fB{esc(text)}\\fR"


def italic(text):
    return f"\\fI{esc(text)}\\fR"


def option_tag(option):
    names = ", ".join(bold(n) if not option.positional else italic(n) for n in option.names)
    if option.value:
        names += " " + italic(option.metavar)
        if option.choices:
            names += esc(" {" + ",".join(option.choices) + "}")
    if option.repeatable and not option.positional:
        names += " ..."
    return names


def render_options(out, options):
    for option in options:
        out += [".TP", option_tag(option), esc(option.text)]


def render_body(out, lines, verbatim=False):
    """A footer block's body: prose at the block's indentation is filled; "word  text" lists
    (two or more rows, continuation lines under the text) become tagged paragraphs; deeper
    lines (commands, sample patterns) and example blocks are kept as written."""
    lines = [line.rstrip() for line in lines]
    present = [line for line in lines if line.strip()]
    if not present:
        return
    base = min(len(line) - len(line.lstrip()) for line in present)
    if verbatim:
        out += [".PP", ".nf", ".RS 4"] + [esc(line[base:]) for line in lines] + [".RE", ".fi"]
        return
    i, prose = 0, []

    def flush():
        if prose:
            out.extend([".PP", esc(" ".join(prose))])
            prose.clear()

    while i < len(lines):
        line = lines[i]
        indent = len(line) - len(line.lstrip())
        item = ITEM.match(line)
        rows = list_rows(lines, i) if item else []
        if rows:
            flush()
            out.append(f".RS {max(indent - base, 0) // 2 * 2 + 2}" if indent > base else ".RS 2")
            for tag, text in rows:
                out += [f".TP {len(tag) + 2}", bold(tag), esc(text)]
            out.append(".RE")
            i += sum(count for count in row_lengths(lines, i))
        elif not line.strip():
            flush()
            i += 1
        elif indent == base:
            prose.append(line.strip())
            i += 1
        else:
            flush()
            start = i
            while i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > base:
                i += 1
            out += [".PP", ".nf", ".RS 4"] + [esc(l[base:]) for l in lines[start:i]] + [".RE", ".fi"]
    flush()


def row_lengths(lines, i):
    """Line counts of the list rows starting at line i (see list_rows)."""
    first = ITEM.match(lines[i])
    indent = len(first.group(1))
    counts = []
    while i < len(lines):
        item = ITEM.match(lines[i])
        if not item or len(item.group(1)) != indent:
            break
        column = len(item.group(1) + item.group(2) + item.group(3))
        n = 1
        while i + n < len(lines) and lines[i + n].strip() and len(lines[i + n]) - len(lines[i + n].lstrip()) >= column:
            n += 1
        counts.append(n)
        i += n
    return counts if len(counts) >= 2 else []


def list_rows(lines, i):
    rows = []
    for n in row_lengths(lines, i):
        item = ITEM.match(lines[i])
        rows.append((item.group(2), " ".join([item.group(4)] + [l.strip() for l in lines[i + 1 : i + n]])))
        i += n
    return rows


def synopsis(command):
    words = command.usage.split(" ")
    program = " ".join(w for w in words if w and w[0].isalpha() and w.islower())
    rest = " ".join(w for w in words[len(program.split(" ")) :])
    return [".PP", bold(program) + " " + esc(rest)]


def man_page(commands, version, signature_set):
    scan, subs = commands[0], commands[1:]
    blocks = scan.footer
    q317218 = [b for b in blocks if Q317218_BLOCK.search(b.title)]
    examples = [b for b in blocks if EXAMPLES_BLOCK.search(b.title)]
    exits = [b for b in blocks if EXIT_BLOCK.search(b.title)]
    others = [b for b in blocks if b not in q317218 + examples + exits]
    out = [
        f'.TH FLSCAN 1 "" "flscan {esc(version)}" "User Commands"',
        ".SH NAME",
        "flscan \\- find the W32.FunLove.4099 virus in files, directory trees and disk images, "
        "and map host evidence to Microsoft KB Q317218",
        ".SH SYNOPSIS",
    ]
    for command in commands:
        out += synopsis(command)
    out += [".SH DESCRIPTION"]
    for paragraph in scan.description:
        out += [".PP", esc(" ".join(line.strip() for line in paragraph))]
    out += [".PP", esc(INTRO)]
    out += [".PP", esc(f"The built-in signature set of this version is {signature_set}; flscan --version names it "
                       "and every set loaded with -d.")]
    for block in others:
        out += [".SS", esc(block.title)] if block.title else []
        render_body(out, block.lines)
    out += [".SH OPTIONS"]
    render_options(out, scan.positionals + scan.options)
    for command in subs:
        out += [f".SS {esc(command.name)}"]
        for paragraph in command.description:
            out += [".PP", esc(" ".join(line.strip() for line in paragraph))]
        render_options(out, command.positionals + command.options)
        for block in command.footer:
            if EXAMPLES_BLOCK.search(block.title) or EXIT_BLOCK.search(block.title):
                continue
            if block.title:
                out += [".PP", bold(block.title + ":")]
            render_body(out, block.lines)
    out += [".SH THE Q317218 REPORT", ".PP", esc("To tell whether a Windows NT machine shows the symptoms of KB "
                                                  "Q317218 (or only those of KB Q321454):")]
    for n, step in enumerate(OFFLINE_STEPS, 1):
        out += [f".IP {n}. 4", esc(step)]
    for block in q317218:
        render_body(out, block.lines)
    out += [".SH EXIT STATUS"]
    for block in exits:
        render_body(out, block.lines)
    for command in subs:
        for block in command.footer:
            if EXIT_BLOCK.search(block.title):
                out += [".PP", bold(command.name) + ":"]
                render_body(out, block.lines)
    out += [
        ".SH FILES",
        ".TP",
        italic("DIR") + "/manifest.json, " + italic("DIR") + "/" + italic("ID") + ".flq",
        esc("A quarantine (--quarantine DIR): the manifest of quarantined files and their copies "
            "(mode 0400, still infected). flscan restore DIR puts them back."),
        ".TP",
        italic("PREFIX") + esc("/share/doc/flscan/"),
        esc("README.md (the full manual), JSON.md (the --json report's schema), SARIF.md (the --sarif "
            "log's rules and fields), signatures/README.md (the signature formats -d loads)."),
        ".TP",
        italic("PREFIX") + esc("/share/bash-completion/completions/flscan"),
        esc("Completion of options, their values and file arguments in bash."),
        ".PP",
        esc("PREFIX is /usr for the Debian package and /usr/local for make install by default."),
        ".SH EXAMPLES",
    ]
    for block in examples:
        render_body(out, block.lines, verbatim=True)
    for command in subs:
        for block in command.footer:
            if EXAMPLES_BLOCK.search(block.title):
                out += [".PP", bold(command.name) + ":"]
                render_body(out, block.lines, verbatim=True)
    out += [
        ".SH SEE ALSO",
        ".BR clamscan (1),",
        ".BR fls (1),",
        ".BR mmls (1),",
        ".BR mount (8)",
        ".PP",
        esc("Microsoft KB Q317218 and Q321454; README.md, JSON.md and SARIF.md in PREFIX/share/doc/flscan."),
    ]
    return "\n".join(out) + "\n"


# Completion: what each value type completes to; a type not listed completes file names (the safe
# default for a FILE-like value added later).
VALUE_KIND = {"DIR": "dir", "ROOT": "dir", "GLOB": "none", "SIZE": "none", "N": "none", "K/N": "none"}


def value_kind(option):
    if option.choices:
        return "list" if option.metavar == "LIST" else "word"
    return VALUE_KIND.get(option.metavar, "file")


def bash_completion(commands):
    """One bash function, _flscan, with a table per command: no bash-completion package needed."""
    out = [
        "# bash completion for flscan, generated from flscan --help at build time (packaging/gen_docs.py).",
        "",
    ]
    for command in commands:
        key = command.name.replace("flscan", "").strip() or "scan"
        options = [n for o in command.options for n in o.names]
        values = []
        for option in command.options:
            if option.value:
                for name in option.names:
                    values.append(f"[{name}]=" + shlex.quote(f"{value_kind(option)}:{' '.join(option.choices)}"))
        positional = command.positionals[0].names[0] if command.positionals else ""
        pos_kind = "dir" if positional in ("DIR", "ROOT") else "file"
        out += [
            f"_flscan_options_{key}={shlex.quote(' '.join(options))}",
            f"declare -gA _flscan_values_{key}=({' '.join(values)})",
            f"_flscan_operand_{key}={pos_kind}",
        ]
    subs = " ".join(c.name.split(" ", 1)[1] for c in commands[1:])
    out += [
        f"_flscan_subcommands={shlex.quote(subs)}",
        r"""
_flscan() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} key=scan start=1
    if ((COMP_CWORD > 1)) && [[ " $_flscan_subcommands " == *" ${COMP_WORDS[1]} "* ]]; then
        key=${COMP_WORDS[1]}
        start=2
    fi
    local -n values=_flscan_values_$key
    local options_var=_flscan_options_$key operand_var=_flscan_operand_$key
    COMPREPLY=()
    # The option whose value is at the cursor: "--opt VALUE", or "--opt=VALUE", which bash splits
    # into "--opt" "=" "VALUE" (COMP_WORDBREAKS holds '=').
    local option=""
    if [[ $cur == = ]]; then
        option=$prev
        cur=""
    elif [[ $prev == = ]] && ((COMP_CWORD > start + 1)); then
        option=${COMP_WORDS[COMP_CWORD-2]}
    elif [[ $cur == --*=* ]]; then
        option=${cur%%=*}
        cur=${cur#*=}
    elif ((COMP_CWORD > start)); then
        option=$prev
    fi
    if [[ -n $option && ${values[$option]+set} ]]; then
        local spec=${values[$option]}
        local kind=${spec%%:*} choices=${spec#*:}
        case $kind in
            word) mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur") ;;
            list)
                local done_part="" last=$cur
                if [[ $cur == *,* ]]; then
                    done_part=${cur%,*},
                    last=${cur##*,}
                fi
                mapfile -t COMPREPLY < <(compgen -P "$done_part" -W "$choices" -- "$last")
                compopt -o nospace 2>/dev/null
                ;;
            dir) mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            file) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        esac
        [[ $kind == dir || $kind == file ]] && compopt -o filenames 2>/dev/null
        return 0
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "${!options_var}" -- "$cur")
        return 0
    fi
    if [[ ${!operand_var} == dir ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    if ((COMP_CWORD == 1)); then
        local sub
        while read -r sub; do COMPREPLY+=("$sub"); done < <(compgen -W "$_flscan_subcommands" -- "$cur")
    fi
    compopt -o filenames 2>/dev/null
    return 0
}
complete -F _flscan flscan""",
    ]
    return "\n".join(out) + "\n"


def main():
    mode, flscan, target = sys.argv[1:4]
    commands = cli_help.commands(flscan)
    if mode == "man":
        version, signature_set = cli_help.version(flscan)
        page = man_page(commands, version, signature_set)
        Path(target).write_text(page)
        if len(sys.argv) > 4:  # gzip -9n: no name or time in the header, so the package is reproducible
            with open(sys.argv[4], "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                gz.write(page.encode())
    elif mode == "bash":
        Path(target).write_text(bash_completion(commands))
    else:
        sys.exit(f"gen_docs.py: unknown mode {mode!r} (man or bash)")


if __name__ == "__main__":
    main()
