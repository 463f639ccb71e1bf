"""mkdocs hooks: the tutorial figures are drawn by the pages' own code during the build.

A page that shows an image the docs folder does not hold (``![...](note-figure.svg)``) makes
it: its code blocks run (as the docs tests run them, ``scripts/docblocks.py``) in a temporary
folder, up to the one that writes the last of its images, and each image is added to the site
beside the page.  A figure on the site is therefore what the code shown above it draws today.
A page whose code fails, prints something other than the page shows (up to that block), or does
not write the image stops a strict build.

Optional pages (``extra.optional_pages`` in mkdocs.yml: pages other engineers write) are left
out of the nav, with a note in the log, while their file does not exist.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

sys.path.insert(0, str(Path(__file__).resolve().parent))
import docblocks  # noqa: E402  (a sibling script, not a package)

log = logging.getLogger("mkdocs.hooks.figures")

_tmp: tempfile.TemporaryDirectory[str] | None = None


def on_config(config: Any) -> Any:
    """Drop optional pages whose file is missing from the nav."""
    optional = set(config.extra.get("optional_pages", []))
    docs = Path(config.docs_dir)
    missing = {p for p in optional if not (docs / p).exists()}
    if missing and config.nav:
        config.nav = _without(config.nav, missing)
        for p in sorted(missing):
            log.info("optional page %s does not exist yet: left out of the nav", p)
    return config


def _without(nav: list, missing: set[str]) -> list:
    out = []
    for entry in nav:
        if isinstance(entry, dict):
            (title, value), = entry.items()
            if isinstance(value, list):
                out.append({title: _without(value, missing)})
            elif value not in missing:
                out.append(entry)
        elif entry not in missing:
            out.append(entry)
    return out


def on_files(files: Files, config: Any) -> Files:
    """Run the pages that show images they make, and add those images to the site."""
    global _tmp
    _tmp = tempfile.TemporaryDirectory(prefix="backprop-docs-")
    for page in list(files.documentation_pages()):
        text = Path(page.abs_src_path).read_text(encoding="utf-8")
        parent = Path(page.src_uri).parent
        wanted = [(img, (parent / img).as_posix()) for img in docblocks.page_images(text)]
        wanted = [(img, uri) for img, uri in wanted if files.get_file_from_path(uri) is None]
        if not wanted:
            continue
        start = time.perf_counter()
        folder = Path(_tmp.name) / page.src_uri.replace("/", "_")
        result = docblocks.run_page(  # up to the block that writes the last image
            Path(page.abs_src_path), folder,
            until=lambda f, names=[i for i, _ in wanted]: all((f / n).is_file() for n in names))
        for m in result.mismatches:
            log.warning("%s", m)
        for img, uri in wanted:
            made = folder / img
            if not made.is_file():
                log.warning("%s shows %s, which its code blocks did not write", page.src_uri,
                            img)
                continue
            files.append(File.generated(config, uri, content=made.read_bytes()))
        log.info("drew %s for %s (%d blocks, %.1f s)", ", ".join(i for i, _ in wanted),
                 page.src_uri, result.blocks_run, time.perf_counter() - start)
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """The API reference documents every name ``import backprop as bp`` offers: a public name
    the page does not place yet (one a merge just added) is appended under "Other public
    names", with a note in the log to give it its place."""
    if page.file.src_uri != "api.md":
        return markdown
    import backprop  # the package whose pages these are; only this page needs it

    listed = set(re.findall(r"^::: (\S+)", markdown, flags=re.M))
    missing = [n for n in backprop.__all__ if f"backprop.{n}" not in listed]
    if not missing:
        return markdown
    log.info("api.md does not place %s yet: listed under 'Other public names'",
             ", ".join(missing))
    return (markdown.rstrip() + "\n\n## Other public names\n\n"
            + "".join(f"::: backprop.{n}\n\n" for n in missing))


_ROLE = re.compile(r":(?:py:)?(class|meth|func|attr|mod|data|exc|obj):<code>(~?)([^<]+)</code>")


def _role(m: re.Match[str]) -> str:
    role, short, target = m.groups()
    shown = target.rsplit(".", 1)[-1] if short else target
    if role in ("meth", "func") and not shown.endswith(")"):
        shown += "()"
    return f"<code>{shown}</code>"


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    """Docstrings cite names with Sphinx roles (``:meth:`fit```), which mkdocstrings leaves as
    text: show the name alone, as Sphinx would (``~`` keeps the last part, methods get ())."""
    return _ROLE.sub(_role, html)


def on_post_build(config: Any) -> None:
    """Remove the pages' temporary folders."""
    global _tmp
    if _tmp is not None:
        _tmp.cleanup()
        _tmp = None
