"""Malformed input stops the build with one clear line naming file, row and column, before any
chapter executes, and the last good output stays as it was."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO
from zzreview.dataset import validate

HEADER = "id,section,label,value,unit,qualifier,kind,when,quote,note"
ROW = "med-payment,traffic-mediation,调解支付金额,980370,元,exact,money,,980370元,"


def test_invalid_datapackage(data_copy):
    path = data_copy / "datapackage.json"
    dp = json.loads(path.read_text(encoding="utf-8"))
    dp["resources"][2]["schema"]["fields"][3]["type"] = "numbr"
    path.write_text(json.dumps(dp, ensure_ascii=False), encoding="utf-8")
    problems = validate.problems()
    assert any("datapackage.json" in p.file or "numbr" in str(p) for p in problems), [str(p) for p in problems]


def test_a_code_without_its_chinese_name_is_reported(data_copy):
    """A new register kind added to the enum but not to x_labels would otherwise fail inside a
    chapter's kernel (a KeyError) instead of as one line before anything runs."""
    path = data_copy / "datapackage.json"
    dp = json.loads(path.read_text(encoding="utf-8"))
    kind = next(f for r in dp["resources"] if r["name"] == "ambiguities" for f in r["schema"]["fields"]
                if f["name"] == "kind")
    kind["constraints"]["enum"].append("new-kind")
    path.write_text(json.dumps(dp, ensure_ascii=False), encoding="utf-8")
    problems = [str(p) for p in validate.problems()]
    assert any("kind 列有代码没有中文名称：new-kind" in p for p in problems), problems


def test_bom_and_crlf_are_accepted(data_copy):
    path = data_copy / "metrics.csv"
    text = path.read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert validate.problems() == []


@pytest.mark.parametrize("phrase, numeral", [("八类案件", "八"), ("国道319线", "319")])
def test_a_numeral_neither_used_nor_excluded_is_reported(data_copy, phrase, numeral):
    path = data_copy / "numeral_exclusions.csv"
    lines = [l for l in path.read_text(encoding="utf-8").split("\n") if not l.startswith(phrase + ",")]
    path.write_text("\n".join(lines), encoding="utf-8")
    problems = [str(p) for p in validate.problems()]
    assert any(f"原文中的数字 '{numeral}'" in p for p in problems), problems


def test_figure_registry_problems_are_reported(tmp_path, monkeypatch):
    from zzreview import paths

    reg = tmp_path / "figures.yaml"
    reg.write_text((REPO / "book" / "figures.yaml").read_text(encoding="utf-8")
                   .replace("metrics: [med-received, med-succeeded]", "metrics: [med-received, med-nope]")
                   .replace("caption: 2021年平和县", "caption: 275起，平和县"), encoding="utf-8")
    monkeypatch.setattr(paths, "figures_registry_path", lambda: reg)
    problems = [str(p) for p in validate.registry_problems()]
    assert any("不存在的指标 'med-nope'" in p for p in problems), problems
    assert any("caption 写出了数字" in p for p in problems), problems


# --- Through the README's build command: ≥ 12 distinct malformed inputs ---------------------

def _replace_text(rel, old, new):
    def edit(d):
        path = d / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return edit


def _write_bytes(rel, make):
    def edit(d):
        path = d / rel
        path.write_bytes(make(path.read_bytes()))
    return edit


BUILD_CASES = {
    # name: (edit, file named, column named or None, line of the file named or None)
    "missing required column": (_replace_text("metrics.csv", HEADER, HEADER.replace(",qualifier,", ",qualifer,")),
                                "metrics.csv", "qualif", 1),
    "non-numeric value": (_replace_text("metrics.csv", ROW, ROW.replace(",980370,", ",九十八万,")),
                          "metrics.csv", "value", "med-payment,"),
    "negative count": (_replace_text("metrics.csv", ROW, ROW.replace(",980370,", ",-980370,")),
                       "metrics.csv", "value", "med-payment,"),
    "duplicate id": (_replace_text("metrics.csv", "med-succeeded,", "med-payment,"),
                     "metrics.csv", "id", "med-payment,"),  # reported on the second of the pair
    "unknown section": (_replace_text("metrics.csv", ROW, ROW.replace("traffic-mediation", "traffic-x")),
                        "metrics.csv", "section", "med-payment,"),
    "unknown qualifier": (_replace_text("metrics.csv", ROW, ROW.replace(",exact,", ",about,")),
                          "metrics.csv", "qualifier", "med-payment,"),
    "quote not in source": (_replace_text("metrics.csv", ROW, ROW.replace(",980370元,", ",980371元,")),
                            "metrics.csv", "quote", "med-payment,"),
    "value disagrees with quote": (_replace_text("metrics.csv", ROW, ROW.replace(",980370,", ",980380,")),
                                   "metrics.csv", "value", "med-payment,"),
    "unit not in the quote": (_replace_text("metrics.csv", ROW, ROW.replace(",元,", ",万元,")),
                              "metrics.csv", "unit", "med-payment,"),
    "date row with a value": (_replace_text("metrics.csv", "child-date,lost-child,民警和热心群众救助迷途儿童的日期,,",
                                            "child-date,lost-child,民警和热心群众救助迷途儿童的日期,1,"),
                              "metrics.csv", "value", "child-date,"),
    "invalid UTF-8": (_write_bytes("metrics.csv", lambda b: b.replace(ROW.encode(), b"\xff\xfe" + ROW.encode()[2:])),
                      "metrics.csv", None, "med-payment,"),
    "empty file": (_write_bytes("metrics.csv", lambda b: b""), "metrics.csv", None, None),
    "exclusion count wrong": (_replace_text("numeral_exclusions.csv", "漳州110,4,", "漳州110,3,"),
                              "numeral_exclusions.csv", "occurrences", "漳州110,"),
    "source text altered": (_write_bytes("source/000_29b51da462fdfb9d.txt", lambda b: b.replace("252".encode(), b"253", 1)),
                            "000_29b51da462fdfb9d.txt", None, None),
    "data package not JSON": (_write_bytes("datapackage.json", lambda b: b[:-3]),
                              "datapackage.json", None, None),
}


