"""Run a documentation page's code blocks and compare what they print with what the page shows.

The rules (docs/writing-docs.md says the same for writers):

* ```` ```python ```` blocks run in order, in one namespace per page, in a temporary folder that
  holds whatever files the page's earlier blocks made (and ``examples/``, a link to the
  repository's, as a checkout has it).  What a block prints (stdout and stderr) must be the
  ```` ```text ```` block that follows it; a python block with no such block must print nothing.
  A block that raises shows the traceback as Python prints it (``Traceback ...`` then ``...``).
* ```` ```console ```` blocks: each ``$ `` line (continued by a trailing ``\\``) runs with bash in
  the same folder, ``backprop`` being ``sys.executable -m backprop`` and ``python``
  ``sys.executable``; the lines after it, up to the next ``$ ``, are what it prints (stdout and
  stderr together, as a terminal shows them).  ``$?`` is the previous command's exit status.
* Wildcards, for timings, dates and paths only: a line that is just ``...`` (not indented)
  matches any number of lines (none included), and ``...`` anywhere else matches any text
  within one line (so ``  ...`` is one indented line).
  Trailing spaces and trailing empty lines are ignored.
* Any other block cannot run in the tests (an install command, a benchmark's output on the full
  Fashion-MNIST, an interactive Ctrl-C) and must say so in its title:
  ```` ```text title="... (not run by the docs tests)" ````; repository files it names
  (``benchmarks/...py``) must exist.  The first block of a README is exempt: it is the two
  commands ``.ci/run`` runs.

``python scripts/docblocks.py docs/PAGE.md ...`` runs pages and prints every mismatch;
``--update`` writes the real output into the page where it differs (check the wildcards after).
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import io
import os
import re
import subprocess
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ELLIPSIS = "..."
NOT_RUN = "not run by the docs tests"
COMMAND_TIMEOUT_S = 300

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_TITLE = re.compile(r'title="([^"]*)"')
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)")
_REPO_PATH = re.compile(r"\b((?:benchmarks|tests|examples|scripts|src)/[\w./-]+\.\w+)")


@dataclass
class Block:
    """One fenced block of a page: its language, info-string attributes and text."""

    line: int  #: 1-based line of the opening fence
    lang: str
    info: str
    code: str
    start: int  #: 0-based index of the first content line in the page's lines
    end: int  #: 0-based index of the closing fence
    indent: str

    @property
    def title(self) -> str | None:
        """The ``title="..."`` attribute, if any."""
        m = _TITLE.search(self.info)
        return m.group(1) if m else None


@dataclass
class Mismatch:
    """Where a page and what its code printed differ."""

    page: Path
    line: int
    what: str
    expected: str
    actual: str
    block: Block | None = None
    command_index: int | None = None

    def __str__(self) -> str:
        diff = "\n".join(difflib.unified_diff(
            self.expected.splitlines(), self.actual.splitlines(), "shown in the page",
            "printed", lineterm="", n=2))
        return f"{self.page}:{self.line}: {self.what}\n{diff or self.actual}"


@dataclass
class PageRun:
    """The result of running one page: its mismatches and the folder it ran in."""

    page: Path
    folder: Path
    mismatches: list[Mismatch] = field(default_factory=list)
    blocks_run: int = 0


def parse_blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown text, indented ones (in admonitions) included."""
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        info = m.group("info").strip()
        if fence[0] == "`" and "`" in info:  # CommonMark: then it is inline code, not a fence
            i += 1
            continue
        j = i + 1
        close = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        if j == len(lines):
            raise ValueError(f"line {i + 1}: a code block that is never closed")
        body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip()
                for ln in lines[i + 1:j]]
        lang = info.split()[0].lstrip("{.").rstrip("}") if info else ""
        blocks.append(Block(i + 1, lang, info, "\n".join(body), i + 1, j, indent))
        i = j + 1
    return blocks


def page_images(text: str) -> list[str]:
    """The relative paths of the images a Markdown page shows (``![...](path)``, outside code
    blocks and code spans)."""
    lines = text.splitlines()
    try:
        for b in parse_blocks(text):
            lines[b.line - 1:b.end + 1] = [""] * (b.end + 2 - b.line)
    except ValueError:
        pass  # an unclosed fence: run_page reports it
    prose = _CODE_SPAN.sub("", "\n".join(lines))
    return [t for t in _IMAGE.findall(prose) if "://" not in t and not t.startswith("/")]


def _between_is_blank(lines: list[str], a: int, b: int) -> bool:
    return all(not ln.strip() for ln in lines[a:b])


