"""Lighthouse (npm, pinned in tools/package.json) on the built site, as a phone meets it: Debian
chromium, Lighthouse's mobile defaults (a mid-range phone on a slow 4G network, simulated), the
pages served by npm's `serve`, which compresses text as a static host does. Shared by the tests
(accessibility, best practices, SEO on a few pages) and the benchmark (every page, with
performance, a timing)."""
from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

from browsing import CHROMIUM, CHROMIUM_ARGS

TOOLS = Path(__file__).resolve().parents[1] / "tools"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
CHROME_FLAGS = " ".join(["--headless=new", *CHROMIUM_ARGS])


def pages(root: Path) -> list[str]:
    """Every page a reader can open (the root's index.html only forwards to book/index.html)."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.html")
                  if p.relative_to(root).parts[0] not in ("_static", "_sources", "notebooks")
                  and str(p.relative_to(root)) != "index.html")


@contextlib.contextmanager
def served_compressed(root: Path):
    """The site on a free loopback port, gzip-compressed as a static host serves it: yields its base
    URL. serve picks the port (port 0) and says which; it is not asked about updates."""
    proc = subprocess.Popen([str(TOOLS / "node_modules" / ".bin" / "serve"), "--no-clipboard", "--no-request-logging",
                             "--config", str(TOOLS / "serve.json"), "--listen", "tcp://127.0.0.1:0", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "NO_UPDATE_CHECK": "1", "NO_COLOR": "1"})
    try:
        said = []
        for line in proc.stdout:  # "INFO  Accepting connections at http://127.0.0.1:PORT"
            said.append(line)
            found = re.search(r"Accepting connections at (http://127\.0\.0\.1:\d+)", line)
            if found:
                break
        else:
            raise RuntimeError(f"serve did not start: {''.join(said)[-1000:]}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # whatever it says later
        yield found.group(1)
    finally:
        proc.terminate()
        proc.wait()


def audit(url: str, categories: tuple[str, ...] = CATEGORIES) -> dict:
    """One Lighthouse run: each category's score (0–100), the page's layout shift and paints, and
    the audits that cost a category points (id: what Lighthouse printed)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        proc = subprocess.run(
            [str(TOOLS / "node_modules" / ".bin" / "lighthouse"), url, "--quiet", "--output=json",
             f"--output-path={report}", f"--only-categories={','.join(categories)}",
             f"--chrome-flags={CHROME_FLAGS}"],
            capture_output=True, text=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
        if proc.returncode != 0 or not report.exists():
            raise RuntimeError(f"lighthouse {url}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
        found = json.loads(report.read_text(encoding="utf-8"))
    if found.get("runtimeError"):
        raise RuntimeError(f"lighthouse {url}: {found['runtimeError']}")
    audits = found["audits"]
    lost = {}
    for category in found["categories"].values():
        for ref in category["auditRefs"]:
            a = audits[ref["id"]]
            if ref["weight"] == 0:  # a diagnostic: costs no points
                continue
            if a.get("errorMessage"):  # Lighthouse could not measure it: the category has no score
                lost[ref["id"]] = f"{a['title']}: {a['errorMessage']}"
            elif a["score"] is not None and a["score"] < 1:
                lost[ref["id"]] = f"{a['title']} {a.get('displayValue', '')}".strip()
    metrics = {k: audits[k].get("numericValue") for k in
               ("cumulative-layout-shift", "first-contentful-paint", "largest-contentful-paint", "total-blocking-time")
               if k in audits}
    return {"scores": {k: None if v["score"] is None else round(100 * v["score"]) for k, v in found["categories"].items()},
            "metrics": metrics, "lost": lost}
