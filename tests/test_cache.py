"""The execution cache is never stale: a chapter re-executes when its code, the data it reads or
the package code it runs change, and only then."""
import re
import shutil

import pytest

from conftest import run_build
from zzreview import execute

DRAWING = {"book/review/forge", "book/review/risk", "book/review/reform", "book/traffic/jingbaoyi",
           "book/traffic/mediation", "book/newyear/nanjing"}


@pytest.fixture(scope="module")
def baseline():
    return execute.fingerprints()


def changed(before, after):
    return {doc for doc in before if before[doc] != after[doc]}


def test_prose_does_not_change_a_fingerprint_but_code_does(baseline):
    ch = next(c for c in execute.chapters() if c.docname == "book/review/risk")
    inputs = execute._Inputs()
    nb = ch.notebook
    nb.cells[-1].source += "\n\n再加一句注释。"
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    md[0].source = "完全改写的一段文字。"
    assert execute.fingerprint(nb, inputs) == baseline["book/review/risk"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[-1].source += "\n1 + 1"
    assert execute.fingerprint(nb, inputs) != baseline["book/review/risk"]


def test_a_data_value_re_executes_only_the_chapters_that_read_it(baseline, data_copy):
    path = data_copy / "metrics.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",劝返车辆,", ",劝返车辆甲,", 1), encoding="utf-8")
    # the risk chapter draws and tabulates it; the front page counts the rows of the file
    assert changed(baseline, execute.fingerprints()) == {"book/review/risk", "book/index"}


def test_a_source_passage_re_executes_its_chapter_and_the_full_text(baseline, data_copy):
    path = data_copy / "source" / "layout.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('paragraphs: ["404-415.1"]',
                                                             'paragraphs: ["404-412", "413-415.1"]'),
                    encoding="utf-8")
    # the register in the method appendix is grouped under the parts' titles: it reads the layout too
    assert changed(baseline, execute.fingerprints()) == {"book/newyear/nanjing", "book/appendix/source",
                                                         "book/appendix/method", "book/index"}


def test_the_chart_module_re_executes_every_chapter_that_draws(baseline, monkeypatch):
    real = execute._module
    monkeypatch.setattr(execute, "_module", lambda name: real(name) + ("x" if name == "charts.py" else ""))
    assert changed(baseline, execute.fingerprints()) == DRAWING


def test_core_package_code_re_executes_everything(baseline, monkeypatch):
    real = execute._module
    monkeypatch.setattr(execute, "_module", lambda name: real(name) + ("x" if name == "book.py" else ""))
    assert changed(baseline, execute.fingerprints()) == set(baseline)


@pytest.mark.build
def test_incremental_rebuilds_are_never_stale(built_site, tmp_path, data_copy):
    out, env = tmp_path / "out", {"ZZREVIEW_DATA_DIR": str(data_copy)}
    shutil.copytree(built_site["out"], out, symlinks=True)  # the session's build: book, cache, state
    first = run_build(out, env)  # the same data in another folder: nothing to execute
    assert first.returncode == 0, first.stderr[-3000:]
    assert re.findall(r"executed book/", first.stdout) == []
    page = out / "html" / "book" / "review" / "risk.html"
    assert "劝返车辆甲" not in page.read_text(encoding="utf-8")

    # one value in the data: the page shows it; chapters that do not read it do not run
    path = data_copy / "metrics.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",劝返车辆,", ",劝返车辆甲,", 1), encoding="utf-8")
    second = run_build(out, env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert set(re.findall(r"executed (book/\S+) in", second.stdout)) == {"book/review/risk", "book/index"}
    assert "劝返车辆甲" in page.read_text(encoding="utf-8")  # the table and the alt text follow

    # nothing changed: nothing runs, not even Sphinx
    third = run_build(out, env)
    assert third.returncode == 0 and "nothing changed" in third.stdout

    # figure files gone (a cleaned folder): the chapters that draw run again
    shutil.rmtree(out / ".staging" / "_generated")
    fourth = run_build(out, env)
    assert fourth.returncode == 0, fourth.stderr[-3000:]
    assert set(re.findall(r"executed (book/\S+) in", fourth.stdout)) == DRAWING
