"""The execution cache is never stale: a chapter re-executes when its code changes or when
anything it read while it ran changes (each chapter's last cell recorded what it read, in its
jupyter-cache record), and only then."""
import json
import os
import shutil
import signal
import subprocess
import sys

import nbformat
import pytest
from jupyter_cache import get_cache
from nbclient import NotebookClient

from conftest import run_build
from zzreview.site import chapters
from zzreview import records

DRAWING = {"book/review/forge", "book/review/risk", "book/review/reform", "book/traffic/jingbaoyi",
           "book/traffic/mediation", "book/newyear/nanjing"}


def session_cache(built_site):
    return get_cache(str(built_site["out"] / ".staging" / "_build" / ".jupyter_cache"))


@pytest.fixture(scope="module")
def recorded(built_site):
    """docname → what its run recorded in the session build's cache (reads with digests, drawn)."""
    cache = session_cache(built_site)
    out = {}
    for ch in chapters.chapters():
        record = chapters.cached(cache, ch)
        assert record is not None, f"{ch.docname} is not in the session's execution cache"
        out[ch.docname] = chapters.recorded(cache.get_cache_bundle(record.pk).nb)
    return out


def stale(recorded) -> set[str]:
    inputs = chapters.Inputs()
    return {doc for doc, reads in recorded.items() if chapters.changed_reads(reads, inputs)}


def in_a_fresh_kernel(nb, cwd) -> None:
    """Run a notebook as myst-nb has jupyter-cache run a chapter: nbclient, a kernel of its own."""
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(cwd)}}).execute()


