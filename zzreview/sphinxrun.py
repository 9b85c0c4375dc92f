"""Running Sphinx (through jupyter-book, one builder at a time) for the build and the preview.

A cold `jupyter-book build` pays ~2 s of imports (Sphinx, myst-nb, the theme, the book's
extensions) before it reads a page, and a build runs two of them (LaTeX, then HTML). WarmSphinx
pays them once, in a process started while the chapters execute (or, when none runs, while the
data is checked), and runs each builder in a fork of it: the same command line, the same output,
streamed as it comes."""
from __future__ import annotations

import os
import re
import sys
from multiprocessing import get_context
from pathlib import Path

from . import paths
from .errors import without_colours

WARM_IMPORTS = ("sphinx.application", "sphinx.builders.html", "sphinx.search.zh", "myst_nb", "myst_parser",
                "myst_nb.sphinx_ext", "myst_nb.ext.download", "jupyter_cache.cache.main",  # imported by setup()
                "sphinx_book_theme", "pydata_sphinx_theme", "sphinx_togglebutton", "sphinx_copybutton",
                "sphinx_design", "sphinx_comments", "sphinx_external_toc", "sphinx_multitoc_numbering",
                "sphinx_jupyterbook_latex", "sphinxcontrib.bibtex", "sphinx_thebe", "tinycss2",
                "zzreview.sphinxext", "zzreview.figures", "zzreview.cite", "zzreview.screen", "zzreview.latex",
                # and what each run imported while it started, ~0.15 s a fork: the jupyter-book command,
                # Sphinx's own extensions and the theme's code styles (both added in _warm_up), the
                # MyST parts setup() loads, the cache's SQLite
                "sphinx.cmd.build", "jupyter_book.sphinx", "sphinx.ext.mathjax",
                "sphinx_design.extension", "sphinx_external_toc.events", "sphinx_external_toc.collectors",
                "myst_parser.sphinx_ext.directives", "myst_parser.sphinx_ext.mathjax", "myst_parser.sphinx_ext.myst_refs",
                "myst_nb.core.lexers", "myst_nb.ext.glue.directives", "myst_nb.ext.glue.domain", "myst_nb.ext.glue.roles",
                "myst_nb.ext.execution_tables", "sqlalchemy.dialects.sqlite", "sqlite3", "xml.dom.minidom", "jinja2.ext",
                "sphinx.builders.html.transforms", "sphinx.builders.latex.transforms", "pygments.lexers.bibtex",
                "encodings.utf_8_sig", "encodings.unicode_escape",
                "docutils.parsers.rst.directives.admonitions", "docutils.parsers.rst.directives.tables",
                "docutils.languages.zh_cn", "docutils.languages.en", "docutils.parsers.rst.languages.zh_cn",
                "zzreview.execute", "zzreview.structure", "zzreview.history", "zzreview.forms", "zzreview.quantity")
CODE_STYLES = "a11y_pygments."  # the theme looks up the code styles this package registers with pygments
# What only the HTML run uses (the downloads: not matplotlib; the search's dictionary, ~1 s
# together): loaded when the server is idle, or, if a LaTeX run is asked for first, while it works
HTML_IMPORTS = ("pandas", "pandas.io.formats.html", "pandas.io.formats.string", "zzreview.replication", "nbformat")

# jieba (Chinese search) still imports pkg_resources; its deprecation notice is not about the book
JIEBA_NOTICE = "ignore:pkg_resources is deprecated as an API:UserWarning"  # (PYTHONWARNINGS syntax)


def jupyter_book_args(builder: str, staging: Path) -> list[str]:
    """`jupyter-book` with one builder, into <staging>/_build/<builder> (-W: any warning is fatal)."""
    return ["build", str(paths.REPO), "--path-output", str(staging), "--builder", builder, "-W", "-n",
            "--keep-going"]


def sphinx_problems(lines) -> list[str]:
    """The warnings and errors among Sphinx's output lines."""
    return [without_colours(line) for line in lines if re.search(r"\b(WARNING|ERROR|CRITICAL):", line)]


def _keep_compiled_templates(folder: Path) -> None:
    """Each Sphinx run is a fresh fork, which would compile the theme's Jinja templates again
    (~0.15 s a run, HTML and LaTeX alike): give its template environments a bytecode cache in
    the build's folder, which outlives the fork and the build (Jinja checks each template's
    source against it, so an edited template is compiled afresh). Called in the fork."""
    from jinja2 import FileSystemBytecodeCache
    from sphinx.jinja2glue import BuiltinTemplateLoader
    from sphinx.util.template import BaseRenderer

    class Cache(FileSystemBytecodeCache):
        def dump_bytecode(self, bucket):  # a cache, not an output: a folder gone meanwhile is no error
            try:
                folder.mkdir(parents=True, exist_ok=True)
                super().dump_bytecode(bucket)
            except OSError:
                pass

    cache = Cache(str(folder))
    html_init, latex_init = BuiltinTemplateLoader.init, BaseRenderer.__init__

    def init(self, *args, **kwargs):  # the HTML theme's templates
        html_init(self, *args, **kwargs)
        self.environment.bytecode_cache = cache

    def renderer_init(self, *args, **kwargs):  # the LaTeX writer's
        latex_init(self, *args, **kwargs)
        self.env.bytecode_cache = cache

    BuiltinTemplateLoader.init, BaseRenderer.__init__ = init, renderer_init


