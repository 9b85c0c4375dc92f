"""The preview, as an analyst uses it: a page open in a browser follows an edit of the data by
itself; a bad edit shows its one-line error on the page while the last good book stays; fixing
it brings the book back."""
import os
import re
import signal
import socket
import subprocess
import sys

import pytest
from playwright.sync_api import sync_playwright

from browsing import CHROMIUM, CHROMIUM_ARGS
from conftest import REPO

pytestmark = pytest.mark.build


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(proc, pattern: str, seen: list[str]) -> str:
    for line in proc.stdout:
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"the preview ended before {pattern!r}:\n{''.join(seen)[-3000:]}")


def test_the_preview_follows_edits_and_survives_bad_input(built_site, data_copy, tmp_path):
    import shutil

    out = tmp_path / "preview"
    shutil.copytree(built_site["out"], out, symlinks=True)  # its cache and records: nothing to execute
    port = _free_port()
    env = {**os.environ, "ZZREVIEW_DATA_DIR": str(data_copy), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "zzreview", "preview", "--port", str(port), "--out", str(out)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen: list[str] = []
    metrics = data_copy / "metrics.csv"
    good = metrics.read_text(encoding="utf-8")
    try:
        _wait_for(proc, r"^preview: built", seen)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(f"http://127.0.0.1:{port}/book/review/risk.html")
            assert "劝返车辆" in page.inner_text("main")
            assert "预览：基于提交" in page.inner_text("body")  # the version says it is a preview

            edited = good.replace(",劝返车辆,", ",劝返车辆（预览中）,", 1)
            metrics.write_text(edited, encoding="utf-8")
            page.wait_for_function("document.querySelector('main').innerText.includes('劝返车辆（预览中）')",
                                   timeout=120_000)  # the page reloaded itself

            metrics.write_text(edited + "bad,row\n", encoding="utf-8")
            banner = page.wait_for_selector("#zz-preview-error", timeout=120_000)
            message = banner.inner_text()
            assert re.search(r"data/metrics\.csv，第 \d+ 行，\w+ 列：", message), message
            assert "劝返车辆（预览中）" in page.inner_text("main")  # the last good book, still served
            page.reload()  # the banner comes from the page's script asking the preview's status
            assert page.wait_for_selector("#zz-preview-error", timeout=10_000), \
                "the error is shown on any page opened after it"

            metrics.write_text(good, encoding="utf-8")
            page.wait_for_function("!document.querySelector('main').innerText.includes('劝返车辆（预览中）')",
                                   timeout=120_000)
            assert page.query_selector("#zz-preview-error") is None
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    assert (built_site["out"] / "html" / "index.html").exists()
