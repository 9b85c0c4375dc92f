"""The execution cache is never stale: a chapter re-executes when its code changes or when
anything it read while it ran changes (the session build recorded what each chapter read), and
only then."""
import json
import re
import shutil

import nbformat
import pytest

from conftest import run_build
from zzreview import execute, records

DRAWING = {"book/review/forge", "book/review/risk", "book/review/reform", "book/traffic/jingbaoyi",
           "book/traffic/mediation", "book/newyear/nanjing"}


@pytest.fixture(scope="module")
def recorded(built_site):
    """docname → the record of its run in the session's build."""
    return json.loads((built_site["out"] / ".staging" / "zz-state.json").read_text(encoding="utf-8"))["chapters"]


def stale(recorded) -> set[str]:
    inputs = execute.Inputs()
    return {doc for doc, record in recorded.items() if execute.changed_reads(record, inputs)}


def in_a_fresh_kernel(jobs: list[tuple[str, str, str]], timeout: int = 120) -> list:
    """Notebooks (docname, json, cwd) run one after another in a kernel of their own, as each of
    the build's kernels runs its share (Kernel.run for each, reset between them)."""
    kernel = execute.Kernel(jobs[0][2])
    try:
        return kernel.run_all(jobs, [], timeout)
    finally:
        kernel.shutdown()