def compiled_templates(staging: Path) -> Path:
    """Where the Sphinx runs of a build into `staging` keep their compiled templates."""
    return staging / "_build" / ".compiled-templates"


PROFILE = "ZZREVIEW_PROFILE"  # a path prefix: each Sphinx run's cProfile goes to <prefix>-<builder>


def _run_jupyter_book(cmd: list[str], profile_prefix: str | None) -> None:
    import jupyter_book.cli.main

    if not profile_prefix:
        jupyter_book.cli.main.main(cmd, standalone_mode=False)
        return
    import cProfile

    profile = cProfile.Profile()
    try:
        profile.runcall(jupyter_book.cli.main.main, cmd, standalone_mode=False)
    finally:
        profile.dump_stats(f"{profile_prefix}-{cmd[cmd.index('--builder') + 1]}")


def _warm_up(modules, search: bool = False) -> bool:
    """Import modules (and load the Chinese search's dictionary) for every later fork."""
    import gc
    import importlib
    import logging

    if "sphinx.application" in modules:  # the first warm-up: also Sphinx's own extensions and the code styles
        from importlib.metadata import entry_points

        from sphinx.application import builtin_extensions

        styles = [e.value.split(":")[0] for e in entry_points(group="pygments.styles") if e.value.startswith(CODE_STYLES)]
        modules = [*modules, *builtin_extensions, *styles]
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - absent, or broken: the fork imports it again and Sphinx reports it
            pass
    if search:
        try:
            import jieba

            jieba.setLogLevel(logging.INFO)  # its progress notes (debug) would go to the build's terminal
            jieba.initialize()
        except Exception:  # noqa: BLE001 - as above: the search, in the fork, reports it
            pass
    gc.freeze()  # the imports stay: no collection in a fork walks them (and copies their pages)
    return True


def _server(conn) -> None:
    """Import Sphinx and the book's extensions once; run each request in a fork of this process,
    sending the fork's pid, its output line by line, then its exit code."""
    import builtins
    import signal
    import warnings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the build's, which stops this server
    # set here: spawn passes the build's -W options, which outrank a PYTHONWARNINGS of this process
    action, message, category = JIEBA_NOTICE.split(":")
    warnings.filterwarnings(action, message, getattr(builtins, category))
    import jupyter_book.cli.main  # noqa: F401 (the imports a cold `jupyter-book build` pays, paid once here)

    _warm_up(WARM_IMPORTS)
    html_ready = False
    while True:
        if not html_ready and not conn.poll():  # nothing asked yet: now, not on the way of a run
            html_ready = _warm_up(HTML_IMPORTS, search=True)
        try:
            builder, staging, env = conn.recv()
        except EOFError:
            return
        if not html_ready and builder == "html":
            html_ready = _warm_up(HTML_IMPORTS, search=True)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: one builder, output into the pipe
            conn.close()  # the build sees the server's end as soon as the server is gone
            os.close(read)
            os.dup2(write, 1)
            os.dup2(write, 2)
            os.environ.clear()
            os.environ.update(env)
            os.chdir(paths.REPO)
            code = 1
            try:
                _keep_compiled_templates(compiled_templates(staging))
                _run_jupyter_book(jupyter_book_args(builder, staging), env.get(PROFILE))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:  # noqa: BLE001  (reported in the output, as a cold run would)
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        os.close(write)
        if not html_ready:  # while the fork runs (its output waits in the pipe meanwhile)
            html_ready = _warm_up(HTML_IMPORTS, search=True)
        try:
            conn.send(("pid", pid))
            with os.fdopen(read, encoding="utf-8", errors="replace") as pipe:
                for line in pipe:
                    conn.send(("line", line))
            _, status = os.waitpid(pid, 0)
            conn.send(("exit", os.waitstatus_to_exitcode(status)))
        except OSError:  # the build is gone: so is what it asked for
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return


class WarmSphinx:
    """The Sphinx runner of the build and the preview: call it with a builder; it answers with
    Sphinx's exit code and the problems it printed, having written its output to the log (and,
    unless quiet, to stdout)."""

    def __init__(self):
        ctx = get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_server, args=(child,), daemon=True)
        self.process.start()
        child.close()  # this end is the server's: with it closed here, a dead server reads as EOF
        self.builder_pid: int | None = None

    def __call__(self, builder: str, staging: Path, env: dict, log, quiet: bool) -> tuple[int, list[str]]:
        lines = []
        try:
            self.conn.send((builder, staging, env))
            while True:
                kind, payload = self.conn.recv()
                if kind == "pid":
                    self.builder_pid = payload
                elif kind == "exit":
                    self.builder_pid = None
                    return payload, sphinx_problems(lines)
                else:
                    log.write(payload)
                    lines.append(payload)
                    if not quiet:
                        sys.stdout.write(payload)
        except (EOFError, OSError):  # the server died (killed, or broken at start): as a Sphinx that crashed
            ended = "CRITICAL: the Sphinx process ended without finishing (see the output above)\n"
            log.write(ended)
            return 1, [*sphinx_problems(lines), ended.strip()]

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """The server and a builder it may be running (a build that stopped half-way)."""
        from .processes import kill_tree

        kill_tree(self.builder_pid)  # first: once the server is gone it is no longer its child
        kill_tree(self.process.pid)
        self.process.join(timeout=5)
