"""Check the built documentation's layout in headless Chromium.

Usage::

    python docs/check_layout.py [docs/_build/html] [--screenshots DIR]

Opens every page of the built site at 1280 and 800 px wide and fails
(exit status 1) when anything is wider than the box that holds it:

- the page itself scrolls sideways, or
- any element's content is wider than the element (``scrollWidth >
  clientWidth``): cut off when the element clips it, or spilling over its
  neighbours when it does not.

Two kinds of element may be wider than their box, because they are meant
to scroll sideways: a code block (``pre``) and the scroll container around
a table. Both must scroll (``overflow-x: auto``), not clip; a table's
container must show a scrollbar and fade its right edge (custom.css and
table-scroll.js), or the table looks cut off. Also checked:

- no code block wraps its lines (``white-space: pre``): wrapped Python
  reads as different code;
- the header holds its links on one row, with no "More" menu;
- from 960 px on, the left sidebar lists the site's pages;
- the text column is no narrower at 1280 px than at 800 px.

The whole site (about 45 pages) takes about 25 s on two cores.

It needs Chromium (Debian's ``chromium`` package) and nothing else: it
speaks the DevTools protocol over a pipe (``--remote-debugging-pipe``),
with the standard library only. ``--screenshots DIR`` also saves a
screenshot of the top of each page at each width; ``--pages`` limits the
run to some pages (paths relative to the site, e.g. ``index.html``).
"""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTHS = (1280, 800)
HEIGHT = 900
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_modules"}

# Runs in the page; returns the problems found, as strings.
MEASURE = r"""
(async () => {
  await document.fonts.ready;
  const problems = [];
  const name = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += "#" + el.id;
    const cls = [...el.classList].slice(0, 3);
    if (cls.length) s += "." + cls.join(".");
    return s;
  };
  const path = (el) => {
    const parts = [];
    let e = el;
    for (; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      parts.unshift(name(e));
    }
    return parts.join(" > ");
  };
  const text = (el) => (el.innerText || "").replace(/\s+/g, " ").trim().slice(0, 60);
  const root = document.scrollingElement;
  if (root.scrollWidth > root.clientWidth + 1) {
    problems.push(
      `the page scrolls sideways: ${root.scrollWidth} px in ${root.clientWidth}`);
  }
  // a code block or a table's scroll container may scroll; nothing else may
  const scrolls = (el) =>
    el.tagName === "PRE" ||
    el.classList.contains("pst-scrollable-table-container") ||
    el.classList.contains("table-wrapper");
  const scrolling = [];
  for (const el of document.body.querySelectorAll("*")) {
    if (el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
    const style = getComputedStyle(el);
    if (style.display === "none" || style.visibility === "hidden") continue;
    // hidden off-canvas (the primary sidebar below 960 px is a closed dialog)
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    if (scrolls(el)) {
      if (style.overflowX === "auto" || style.overflowX === "scroll") {
        scrolling.push(`${path(el)}: ${el.scrollWidth} px in ${el.clientWidth}, ` +
          `scrollbar ${el.offsetHeight - el.clientHeight} px: "${text(el)}"`);
        continue;
      }
      problems.push(
        `${path(el)} is ${el.scrollWidth} px wide in ${el.clientWidth} ` +
        `and clips it (overflow-x: ${style.overflowX}): "${text(el)}"`);
      continue;
    }
    problems.push(
      `${path(el)}: content ${el.scrollWidth} px wide in ${el.clientWidth} ` +
      `(overflow-x: ${style.overflowX}): "${text(el)}"`);
  }
  // code is never wrapped: a wrapped Python line reads as different code
  for (const el of document.querySelectorAll(".bd-article pre")) {
    const ws = getComputedStyle(el).whiteSpace;
    if (ws !== "pre" && el.offsetParent !== null) {
      problems.push(`${path(el)} wraps its lines (white-space: ${ws}): "${text(el)}"`);
      break;
    }
  }
  // a scroll container whose scrollbar takes no room hides that it scrolls
  // (checked where scrollbars are classic, as in headless Chromium on Linux)
  const classic = (() => {
    const probe = document.createElement("div");
    probe.style.cssText =
      "position:absolute;top:-999px;width:50px;height:50px;overflow:scroll";
    document.body.appendChild(probe);
    const gutter = probe.offsetHeight - probe.clientHeight;
    probe.remove();
    return gutter > 0;
  })();
  for (const el of document.querySelectorAll(".pst-scrollable-table-container")) {
    if (el.scrollWidth <= el.clientWidth + 1) continue;
    if (classic && el.offsetHeight - el.clientHeight <= 0) {
      problems.push(`${path(el)} scrolls with no scrollbar: "${text(el)}"`);
    }
    // its right edge fades (table-scroll.js), or it looks cut off there
    if (!el.classList.contains("skae-more-right")) {
      problems.push(
        `${path(el)} scrolls with no sign of it on the right: "${text(el)}"`);
    }
  }
  // the left sidebar holds the site's pages (it was empty on prose pages)
  const sidebar = document.querySelector(".bd-sidebar-primary");
  const links = sidebar ? sidebar.querySelectorAll("nav.bd-links a").length : 0;
  const shown = sidebar && sidebar.offsetWidth > 0;
  if (window.innerWidth >= 960 && (!shown || links === 0)) {
    problems.push(`the left sidebar lists no pages (${links} links)`);
  }
  const article = document.querySelector(".bd-article");
  const articleWidth = article ? article.clientWidth : 0;
  // the header: one row, every link shown
  const items = document.querySelector(".bd-header .navbar-header-items");
  if (items && items.offsetParent !== null) {
    const more = items.querySelector(".nav-item.dropdown");
    if (more && more.offsetParent !== null) {
      problems.push(`the header hides links under "${text(more)}"`);
    }
    const header = document.querySelector(".bd-header");
    const logo = header.querySelector(".navbar-brand");
    if (logo && header.offsetHeight > 1.5 * Math.max(logo.offsetHeight, 40) + 24) {
      problems.push(`the header wraps: ${header.offsetHeight} px high`);
    }
  }
  return { problems, scrolling, articleWidth };
})()
"""