def _replace(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_every_chapter_ran_and_every_figure_was_drawn_by_one(recorded):
    assert set(recorded) == {ch.docname for ch in execute.chapters()}
    drawn = [f for record in recorded.values() for f in record["drawn"]]
    assert sorted(drawn) == sorted(f["id"] for f in records.figure_registry())
    assert {doc for doc, record in recorded.items() if record["drawn"]} == DRAWING


def test_the_same_data_in_another_folder_is_the_same_input(recorded, data_copy):
    assert stale(recorded) == set()


def test_prose_does_not_change_what_a_run_depends_on_but_code_does(recorded):
    ch = next(c for c in execute.chapters() if c.docname == "book/review/risk")
    nb = ch.notebook
    assert execute.code_digest(nb) == recorded["book/review/risk"]["code"]
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    md[0].source = "完全改写的一段文字。"
    assert execute.code_digest(nb) == recorded["book/review/risk"]["code"]
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[-1].source += "\n1 + 1"
    assert execute.code_digest(nb) != recorded["book/review/risk"]["code"]


def test_a_data_value_re_executes_only_the_chapters_that_read_it(recorded, data_copy):
    _replace(data_copy / "metrics.csv", ",劝返车辆,", ",劝返车辆甲,")
    # the risk chapter draws and tabulates it; the front page counts the rows of the file
    assert stale(recorded) == {"book/review/risk", "book/index"}


def test_a_source_passage_re_executes_its_chapter_and_the_full_text(recorded, data_copy):
    _replace(data_copy / "source" / "layout.yaml", 'paragraphs: ["404-415.1"]', 'paragraphs: ["404-412", "413-415.1"]')
    # the register in the method appendix is grouped under the parts' titles: it reads the layout too
    assert stale(recorded) == {"book/newyear/nanjing", "book/appendix/source", "book/appendix/method", "book/index"}


def test_the_chart_module_re_executes_every_chapter_that_draws(recorded, monkeypatch):
    real = execute.Inputs._compute
    monkeypatch.setattr(execute.Inputs, "_compute",
                        lambda self, kind, name: real(self, kind, name) + ("x" if name == "zzreview/charts.py" else ""))
    assert stale(recorded) == DRAWING


def test_core_package_code_re_executes_everything(recorded, monkeypatch):
    real = execute.Inputs._compute
    monkeypatch.setattr(execute.Inputs, "_compute",
                        lambda self, kind, name: real(self, kind, name) + ("x" if name == "zzreview/book.py" else ""))
    assert stale(recorded) == set(recorded)


def test_reads_no_regular_expression_could_see_are_recorded(data_copy, tmp_path, monkeypatch):
    """A chapter that imports the package under another name, asks for a metric and a figure by
    ids built at run time and opens a data file itself with pandas: all of it is in its record,
    and a change to any of it makes the chapter stale."""
    monkeypatch.setenv("ZZREVIEW_DATA_CHECKED", "1")
    monkeypatch.setenv("ZZREVIEW_GENERATED_DIR", str(tmp_path / "generated"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    code = ("import pandas as pd\nimport zzreview.book as book\nfrom zzreview import data as d\n"
            "ids = ['risk-vehicles-' + part for part in ('turned-back',)]\n"
            "values = [d.metric(i)['value'] for i in ids]\n"
            "fig = book.figure('-'.join(['fig', 'med', 'funnel']))\n"
            f"table = pd.read_csv({str(data_copy / 'numeral_exclusions.csv')!r})\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    [run] = in_a_fresh_kernel([("probe", nbformat.writes(nb), str(tmp_path))])
    assert run.error is None, run.error
    reads = set(run.ledger["reads"])
    assert {"metric:risk-vehicles-turned-back", "figure:fig-med-funnel", "file:data/numeral_exclusions.csv",
            "file:zzreview/charts.py"} <= reads, reads
    assert "file:data/metrics.csv" not in reads  # one metric read: one record, not the file
    assert run.ledger["drawn"] == ["fig-med-funnel"]
    record = {"reads": {k: execute.Inputs().digest(k) for k in reads}}

    _replace(data_copy / "metrics.csv", ",劝返车辆,", ",劝返车辆乙,")
    assert execute.changed_reads(record, execute.Inputs()) == ["metric:risk-vehicles-turned-back"]
    exclusions = data_copy / "numeral_exclusions.csv"
    exclusions.write_text(exclusions.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert "file:data/numeral_exclusions.csv" in execute.changed_reads(record, execute.Inputs())


def test_a_figure_drawn_again_from_the_same_inputs_is_reused_with_the_same_record(data_copy, tmp_path,
                                                                                monkeypatch):
    """A chapter re-run draws only the figures whose inputs changed (figures.drawing_key). A reused
    drawing must leave the chapter the record of reads a fresh one does (or a later change to
    what drawing reads, say _config.yml, would not re-run it), and a changed label is drawn anew."""
    monkeypatch.setenv("ZZREVIEW_DATA_CHECKED", "1")
    monkeypatch.setenv("ZZREVIEW_GENERATED_DIR", str(tmp_path / "generated"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import zzreview.book as zz\nzz.figure('fig-risk-vehicles')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    job = ("probe", nbformat.writes(nb), str(tmp_path), 120)
    svg = tmp_path / "generated" / "figures" / "fig-risk-vehicles.svg"

    kernel = execute.Kernel(str(tmp_path))  # one kernel, reset between runs, as a build's runs its chapters
    try:
        fresh = kernel.run(*job)
        assert fresh.error is None, fresh.error
        drawn_at = svg.stat().st_mtime_ns
        assert "file:_config.yml" in fresh.ledger["reads"]  # the source line and widths come from it
        reused = kernel.run(*job)
        assert reused.error is None, reused.error
        assert svg.stat().st_mtime_ns == drawn_at, "the same inputs were drawn again"
        assert reused.ledger == fresh.ledger

        _replace(data_copy / "metrics.csv", ",劝返车辆,", ",劝返车辆乙,")
        changed = kernel.run(*job)
    finally:
        kernel.shutdown()
    assert changed.error is None, changed.error
    assert svg.stat().st_mtime_ns != drawn_at, "a changed label was not drawn anew"
    assert "劝返车辆乙" in (tmp_path / "generated" / "figures" / "fig-risk-vehicles.csv").read_text(encoding="utf-8")


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
    assert set(re.findall(r"executed (book/\S+) in", second.stdout)) == {"book/review/risk", "book/index"}
    assert "劝返车辆甲" in page.read_text(encoding="utf-8")  # the table and the alt text follow

    # nothing changed: nothing runs, not even Sphinx (a drawing gone: test_differential)
    third = run_build(out, env)
    assert third.returncode == 0 and "nothing changed" in third.stdout


@pytest.mark.build
def test_no_chapter_leaks_into_the_next_in_one_kernel(built_site, data_copy, tmp_path, monkeypatch):
    """One kernel running chapters one after another, as each of the build's kernels does
    (in_a_fresh_kernel: Kernel.run for each), runs first
    a risk chapter that ends by changing matplotlib settings, then every other chapter that draws:
    their figures are byte for byte the session build's (the kernel is reset between chapters)."""
    monkeypatch.setenv("ZZREVIEW_DATA_CHECKED", "1")
    monkeypatch.setenv("ZZREVIEW_GENERATED_DIR", str(tmp_path / "generated"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONHASHSEED", "0")  # as the build's kernels have it
    chapters = {ch.docname: ch for ch in execute.chapters()}
    risk = chapters["book/review/risk"].notebook
    risk.cells.append(nbformat.v4.new_code_cell('import matplotlib.pyplot as plt\nplt.rcParams["axes.facecolor"] = "#ff0000"\n'
                                                'plt.rcParams["font.size"] = 30\nimport warnings\nwarnings.simplefilter("error")'))
    order = ["book/review/risk", *sorted(DRAWING - {"book/review/risk"})]
    jobs = [(doc, nbformat.writes(risk if doc == "book/review/risk" else chapters[doc].notebook),
             str(chapters[doc].path.parent)) for doc in order]
    runs = in_a_fresh_kernel(jobs)
    assert [(r.docname, r.error) for r in runs] == [(doc, None) for doc in order]
    drawn = tmp_path / "generated" / "figures"
    after = {fig_id for run in runs[1:] for fig_id in run.ledger["drawn"]}
    assert after == {f["id"] for f in records.figure_registry()} - set(runs[0].ledger["drawn"])
    for fig_id in sorted(after):
        for ext in ("svg", "png"):
            ours = (drawn / f"{fig_id}.{ext}").read_bytes()
            assert ours == (built_site["html"] / "figures" / f"{fig_id}.{ext}").read_bytes(), \
                f"{fig_id}.{ext} changed: a setting leaked from the chapter before"


def test_a_build_is_seeded_only_when_new_and_never_from_a_previews_drawings(tmp_path):
    """seed() gives a build without state another build's executed chapters; a full build never
    takes a preview's (SVG drawings only), and a build with a state of its own is left alone."""
    from zzreview.__main__ import seed, staging_dir, state_file

    source, full, preview = tmp_path / "source", tmp_path / "full", tmp_path / "preview"  # build folders
    (staging_dir(source) / "_generated" / "figures").mkdir(parents=True)
    (staging_dir(source) / "_build" / ".jupyter_cache").mkdir(parents=True)
    record = {"book/review/risk": {"code": "c", "reads": {}, "drawn": []}}

    def given(state: dict) -> None:
        state_file(staging_dir(source)).write_text(json.dumps(state), encoding="utf-8")

    given({"chapters": record, "screen_only": True})
    assert not seed(full, source, screen_only=False)
    assert not full.exists()
    assert seed(preview, source, screen_only=True)
    assert json.loads(state_file(staging_dir(preview)).read_text(encoding="utf-8")) == {"chapters": record}

    given({"chapters": record})  # from before the key
    assert not seed(full, source, screen_only=False), "drawings of unknown kind seeded a full build"

    given({"chapters": record, "screen_only": False})
    assert seed(full, source, screen_only=False)
    own = state_file(staging_dir(full)).read_text(encoding="utf-8")
    (staging_dir(source) / "_generated" / "figures" / "new.svg").write_text("<svg/>", encoding="utf-8")
    assert not seed(full, source, screen_only=False), "a build's own state was replaced"
    assert state_file(staging_dir(full)).read_text(encoding="utf-8") == own
    assert not (staging_dir(full) / "_generated" / "figures" / "new.svg").exists()

    # a build running into the source folder (it holds that folder's build lock): not copied mid-write
    import fcntl

    from zzreview.__main__ import one_build_at_a_time

    elsewhere = tmp_path / "elsewhere"
    with one_build_at_a_time(source):
        assert not seed(elsewhere, source, screen_only=False), "seeded from a folder a build was writing"
    assert not elsewhere.exists()
    assert seed(elsewhere, source, screen_only=False)
    with open(source / ".build-lock", encoding="utf-8") as lock:  # and the seed let it go again
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