@dataclass
class Step:
    """A python block with the output block that follows it, or a console block."""

    block: Block
    output: Block | None = None


def plan(text: str, page: Path) -> tuple[list[Step], list[tuple[int, str]]]:
    """The runnable steps of a page, and the problems with its blocks (a block that neither
    runs nor says why, a quoted file that does not exist)."""
    blocks = parse_blocks(text)
    lines = text.splitlines()
    steps: list[Step] = []
    problems: list[tuple[int, str]] = []
    used: set[int] = set()
    for k, b in enumerate(blocks):
        if k in used:
            continue
        if b.lang == "python":
            nxt = blocks[k + 1] if k + 1 < len(blocks) else None
            if (nxt is not None and nxt.lang == "text" and nxt.title is None
                    and _between_is_blank(lines, b.end + 1, nxt.line - 1)):
                used.add(k + 1)
                steps.append(Step(b, nxt))
            else:
                steps.append(Step(b))
        elif b.lang == "console":
            steps.append(Step(b))
        elif k == 0 and page.name.upper().startswith("README"):
            continue
        elif b.title is None or NOT_RUN not in b.title:
            problems.append((b.line, f"a {b.lang or 'plain'} block that is not run: make it "
                                     f"python or console, the text output right after a python "
                                     f"block, or say why in its title ('{NOT_RUN}')"))
        else:
            for name in _REPO_PATH.findall(b.title + "\n" + b.code):
                if not (REPO / name).exists():
                    problems.append((b.line, f"the quoted block names {name}, which is not "
                                             f"in the repository"))
    return steps, problems


def _line_regex(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split(ELLIPSIS)) + r"\Z")


def _normal(text: str) -> list[str]:
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def matches(expected: str, actual: str) -> bool:
    """Whether ``actual`` is what ``expected`` shows, with the wildcards of the module
    docstring: a line ``...`` matches any lines, ``...`` in a line any text in that line."""
    want, got = _normal(expected), _normal(actual)
    pats = [None if w == ELLIPSIS else _line_regex(w) for w in want]
    memo: dict[tuple[int, int], bool] = {}

    def ok(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(pats):
            res = j == len(got)
        elif pats[i] is None:
            res = any(ok(i + 1, k) for k in range(j, len(got) + 1))
        else:
            res = j < len(got) and pats[i].match(got[j]) is not None and ok(i + 1, j + 1)
        memo[(i, j)] = res
        return res

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * (len(pats) + len(got)) + 100))
    return ok(0, 0)


@dataclass
class Command:
    """One ``$`` command of a console block and the lines the page shows after it."""

    line: int
    command: str
    expected: str
    first: int  #: 0-based index (in the block's lines) of the command's first line
    stop: int  #: 0-based index after its output


def parse_console(block: Block) -> list[Command]:
    """The commands of a console block, each with the output the page shows."""
    lines = block.code.split("\n")
    cmds: list[Command] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            raise ValueError(f"line {block.line + 1 + i}: console output before any '$ ' "
                             f"command")
        first = i
        parts = [lines[i][2:]]
        while parts[-1].endswith("\\") and i + 1 < len(lines):
            i += 1
            parts.append(lines[i])
        i += 1
        out_start = i
        while i < len(lines) and not lines[i].startswith("$ "):
            i += 1
        cmds.append(Command(block.line + 1 + first, "\n".join(parts),
                            "\n".join(lines[out_start:i]), first, i))
    return cmds


def _shims(folder: Path) -> Path:
    """A bin folder where ``backprop`` and ``python`` are this interpreter's."""
    bin_dir = folder / ".docs-bin"
    bin_dir.mkdir(exist_ok=True)
    for name, cmd in (("backprop", f'"{sys.executable}" -m backprop'),
                      ("python", f'"{sys.executable}"')):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {cmd} "$@"\n')
        shim.chmod(0o755)
    return bin_dir


def _environment(bin_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    if env.get("PYTHONPATH"):  # the commands run elsewhere: 'src' must stay this src
        env["PYTHONPATH"] = os.pathsep.join(
            os.path.abspath(p) if p else p for p in env["PYTHONPATH"].split(os.pathsep))
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleave as on a terminal
    env["COLUMNS"] = "100"
    env.pop("PYTHONWARNINGS", None)
    return env


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def _run_python(code: str, filename: str, namespace: dict) -> str:
    buf = io.StringIO()

    def show(message, category, filename, lineno, file=None, line=None):  # as Python prints
        buf.write(warnings.formatwarning(message, category, filename, lineno, line))

    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf), \
            warnings.catch_warnings():
        warnings.simplefilter("default")
        warnings.showwarning = show
        try:
            exec(compile(code, filename, "exec"), namespace)
        except Exception:  # shown as Python shows it, compared with the page
            etype, value, tb = sys.exc_info()
            tb = tb.tb_next if tb is not None else tb  # drop this function's frame
            buf.write("".join(traceback.format_exception(etype, value, tb)))
    return buf.getvalue()


