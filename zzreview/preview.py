"""`python -m zzreview preview`: the analyst's loop. Serves the book on 127.0.0.1, watches the
data, the chapters, the package and the configuration, rebuilds what changed and reloads the open
page; offline, nothing from a CDN.

Each rebuild is the build's own pipeline (plan → validate → execute → Sphinx → publish) for the
HTML edition only, into _build/preview (the published book in _build/html is never touched),
with the slow starts paid once: chapters run in one warm kernel, and Sphinx runs in a fork of a
process that has imported Sphinx, myst-nb and the theme already. A change to the package's own
code restarts the preview (its validation and Sphinx extension are that code). The version is
fixed for the session and says it is a preview, so no page is re-written only for the version.
A first preview starts from the chapters the main build executed (seed), running only what
changed since.

Bad input: the one-line error is printed and shown on the page in a banner; the last good book
stays served. `--pdf` keeps a PDF following in the background (a full build of its own in
_build/preview-pdf, stopped and restarted when a newer change arrives): never in the HTML's way.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import redirect_stderr, redirect_stdout
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import paths

WATCHED = ("_config.yml", "_toc.yml", "requirements.txt")
POLL_S = 0.1

RELOAD_JS = r"""(function () {
  var seen = null, seq = "";
  function banner(text) {
    var box = document.getElementById("zz-preview-error");
    if (!text) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement("div");
      box.id = "zz-preview-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:9999;padding:.6em 1em;" +
        "background:#8b0000;color:#fff;font:14px/1.5 sans-serif;white-space:pre-wrap;max-height:40vh;overflow:auto";
      document.body.appendChild(box);
    }
    box.textContent = "预览：最近一次修改未能构建，下面仍是上一次成功的版本。\n" + text;
  }
  function poll() {
    fetch("/__zz/status?since=" + seq, {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (seen !== null && s.id !== seen) { location.reload(); return; }
        seen = s.id;
        seq = s.seq;
        banner(s.error);
        poll();
      })
      .catch(function () { setTimeout(poll, 500); });  // the preview restarting: try again
  }
  poll();
})();
"""


# --- watching ------------------------------------------------------------------------------------

def snapshot() -> dict[str, int]:
    """Every watched file and its modification time."""
    files = [paths.REPO / name for name in WATCHED]
    files += [p for p in paths.data_dir().rglob("*") if p.is_file()]
    files += [p for p in (paths.REPO / "book").rglob("*") if p.is_file() and not p.name.startswith(".")]
    files += list((paths.REPO / "zzreview").glob("*.py"))
    out = {}
    for path in files:
        try:
            out[str(path)] = path.stat().st_mtime_ns
        except OSError:
            pass
    return out


def preview_version() -> str:
    from .cite import book_version

    os.environ.pop("ZZREVIEW_VERSION", None)  # a preview is never the version of a build
    return book_version().removesuffix("-dirty") + "-preview"


class Preview:
    def __init__(self, out: Path, pdf: bool):
        self.out, self.pdf = out, pdf
        self.status = {"id": "", "error": "", "building": True, "seq": 0}
        self.changed = threading.Condition()
        self.pdf_process: subprocess.Popen | None = None

    def set_status(self, **changes) -> None:
        with self.changed:
            self.status.update(changes, seq=self.status["seq"] + 1)
            self.changed.notify_all()

    def wait_status(self, since: str, timeout: float = 20) -> dict:
        """The status once it differs from the one the page has seen (a long poll)."""
        with self.changed:
            self.changed.wait_for(lambda: str(self.status["seq"]) != since, timeout)
            return dict(self.status)

    def rebuild(self, sphinx, kernel) -> None:
        from .__main__ import cmd_build

        self.set_status(building=True)
        args = argparse.Namespace(out=str(self.out), quiet=True, fresh=False, jobs=1, html_only=True)
        started = time.monotonic()
        err = io.StringIO()
        with redirect_stdout(io.StringIO()) as said, redirect_stderr(err):
            code = cmd_build(args, sphinx=sphinx, kernel=kernel)
        if code == 0:
            print(f"preview: built in {time.monotonic() - started:.1f} s — " + _last_line(said.getvalue()), flush=True)
            self.set_status(id=str(time.time_ns()), error="", building=False)
            if self.pdf:
                self.start_pdf()
        else:
            message = err.getvalue().strip()
            print(f"preview: build failed; still serving the last good book\n{message}", file=sys.stderr, flush=True)
            self.set_status(error=message, building=False)

    def start_pdf(self) -> None:
        from .__main__ import seed

        self.stop_pdf()
        seed(self.out.parent / "preview-pdf", paths.default_out(), screen_only=False)
        env = {k: v for k, v in os.environ.items() if k != paths.SCREEN_ONLY}  # a build's whole output
        self.pdf_process = subprocess.Popen(
            [sys.executable, "-m", "zzreview", "build", "--quiet", "--out", str(self.out.parent / "preview-pdf")],
            cwd=paths.REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=lambda: os.nice(10))

    def stop_pdf(self) -> None:
        if self.pdf_process and self.pdf_process.poll() is None:
            os.killpg(self.pdf_process.pid, signal.SIGKILL)  # its kernels and latexmk too
            self.pdf_process.wait()

    def pdf_file(self) -> Path:
        from .meta import pdf_name

        return self.out.parent / "preview-pdf" / "pdf" / f"{pdf_name()}.pdf"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- serving ---------------------------------------------------------------------------------------

def handler_for(preview: Preview):
    class Handler(SimpleHTTPRequestHandler):
        def translate_path(self, path):
            self.directory = str((preview.out / "html").resolve())
            return super().translate_path(path)

        def log_message(self, *args):  # the terminal is for builds
            pass

        def _send(self, body: bytes, ctype: str, status=HTTPStatus.OK):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            route, _, query = self.path.partition("?")
            if route == "/__zz/reload.js":
                return self._send(RELOAD_JS.encode(), "text/javascript; charset=utf-8")
            if route == "/__zz/status":
                since = query.partition("since=")[2].split("&")[0]
                from urllib.parse import unquote

                return self._send(json.dumps(preview.wait_status(unquote(since))).encode(), "application/json")
            if preview.pdf and route == f"/{preview.pdf_file().name}" and preview.pdf_file().exists():
                return self._send(preview.pdf_file().read_bytes(), "application/pdf")
            target = Path(self.translate_path(route))
            if target.is_dir():
                target = target / "index.html"
            if target.suffix == ".html" and target.is_file():
                page = target.read_text(encoding="utf-8")
                page = page.replace("</body>", '<script src="/__zz/reload.js"></script></body>', 1)
                return self._send(page.encode(), "text/html; charset=utf-8")
            return super().do_GET()

    return Handler


def main(args) -> int:
    from . import execute
    from .__main__ import kernel_environment, seed, staging_dir
    from .sphinxrun import WarmSphinx

    os.environ["ZZREVIEW_VERSION"] = preview_version()
    os.environ[paths.SCREEN_ONLY] = "1"  # its kernel and Sphinx make only what the pages show
    out = Path(args.out).resolve()
    kernel_environment(staging_dir(out))  # before the kernel starts: it inherits them
    preview = Preview(out, args.pdf)
    if seed(out, paths.default_out(), screen_only=True):
        print(f"preview: starting from the chapters {paths.default_out()} executed", flush=True)
    sphinx, kernel = WarmSphinx(), execute.Kernel(str(paths.REPO))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(preview))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"preview: http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops it); watching data/, book/, "
          "zzreview/ and the configuration", flush=True)
    seen = snapshot()
    # stopped by a signal (a closed terminal, kill): still stop the background PDF build and the kernel
    for stop in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, lambda *_: sys.exit(0))
    try:
        preview.rebuild(sphinx, kernel)
        while True:
            time.sleep(POLL_S)
            now = snapshot()
            if now == seen:
                continue
            time.sleep(POLL_S)  # an editor's save may touch more than one file
            now, changed = snapshot(), [p for p in set(now) | set(seen) if now.get(p) != seen.get(p)]
            seen = now
            if any(Path(p).parent == paths.REPO / "zzreview" for p in changed):
                print("preview: the package's code changed; restarting", flush=True)
                preview.stop_pdf()
                server.server_close()
                sphinx.stop()
                kernel.shutdown()
                os.execv(sys.executable, [sys.executable, "-m", "zzreview", *sys.argv[1:]])
            preview.stop_pdf()
            if not sphinx.alive():  # killed from outside: a new one, not a failure on every save
                sphinx.stop()
                sphinx = WarmSphinx()
            preview.rebuild(sphinx, kernel)
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        preview.stop_pdf()
        sphinx.stop()
        kernel.shutdown()
