"""Every code block of the documentation runs, and prints what the page shows.

The rules (and the wildcards) are in ``scripts/docblocks.py`` and docs/writing-docs.md.  Each
page runs in a temporary folder; its images that the docs folder does not hold must be written
by its own code, as the site's build draws them (scripts/mkdocs_hooks.py).
"""

import re
from pathlib import Path

import pytest

import docblocks
from backprop.nn.layers import LAYERS

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PAGES = [*sorted(DOCS.glob("**/*.md")), REPO / "README.md"]  # the README runs too


@pytest.fixture
def layer_registry():
    """A page may register a layer of its own (``@register``): take it out again, so that the
    layer contract test, which covers every registered layer, sees the library's alone."""
    before = dict(LAYERS)
    yield
    LAYERS.clear()
    LAYERS.update(before)


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_the_page_prints_what_it_shows(page, tmp_path, layer_registry):
    result = docblocks.run_page(page, tmp_path)
    if result.mismatches:
        pytest.fail("\n\n".join(map(str, result.mismatches)), pytrace=False)
    text = page.read_text(encoding="utf-8")
    for image in docblocks.page_images(text):
        if not (page.parent / image).is_file():
            assert (tmp_path / image).is_file(), f"{page.name} shows {image}, which its code " \
                                                 f"does not write"


def test_the_pages_run_code():
    ran = {p.name: len(docblocks.plan(p.read_text(encoding="utf-8"), p)[0]) for p in PAGES}
    for name in ("quickstart.md", "backprop-by-hand.md", "figure-backprop.md",
                 "gradient-flow.md", "gradient-checking.md", "own-data.md", "tables.md",
                 "export.md", "sklearn.md", "survives.md", "README.md"):
        assert ran[name] >= 1, name


def test_the_files_the_pages_name_exist():
    named = re.compile(r"`((?:benchmarks|tests|examples|scripts|src)/[\w./-]+)`")
    for page in PAGES:
        for name in named.findall(page.read_text(encoding="utf-8")):
            assert (REPO / name).exists(), f"{page.name} names {name}, which does not exist"


# The runner itself: it must be able to fail.

def test_wildcards_match_timings_dates_and_paths_only_where_written():
    assert docblocks.matches("epoch 1 (... s)\ndone", "epoch 1 (0.25 s)\ndone")
    assert docblocks.matches("a\n...\nz", "a\nb\nc\nz")
    assert docblocks.matches("a\n...\nz", "a\nz")
    assert docblocks.matches("x  \n\n", "x")
    assert not docblocks.matches("epoch 1 (... s)", "epoch 1 (0.25 s)\nepoch 2 (0.3 s)")
    assert not docblocks.matches("loss 0.5", "loss 0.6")
    assert not docblocks.matches("a\nz", "a\nb\nz")
    assert not docblocks.matches("", "something printed")
    # an indented ``...`` is one line, not any number of lines
    assert docblocks.matches("w\n  ...\nz", "w\n  return f(x)\nz")
    assert not docblocks.matches("w\n  ...\nz", "w\n  one\n  two\nz")


def test_fences_attributes_and_inline_code():
    text = ("x\n```python\nprint(1)\n```\n\n```text\n1\n```\n"
            "- ```` ```python ```` is inline code\n"
            "!!! note\n    ```console\n    $ echo hi\n    hi\n    ```\n"
            '```text title="Quoted from benchmarks/bench_train.py (not run by the docs tests)"\n'
            "0.5 s\n```\n")
    blocks = docblocks.parse_blocks(text)
    assert [b.lang for b in blocks] == ["python", "text", "console", "text"]
    assert blocks[2].code == "$ echo hi\nhi"
    assert blocks[3].title.startswith("Quoted")
    steps, problems = docblocks.plan(text, Path("page.md"))
    assert [(s.block.lang, s.output is not None) for s in steps] == [("python", True),
                                                                      ("console", False)]
    assert problems == []


def test_blocks_that_neither_run_nor_say_why_are_refused():
    text = ("```bash\npip install x\n```\n"
            '```text title="Quoted from benchmarks/nowhere.py (not run by the docs tests)"\n'
            "1\n```\n")
    _, problems = docblocks.plan(text, Path("page.md"))
    assert len(problems) == 2
    assert problems[0][0] == 1 and "not run" in problems[0][1]
    assert "benchmarks/nowhere.py" in problems[1][1]


def test_a_page_that_prints_something_else_fails(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nx = 6 * 7\nprint(x)\n```\n\n```text\n41\n```\n\n"
                    "```python\nprint('unexpected')\n```\n\n"
                    "```python\nwith open('made.txt', 'w') as f:\n"
                    "    f.write('from python')\n```\n\n"
                    "```console\n$ cat made.txt\nfrom python\n$ false\n$ echo $?\n1\n"
                    "$ backprop predict nothing.safetensors --data x.csv\n"
                    "error: nothing.safetensors: no such file\n```\n", encoding="utf-8")
    result = docblocks.run_page(page, tmp_path / "run")
    assert [m.line for m in result.mismatches] == [1, 10], result.mismatches
    assert "+42" in str(result.mismatches[0]) and "-41" in str(result.mismatches[0])
    assert result.blocks_run == 4  # the console block ran, with the file python made


def test_a_traceback_is_output_too(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```python\nimport backprop as bp\nbp.Dense(0, 1)\n```\n\n```text\n"
                    "Traceback (most recent call last):\n...\nValueError: ...\n```\n",
                    encoding="utf-8")
    result = docblocks.run_page(page, tmp_path / "run")
    assert result.mismatches == []


def test_update_writes_the_printed_output_into_the_page(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("Intro\n\n```python\nprint(2 + 2)\n```\n\n```text\n5\n```\n\n"
                    "```console\n$ echo one\nzero\n$ echo two\ntwo\n```\n", encoding="utf-8")
    result = docblocks.run_page(page, tmp_path / "run")
    assert len(result.mismatches) == 2
    assert docblocks.update(page, result.mismatches) == 2
    assert page.read_text(encoding="utf-8") == (
        "Intro\n\n```python\nprint(2 + 2)\n```\n\n```text\n4\n```\n\n"
        "```console\n$ echo one\none\n$ echo two\ntwo\n```\n")
    assert docblocks.run_page(page, tmp_path / "again").mismatches == []


def test_the_readme_starts_with_the_two_commands_ci_runs():
    first = docblocks.parse_blocks((REPO / "README.md").read_text(encoding="utf-8"))[0]
    assert first.code.splitlines() == ["pip install . && backprop train",
                                       "pip install '.[test]' && python -m pytest -q"]
