"""Open the built documentation site in a real browser and check it as a reader would.

    python scripts/check_site.py [SITE] [--screenshots DIR]

SITE is a built site (``mkdocs build --site-dir SITE``); without it the site is built, strictly,
into a temporary folder.  The site is served by ``python -m http.server`` and every page is
loaded in headless Chromium (Debian's ``chromium`` package), driven through its DevTools
protocol over ``--remote-debugging-pipe`` (no websocket library, no network).  For each page:

* no console error, uncaught exception or failed resource load is logged;
* every ``<img>`` has loaded (``complete`` and ``naturalWidth > 0``), figures included;
* every link to another page of the site (the navigation included) answers 200, and its
  ``#fragment``, if any, is an ``id`` on that page.

Then the search: ``search/search_index.json`` holds every page and the words of its title, the
search box is on the page, and typing a word into it (real key input) lists the pages that hold
it.  Prints a line per page and a summary; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import http.client
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse

REPO = Path(__file__).resolve().parent.parent
LOAD_TIMEOUT_S = 30.0
MAX_SCREENSHOT_HEIGHT = 8000  # pixels: a whole tutorial page, the start of the API reference


class Browser:
    """Headless Chromium driven by DevTools protocol messages over a pipe (fd 3 in, fd 4 out:
    JSON, each message ended by a NUL byte)."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def to_fds_3_and_4() -> None:
            # in the child, before exec: copies above 4 first, so that neither end is
            # overwritten by the other's dup2; dup2's copies are inherited, the rest is not
            high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check", "--remote-debugging-pipe", "--hide-scrollbars",
             "--window-size=1280,900", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=to_fds_3_and_4,
            close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = LOAD_TIMEOUT_S) -> dict[str, Any]:
        """Send one command and wait for its answer (events meanwhile are kept)."""
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        end = time.monotonic() + timeout
        while True:
            reply = self._read(end)
            if reply is None:
                raise TimeoutError(f"no answer to {method} in {timeout:.0f} s")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = LOAD_TIMEOUT_S) -> bool:
        """Wait for an event of ``method`` in ``session`` (those already received count)."""
        end = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method and ev.get("sessionId") == session:
                    del self.events[i]
                    return True
            ev = self._read(end)
            if ev is None:
                return False
            self.events.append(ev)

    def _read(self, end: float) -> dict[str, Any] | None:
        while b"\0" not in self._buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise RuntimeError("the browser closed its pipe")
                self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def close(self) -> None:
        """Ask the browser to quit, then make sure it did."""
        try:
            self.send("Browser.close", timeout=5)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids.update(v for k, v in attrs if k in ("id", "name") and v)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(base: str, url: str) -> tuple[int, bytes]:
    parts = urlparse(urljoin(base, url))
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path or "/")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _pages(site: Path) -> list[str]:
    pages = []
    for html in sorted(site.rglob("index.html")):
        rel = html.parent.relative_to(site).as_posix()
        if rel.split("/")[0] in ("assets", "search"):
            continue
        pages.append("" if rel == "." else rel + "/")
    return pages


_IMAGES_JS = ("JSON.stringify(Array.from(document.images).map("
              "i => [i.getAttribute('src'), i.complete, i.naturalWidth]))")
_LINKS_JS = ("JSON.stringify(Array.from(document.querySelectorAll('a[href]'))"
             ".map(a => a.href))")
_SEARCH_RESULTS_JS = ("JSON.stringify(Array.from(document.querySelectorAll("
                      "'.md-search-result__item a')).map(a => a.getAttribute('href')))")


def _errors(events: list[dict[str, Any]], session: str) -> list[str]:
    out = []
    for ev in events:
        if ev.get("sessionId") != session:
            continue
        p = ev.get("params", {})
        if ev["method"] == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            out.append("exception: " + d.get("exception", {}).get("description", d.get("text")))
        elif ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            out.append("console." + p["type"] + ": " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
        elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            out.append(f"log: {e.get('text')} {e.get('url', '')}".strip())
    return out


def _evaluate(browser: Browser, session: str, expression: str) -> Any:
    res = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                       session)
    return json.loads(res["result"]["value"])