def _replace(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def executed(out) -> set[str]:
    """The chapters the last build into `out` executed (its record, executions.json)."""
    record = json.loads((out / "html" / "executions.json").read_text(encoding="utf-8"))
    return {c["notebook"] for c in record["chapters"] if c["status"] == "ran"}


def test_every_chapter_ran_and_every_figure_was_drawn_by_one(recorded):
    assert set(recorded) == {ch.docname for ch in chapters.chapters()}
    drawn = [f for record in recorded.values() for f in record["figures"]]
    assert sorted(drawn) == sorted(f["id"] for f in records.figure_registry())
    assert {doc for doc, record in recorded.items() if record["figures"]} == DRAWING


def test_the_same_data_in_another_folder_is_the_same_input(recorded, data_copy):
    assert stale(recorded) == set()


def test_prose_keeps_a_chapters_cache_record_but_code_does_not(built_site):
    """jupyter-cache matches a chapter by its code cells: prose is not in the key, code is."""
    cache = session_cache(built_site)
    ch = next(c for c in chapters.chapters() if c.docname == "book/review/risk")
    nb = ch.notebook
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    md[0].source = "完全改写的一段文字。"
    cache.match_cache_notebook(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[-1].source += "\n1 + 1"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nb)


def test_a_data_value_re_executes_only_the_chapters_that_read_it(recorded, data_copy):
    _replace(data_copy / "metrics.csv", ",劝返车辆,", ",劝返车辆甲,")
    # the risk chapter draws and tabulates it; the front page counts the rows of the file; the
    # register in the method appendix names the facts each entry concerns
    assert stale(recorded) == {"book/review/risk", "book/index", "book/appendix/method"}


def test_a_source_passage_re_executes_its_chapter_and_the_full_text(recorded, data_copy):
    _replace(data_copy / "source" / "layout.yaml", 'paragraphs: ["404-415.1"]', 'paragraphs: ["404-412", "413-415.1"]')
    # the register in the method appendix is grouped under the parts' titles: it reads the layout too
    assert stale(recorded) == {"book/newyear/nanjing", "book/appendix/source", "book/appendix/method", "book/index"}


def _code_changed(monkeypatch, module: str) -> None:
    real = chapters.Inputs._content
    monkeypatch.setattr(chapters.Inputs, "_content", staticmethod(
        lambda kind, name: real(kind, name) + ("x" if name == module else "")))


def test_the_chart_module_re_executes_every_chapter_that_draws(recorded, monkeypatch):
    _code_changed(monkeypatch, "zzreview/drawing/charts.py")
    assert stale(recorded) == DRAWING


def test_core_package_code_re_executes_everything(recorded, monkeypatch):
    _code_changed(monkeypatch, "zzreview/book.py")
    assert stale(recorded) == set(recorded)


def test_reads_no_regular_expression_could_see_are_recorded(data_copy, tmp_path, monkeypatch):
    """A chapter that imports the package under another name, asks for a metric and a figure by
    ids built at run time and opens a data file itself with pandas: all of it is in its record,
    and a change to any of it makes the chapter stale."""
    monkeypatch.setenv("ZZREVIEW_DATA_CHECKED", "1")
    monkeypatch.setenv("ZZREVIEW_GENERATED_DIR", str(tmp_path / "generated"))
    code = ("import pandas as pd\nimport zzreview.book as book\nfrom zzreview.dataset import data as d\nbook.setup()\n"
            "ids = ['risk-vehicles-' + part for part in ('turned-back',)]\n"
            "values = [d.metric(i)['value'] for i in ids]\n"
            "fig = book.figure('-'.join(['fig', 'med', 'funnel']))\n"
            f"table = pd.read_csv({str(data_copy / 'numeral_exclusions.csv')!r})\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code),
                                         nbformat.v4.new_code_cell("book.record_reads()")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    in_a_fresh_kernel(nb, tmp_path)
    record = chapters.recorded(nb)
    reads = set(record["reads"])
    assert {"metric:risk-vehicles-turned-back", "figure:fig-med-funnel", "file:data/numeral_exclusions.csv",
            "file:zzreview/drawing/charts.py"} <= reads, reads
    assert "file:data/metrics.csv" not in reads  # one metric read: one record, not the file
    assert record["figures"] == ["fig-med-funnel"]
    assert "fig-med-funnel.svg" in record["files"] and "fig-med-funnel.csv" in record["files"]
    assert chapters.changed_reads(record, chapters.Inputs()) == []

    _replace(data_copy / "metrics.csv", ",劝返车辆,", ",劝返车辆乙,")
    assert chapters.changed_reads(record, chapters.Inputs()) == ["metric:risk-vehicles-turned-back"]
    exclusions = data_copy / "numeral_exclusions.csv"
    exclusions.write_text(exclusions.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert "file:data/numeral_exclusions.csv" in chapters.changed_reads(record, chapters.Inputs())


@pytest.mark.build
def test_incremental_rebuilds_are_never_stale(built_site, tmp_path, data_copy):
    out, env = tmp_path / "out", {"ZZREVIEW_DATA_DIR": str(data_copy)}
    shutil.copytree(built_site["out"], out, symlinks=True)  # the session's build: book, cache, state
    page = out / "html" / "book" / "review" / "risk.html"
    assert "劝返车辆甲" not in page.read_text(encoding="utf-8")

    # one value in the data, read from another folder than the session's: the page shows it; the
    # chapters that do not read it do not run (the same data elsewhere is the same input)
    _replace(data_copy / "metrics.csv", ",劝返车辆,", ",劝返车辆甲,")
    second = run_build(out, env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert executed(out) == {"book/review/risk", "book/index", "book/appendix/method"}  # the register names the facts
    assert "劝返车辆甲" in page.read_text(encoding="utf-8")  # the table and the alt text follow

    # nothing changed: nothing runs (a drawing gone: test_differential)
    third = run_build(out, env)
    assert third.returncode == 0, third.stderr[-3000:]
    assert executed(out) == set()
    # a run that writes no page (Sphinx then copies no static file) leaves the theme's files as
    # a clean build leaves them (they were slimmed a second time, and every icon went blank)
    for rel in ("_static/scripts/fontawesome.js", "_static/styles/pydata-sphinx-theme.css",
                "_static/styles/sphinx-book-theme.css"):
        assert (out / "html" / rel).read_bytes() == (built_site["html"] / rel).read_bytes(), rel


POOL_RUN = r"""
import json, logging, multiprocessing.process, sys
import nbformat
from jupyter_cache import get_cache
from jupyter_cache.executors import load_executor
from zzreview.site import chapters

killed = []  # workers still running when the pool ended them with SIGTERM
_terminate = multiprocessing.process.BaseProcess.terminate
def terminate(process):
    if process.exitcode is None:
        killed.append(process.pid)
    _terminate(process)
multiprocessing.process.BaseProcess.terminate = terminate  # (the test's observation, not the book's)

folder, executor = sys.argv[1], sys.argv[2]
cache = get_cache(folder + "/cache")
pks = []
for i in range(3):
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "dies", "display_name": "dies", "language": "python"}})
    nb.cells.append(nbformat.v4.new_code_cell(f"print({i})"))
    nbformat.write(nb, f"{folder}/nb{i}.ipynb")
    pks.append(cache.add_nb_to_project(f"{folder}/nb{i}.ipynb").pk)
quiet = logging.getLogger("quiet")
quiet.setLevel(logging.CRITICAL)
run = chapters.ParallelExecutor(cache, quiet) if executor == "book" else load_executor(executor, cache, logger=quiet)
result = run.run_and_cache(filter_pks=pks, timeout=30)
print(json.dumps({"failed": len(result.errored) + len(result.excepted), "killed": len(killed)}))
"""


def test_the_parallel_run_ends_even_when_a_kernel_failed_to_start(tmp_path, executor="book"):
    """A kernel that dies at start leaves nbclient's SIGTERM handler in the pool worker that ran
    it (nbclient removes it only after a kernel started), so the worker ignores SIGTERM: a pool
    that ends its workers with SIGTERM, as jupyter-cache's local-parallel does, can wait for ever
    for one that was waiting for the task queue's lock (a pristine-machine build hung so, twice).
    The book's executor lets its workers leave by themselves: none is left to be killed. (With
    executor="local-parallel", jupyter-cache's own, it fails; docs/architecture.md, Problems met.)"""
    kernel = tmp_path / "jupyter" / "kernels" / "dies"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps(
        {"argv": ["/bin/false", "{connection_file}"], "display_name": "dies", "language": "python"}))
    env = {**os.environ, "JUPYTER_PATH": str(tmp_path / "jupyter")}
    proc = subprocess.Popen([sys.executable, "-c", POOL_RUN, str(tmp_path), executor], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the hung pool's workers with it
        out, err = proc.communicate()
        pytest.fail(f"the pool did not end within 120 s:\n{err[-3000:]}")
    assert proc.returncode == 0, err[-3000:]
    ran = json.loads(out.strip().splitlines()[-1])
    assert ran["failed"] == 3, ran
    assert ran["killed"] == 0, f"the pool ended {ran['killed']} running worker(s) with SIGTERM"