def _tree_digest(root, skip=()):
    """Every file's name and bytes; `skip`: names relative to root left out (the execution record)."""
    import hashlib
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if str(path.relative_to(root)) in skip:
            continue
        digest.update(str(path.relative_to(root)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _published_copy(built_site, out):
    """The last good, published build, copied into out (html and pdf)."""
    import shutil

    shutil.copytree(built_site["html"], out / "html")
    shutil.copytree(built_site["pdf"].parent, out / "pdf")
    return _tree_digest(out / "html"), _tree_digest(out / "pdf")


def _run_cases(cases: dict, run_one) -> dict:
    """Every case through the build command, three at a time: each stops in validation, which
    runs mostly in one process, so the two cores serve them side by side."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(cases, pool.map(run_one, cases)))


@pytest.fixture(scope="module")
def bad_input_runs(built_site, tmp_path_factory):
    import shutil

    from conftest import run_build

    def run_one(name):
        root = tmp_path_factory.mktemp("bad")
        data = root / "data"
        shutil.copytree(REPO / "data", data)
        original = {p: p.read_bytes() for p in data.rglob("*") if p.is_file()}
        BUILD_CASES[name][0](data)
        out = root / "out"
        before = _published_copy(built_site, out)
        proc = run_build(out, {"ZZREVIEW_DATA_DIR": str(data)})
        return {"proc": proc, "original": original, "out": out, "before": before,
                "after": (_tree_digest(out / "html"), _tree_digest(out / "pdf"))}

    return _run_cases(BUILD_CASES, run_one)


@pytest.mark.build
@pytest.mark.parametrize("name", BUILD_CASES)
def test_bad_input_stops_the_build_and_keeps_the_last_good_output(bad_input_runs, name):
    _, file, column, line = BUILD_CASES[name]
    run = bad_input_runs[name]
    proc, original, out = run["proc"], run["original"], run["out"]
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    problems = [l for l in proc.stderr.splitlines() if l.startswith("  - ")]
    assert len(problems) == 1, proc.stderr  # one clear message, not a wall
    message = problems[0]
    assert file in message and "（提示：" in message, message
    if column:  # (a prefix of the column's name: a misspelt header may be named either way)
        assert re.search(rf"，{re.escape(column)}\S* 列：", message), message
    if line is not None:
        if isinstance(line, str):  # the row whose text starts so, as a text editor counts lines
            text = next(b for p, b in original.items() if p.name == file).decode("utf-8", "replace")
            line = next(n for n, l in enumerate(text.split("\n"), 1) if l.startswith(line))
        assert f"，第 {line} 行" in message, message
    assert not (out / ".staging" / "_build" / "generated").exists(), "a chapter was executed despite bad input"
    assert "Executing notebook" not in (out / "build.log").read_text(encoding="utf-8")
    assert run["after"] == run["before"], "the published output changed"


# --- Files the build reads by name: the same one-line treatment --------------------------------

def _repo_copy(tmp_path):
    """The repository's tracked files in tmp_path/repo (tests/workspace.py)."""
    from workspace import repo_copy

    return repo_copy(tmp_path / "repo")


CONFIG_CASES = {
    # name: (file, old text, new text, words the message must hold)
    "toc names a missing chapter": ("_toc.yml", "book/review/safety", "book/review/safty",
                                    ["_toc.yml", "book/review/safty", "不存在"]),
    "toc is not YAML": ("_toc.yml", "format: jb-book", "format: [jb-book", ["_toc.yml", "不是有效的 YAML", "行"]),
    "config lacks the title": ("_config.yml", "title: 漳州公安", "titel: 漳州公安", ["_config.yml", "'title'"]),
    "figure registry is not YAML": ("book/figures.yaml", "- id: fig-forge-ranks", "- id: [fig-forge-ranks",
                                    ["book/figures.yaml", "不是有效的 YAML"]),
    "layout is not YAML": ("data/source/layout.yaml", "articles:", "articles: [", ["layout.yaml"]),
}


@pytest.fixture(scope="module")
def config_runs(built_site, tmp_path_factory):
    def run_one(name):
        rel, old, new, _ = CONFIG_CASES[name]
        root = tmp_path_factory.mktemp("config")
        copy = _repo_copy(root)
        path = copy / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, (rel, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        out = root / "out"
        before = _published_copy(built_site, out)
        env = {k: v for k, v in os.environ.items() if k != "ZZREVIEW_DATA_DIR"}
        proc = subprocess.run([sys.executable, "-m", "zzreview", "build", "--out", str(out)],
                              cwd=copy, capture_output=True, text=True, env=env, timeout=600)
        return {"proc": proc, "before": before, "after": (_tree_digest(out / "html"), _tree_digest(out / "pdf"))}

    return _run_cases(CONFIG_CASES, run_one)


@pytest.mark.build
@pytest.mark.parametrize("name", CONFIG_CASES)
def test_a_broken_configuration_file_stops_the_build_with_one_line(config_runs, name):
    words = CONFIG_CASES[name][3]
    proc = config_runs[name]["proc"]
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    problems = [l for l in proc.stderr.splitlines() if l.startswith("  - ")]
    assert len(problems) == 1, proc.stderr
    assert all(w in problems[0] for w in words), problems[0]
    assert config_runs[name]["after"] == config_runs[name]["before"]