class Chromium:
    """A headless Chromium driven over the DevTools protocol's pipe."""

    def __init__(self, executable):
        self.profile = tempfile.mkdtemp(prefix="check_layout_")
        # the browser reads commands from its fd 3 and writes replies to fd 4
        to_browser_r, self.to_browser = os.pipe()
        self.from_browser, from_browser_w = os.pipe()
        args = [
            executable,
            "--headless",
            "--remote-debugging-pipe",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--allow-file-access-from-files",
            f"--user-data-dir={self.profile}",
            "about:blank",
        ]
        script = f'exec 3<&{to_browser_r} 4>&{from_browser_w}; exec "$@"'
        self.proc = subprocess.Popen(
            ["bash", "-c", script, "bash", *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call(
            "Target.attachToTarget", targetId=target, flatten=True
        )["sessionId"]
        self.call("Page.enable", session=True)

    def _read(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_browser, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=False, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    del self.events[i]
                    return event
            self.events.append(self._read())
        raise TimeoutError(method)

    def open(self, url, width):
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.events.clear()
        self.call("Page.navigate", session=True, url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate",
            session=True,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(json.dumps(result["exceptionDetails"])[:500])
        return result["result"].get("value")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", session=True, format="png")
        Path(path).write_bytes(base64.b64decode(data["data"]))

    def close(self):
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


def pages(site):
    for path in sorted(site.rglob("*.html")):
        if not SKIP_DIRS.intersection(path.relative_to(site).parts):
            yield path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", nargs="?", default="docs/_build/html", type=Path)
    parser.add_argument(
        "--screenshots", type=Path, help="save one PNG per page and width here"
    )
    parser.add_argument("--verbose", action="store_true", help="list what scrolls too")
    parser.add_argument(
        "--pages", nargs="*", help="only these pages, relative to the site"
    )
    args = parser.parse_args()
    site = args.site.resolve()
    if not (site / "index.html").is_file():
        sys.exit(f"check_layout: no built site at {site} (build the docs first)")
    names = ("chromium", "chromium-browser", "google-chrome")
    executable = next(filter(None, map(shutil.which, names)), None)
    if executable is None:
        sys.exit("check_layout: Chromium not found (apt-get install chromium)")
    todo = [site / p for p in args.pages] if args.pages else list(pages(site))
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)

    start = time.monotonic()
    browser = Chromium(executable)
    failures = 0
    scrolling = 0
    try:
        for path in todo:
            rel = path.relative_to(site).as_posix()
            widths = {}
            for width in WIDTHS:
                browser.open(path.as_uri(), width)
                found = browser.evaluate(MEASURE)
                scrolling += len(found["scrolling"])
                if args.verbose:
                    for line in found["scrolling"]:
                        print(f"{rel} at {width} px, scrolls: {line}")
                widths[width] = found["articleWidth"]
                for problem in found["problems"]:
                    failures += 1
                    print(f"{rel} at {width} px: {problem}")
                if args.screenshots:
                    name = rel.replace("/", "_").removesuffix(".html")
                    browser.screenshot(args.screenshots / f"{name}-{width}.png")
            # the text column is never narrower on a wider window
            if widths[WIDTHS[0]] < widths[WIDTHS[1]]:
                failures += 1
                print(
                    f"{rel}: the text is {widths[WIDTHS[0]]} px wide at "
                    f"{WIDTHS[0]} px, narrower than at {WIDTHS[1]} px "
                    f"({widths[WIDTHS[1]]} px)"
                )
    finally:
        browser.close()
    print(
        f"check_layout: {len(todo)} pages at {' and '.join(map(str, WIDTHS))} px "
        f"in {time.monotonic() - start:.0f} s: {failures} problems "
        f"({scrolling} code blocks and tables scroll sideways, as they may)"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
