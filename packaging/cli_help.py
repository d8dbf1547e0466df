"""Reads flscan's --help text (CLI11's layout) into commands, options and footer blocks.

The man page (gen_docs.py man) and the shell completion (gen_docs.py bash) are generated from it
at build time, so an option added to the program appears in both without an edit (issue 18).
Layout read here, as CLI11 2.1 prints it:

    DESCRIPTION LINES...
    Usage: flscan [OPTIONS] [PATH...]

    Positionals:
      PATH ...                    help text, continued on lines indented
                                  to the help column

    Options:
      -d,--database FILE|DIR ...  help ...
      --progress WHEN:{auto,always,never}
                                  help on the next line when the head is long

    FOOTER (free text: titled blocks, paragraphs)
"""

import re
import subprocess
from dataclasses import dataclass, field

# flscan's subcommands are named in the main --help as "flscan NAME --help" (merge, restore).
SUBCOMMAND_MENTION = re.compile(r"flscan ([a-z]+) --help")
OPTION_HEAD = re.compile(r"^  (\S+(?: \S+)*)(?: {2,}(\S.*))?$")
CHOICES = re.compile(r"^([^:]*):\{([^}]*)\}$")


@dataclass
class Option:
    names: list  # ["-d", "--database"], or ["PATH"] for a positional
    value: str = ""  # "FILE|DIR", "WHEN:{auto,always,never}", "" for a flag
    repeatable: bool = False
    required: bool = False
    help: list = field(default_factory=list)  # the help lines, unwrapped later

    @property
    def positional(self):
        return not self.names[0].startswith("-")

    @property
    def metavar(self):
        """The value's name without its choices: WHEN for WHEN:{auto,always,never}."""
        match = CHOICES.match(self.value)
        return match.group(1) if match else self.value

    @property
    def choices(self):
        """The values the help lists for the option ({a,b,c}), or []."""
        match = CHOICES.match(self.value)
        return [c for c in match.group(2).split(",") if c] if match else []

    @property
    def text(self):
        return " ".join(line.strip() for line in self.help if line.strip())


@dataclass
class Block:
    """A piece of the footer: a titled block ("Exit codes:") or an untitled paragraph."""

    title: str  # "" when untitled
    lines: list  # body lines, indentation kept


@dataclass
class Command:
    name: str  # "flscan", "flscan merge"
    description: list  # paragraphs, each a list of lines
    usage: str  # "flscan [OPTIONS] [PATH...]"
    positionals: list
    options: list
    footer: list  # of Block


def parse(name, text):
    lines = text.rstrip("\n").split("\n")
    usage_at = next(i for i, line in enumerate(lines) if line.startswith("Usage: "))
    description = paragraphs(lines[:usage_at])
    usage = lines[usage_at][len("Usage: ") :]
    positionals, options, section, footer_at = [], [], None, len(lines)
    i = usage_at + 1
    while i < len(lines):
        line = lines[i]
        if line in ("Positionals:", "Options:"):
            section = positionals if line == "Positionals:" else options
        elif not line.strip():
            if section is options:
                footer_at = i + 1
                break
        elif line.startswith("   ") and section is not None and section:
            section[-1].help.append(line)
        elif section is not None:
            match = OPTION_HEAD.match(line)
            if not match:
                raise ValueError(f"{name} --help: cannot read the option line {line!r}")
            section.append(head_option(match.group(1)))
            if match.group(2):
                section[-1].help.append(match.group(2))
        i += 1
    return Command(name, description, usage, positionals, options, footer_blocks(lines[footer_at:]))


def head_option(head):
    tokens = head.split(" ")
    option = Option(names=tokens[0].split(","))
    for token in tokens[1:]:
        if token == "...":
            option.repeatable = True
        elif token == "REQUIRED":
            option.required = True
        elif not option.value and not token.startswith("["):
            option.value = token
    return option


def paragraphs(lines):
    out, current = [], []
    for line in lines:
        if line.strip():
            current.append(line)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


def footer_blocks(lines):
    """Column-0 lines ending in ':' open a titled block, as do short "Title: text" lines that
    start a paragraph (at most four words before the colon: "Exit codes: 0 every ...")."""
    blocks = []
    for paragraph in paragraphs(lines):
        first = paragraph[0]
        titled = re.match(r"^(\S[^:]*):(?: (.*))?$", first)
        if first[0] != " " and first.endswith(":"):
            title, rest = first[:-1], []
        elif first[0] != " " and titled and len(titled.group(1).split()) <= 4:
            title, rest = titled.group(1), [titled.group(2)] if titled.group(2) else []
        else:
            title = None
        if title is not None:
            if blocks and blocks[-1].title == title:
                blocks[-1].lines += rest + paragraph[1:]
                continue
            blocks.append(Block(title, rest + paragraph[1:]))
        elif first[0] == " " and blocks and blocks[-1].title:
            blocks[-1].lines += [""] + paragraph  # an indented paragraph continues its block
        else:
            blocks.append(Block("", paragraph))
    return blocks


def help_text(flscan, *args):
    run = subprocess.run([flscan, *args, "--help"], capture_output=True, text=True, check=True)
    return run.stdout


def commands(flscan):
    """flscan's own help, then each subcommand its help names, in order of first mention."""
    main_text = help_text(flscan)
    result = [parse("flscan", main_text)]
    seen = []
    for sub in SUBCOMMAND_MENTION.findall(main_text):
        if sub not in seen:
            seen.append(sub)
            result.append(parse(f"flscan {sub}", help_text(flscan, sub)))
    return result


def version(flscan):
    """("0.1.0", "funlove-2026.11.1"): flscan's version and its built-in signature set's."""
    out = subprocess.run([flscan, "--version"], capture_output=True, text=True, check=True).stdout
    program = re.search(r"^flscan (\S+)$", out, re.M)
    builtin = re.search(r"built-in (\S+)", out)
    if not program or not builtin:
        raise ValueError(f"flscan --version: unexpected output {out!r}")
    return program.group(1), builtin.group(1)