def check(site: Path, screenshots: Path | None, binary: str) -> int:
    """Serve ``site``, load every page in the browser, and print what fails; the count."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1", "--directory", str(site)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failures: list[str] = []
    checked_links: dict[str, set[str] | None] = {}
    profile = Path(tempfile.mkdtemp(prefix="check-site-chromium-"))
    browser = None
    try:
        for _ in range(100):
            try:
                _get(base, "/")
                break
            except OSError:
                time.sleep(0.05)
        browser = Browser(binary, profile)
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget",
                               {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        pages = _pages(site)
        total_images = 0
        for page in pages:
            browser.events.clear()
            browser.send("Page.navigate", {"url": base + page}, session)
            if not browser.wait_for("Page.loadEventFired", session):
                failures.append(f"/{page}: did not finish loading")
                continue
            time.sleep(0.3)  # let scripts that run after load (search worker ...) report
            problems = _errors(browser.events, session)
            images = _evaluate(browser, session, _IMAGES_JS)
            total_images += len(images)
            problems += [f"image {src} did not load" for src, done, width in images
                         if not done or width <= 0]
            for href in _evaluate(browser, session, _LINKS_JS):
                url, frag = urldefrag(href)
                if not url.startswith(base) or "/assets/" in url or "/search/" in url:
                    continue
                if url not in checked_links:
                    status, body = _get(base, url)
                    ids = None
                    if status == 200:
                        parser = _Ids()
                        parser.feed(body.decode("utf-8", "replace"))
                        ids = parser.ids
                    checked_links[url] = ids
                ids = checked_links[url]
                if ids is None:
                    problems.append(f"link {href} does not resolve")
                elif frag and frag not in ids:
                    problems.append(f"link {href}: no #{frag} on that page")
            if screenshots is not None:
                size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
                clip = {"x": 0, "y": 0, "width": size["width"], "scale": 1,
                        "height": min(size["height"], MAX_SCREENSHOT_HEIGHT)}
                shot = browser.send("Page.captureScreenshot", {
                    "format": "png", "captureBeyondViewport": True, "clip": clip}, session)
                name = (page.strip("/").replace("/", "_") or "index") + ".png"
                (screenshots / name).write_bytes(base64.b64decode(shot["data"]))
            status = "ok" if not problems else f"{len(problems)} problem(s)"
            print(f"/{page}: {len(images)} image(s), {status}")
            failures += [f"/{page}: {p}" for p in problems]
        failures += _check_search(browser, session, base, site, pages)
        print(f"{len(pages)} pages, {total_images} images, {len(checked_links)} distinct "
              f"internal links checked")
    finally:
        if browser is not None:
            browser.close()
        server.terminate()
        server.wait()
        shutil.rmtree(profile, ignore_errors=True)
    for f in failures:
        print("FAIL", f)
    print("site check:", "passed" if not failures else f"{len(failures)} failure(s)")
    return len(failures)


def _check_search(browser: Browser, session: str, base: str, site: Path,
                  pages: list[str]) -> list[str]:
    failures = []
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    docs = index["docs"]
    by_location: dict[str, str] = {}
    for doc in docs:
        loc = doc["location"].split("#")[0]
        by_location[loc] = by_location.get(loc, "") + " " + doc["title"] + " " + doc["text"]
    for page in pages:
        if page not in by_location:
            failures.append(f"search index: no entry for /{page}")
            continue
        title = next(d["title"] for d in docs if d["location"] == page)
        words = [w for w in re.findall(r"[A-Za-z]{5,}", title)][:3]
        missing = [w for w in words if w.lower() not in by_location[page].lower()]
        if missing:
            failures.append(f"search index: /{page} lacks its title's words {missing}")
    print(f"search index: {len(docs)} entries for {len(by_location)} pages")
    for word, page in (("vanishing", "gradient-flow/"), ("onnxruntime", "export/")):
        browser.events.clear()  # a fresh home page for each search
        browser.send("Page.navigate", {"url": base}, session)
        browser.wait_for("Page.loadEventFired", session)
        found = _evaluate(browser, session, "JSON.stringify(!!document.querySelector("
                                            "'input.md-search__input'))")
        if not found:
            return failures + ["search: no search box on the home page"]
        browser.send("Runtime.evaluate", {"expression": "document.querySelector("
                                          "'input.md-search__input').focus()"}, session)
        browser.send("Input.insertText", {"text": word}, session)  # as typed keys
        hits: list[str] = []
        end = time.monotonic() + 10
        while time.monotonic() < end and not any(page in h for h in hits):
            time.sleep(0.2)
            hits = _evaluate(browser, session, _SEARCH_RESULTS_JS)
        print(f"search {word!r}: {len(hits)} result(s), "
              f"{'including' if any(page in h for h in hits) else 'WITHOUT'} /{page}")
        if not any(page in h for h in hits):
            failures.append(f"search: typing {word!r} did not list /{page} (got {hits[:5]})")
        failures += [f"search page: {e}" for e in _errors(browser.events, session)]
    return failures


def main(argv: list[str] | None = None) -> int:
    """Build (if needed) and check the site; exit status 1 on any failure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", type=Path, help="a built site (default: build one)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR",
                        help="save a screenshot of each whole page there (to 8000 pixels)")
    parser.add_argument("--browser", default=shutil.which("chromium") or "chromium",
                        help="the Chromium binary (default: chromium on PATH)")
    args = parser.parse_args(argv)
    if shutil.which(args.browser) is None and not Path(args.browser).is_file():
        print(f"error: no browser {args.browser!r}: apt-get install -y chromium",
              file=sys.stderr)
        return 2
    if args.screenshots is not None:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="check-site-") as tmp:
        site = args.site
        if site is None:
            site = Path(tmp) / "site"
            env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
            subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                            str(site)], cwd=REPO, env=env, check=True)
        return 1 if check(site.resolve(), args.screenshots, args.browser) else 0


if __name__ == "__main__":
    sys.exit(main())