def run_page(page: Path, folder: Path | None = None,
             until: Callable[[Path], bool] | None = None) -> PageRun:
    """Run every block of ``page`` in ``folder`` (a new temporary one if None) and collect
    the mismatches; the folder keeps what the page made.  With ``until``, stop as soon as
    ``until(folder)`` is true after a block or command (the docs build stops once a page's
    figures exist)."""
    page = Path(page)
    text = page.read_text(encoding="utf-8")
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix=f"docs-{page.stem}-"))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    examples = folder / "examples"
    if not examples.exists():
        examples.symlink_to(REPO / "examples", target_is_directory=True)
    env = _environment(_shims(folder))
    result = PageRun(page, folder)
    try:
        steps, problems = plan(text, page)
    except ValueError as err:  # a fence never closed: nothing on the page can be trusted
        steps, problems = [], [(0, str(err))]
    for line, problem in problems:
        result.mismatches.append(Mismatch(page, line, problem, "", ""))
    namespace: dict = {"__name__": "__main__"}
    status = 0
    with _inside(folder):
        for step in steps:
            if until is not None and until(folder):
                break
            b = step.block
            result.blocks_run += 1
            if b.lang == "python":
                got = _run_python(b.code, f"{page}:{b.line}", namespace)
                want = step.output.code if step.output else ""
                if not matches(want, got):
                    result.mismatches.append(Mismatch(
                        page, b.line, "the python block prints something else", want, got, b))
                continue
            for n, cmd in enumerate(parse_console(b)):
                if until is not None and until(folder):
                    break
                proc = subprocess.run(
                    ["bash", "-c", f"(exit {status}); {cmd.command}"], cwd=folder, env=env,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                    timeout=COMMAND_TIMEOUT_S)
                status = proc.returncode
                if not matches(cmd.expected, proc.stdout):
                    result.mismatches.append(Mismatch(
                        page, cmd.line, f"$ {cmd.command.splitlines()[0]} prints something else",
                        cmd.expected, proc.stdout, b, n))
    return result


def update(page: Path, mismatches: list[Mismatch]) -> int:
    """Write the printed output into the page where it differs; returns how many blocks."""
    lines = page.read_text(encoding="utf-8").split("\n")
    edits: list[tuple[int, int, list[str]]] = []  # (start, stop, new lines), page indices
    for m in mismatches:
        b = m.block
        if b is None:
            continue
        new = _normal(m.actual)
        if m.command_index is None:
            steps, _ = plan("\n".join(lines), page)
            out = next((s.output for s in steps if s.block.line == b.line), None)
            if out is not None:
                edits.append((out.start, out.end, [b.indent + ln for ln in new]))
            elif new:
                edits.append((b.end + 1, b.end + 1,
                              ["", b.indent + "```text"] + [b.indent + ln for ln in new]
                              + [b.indent + "```"]))
        else:
            cmd = parse_console(b)[m.command_index]
            head = cmd.command.count("\n") + 1
            edits.append((b.start + cmd.first + head, b.start + cmd.stop,
                          [b.indent + ln for ln in new]))
    for start, stop, new in sorted(edits, reverse=True):
        lines[start:stop] = new
    page.write_text("\n".join(lines), encoding="utf-8")
    return len(edits)


def main(argv: list[str] | None = None) -> int:
    """Run pages given on the command line and print their mismatches."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--update", action="store_true",
                        help="write the printed output into the page where it differs")
    args = parser.parse_args(argv)
    bad = 0
    for page in args.pages:
        with tempfile.TemporaryDirectory(prefix=f"docs-{page.stem}-") as tmp:
            result = run_page(page.resolve(), Path(tmp))
        for m in result.mismatches:
            print(m, end="\n\n")
        bad += len(result.mismatches)
        if args.update and result.mismatches:
            print(f"{page}: updated {update(page, result.mismatches)} block(s)")
        print(f"{page}: {result.blocks_run} block(s) run, {len(result.mismatches)} mismatch(es)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
