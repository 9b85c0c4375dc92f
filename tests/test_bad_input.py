"""Malformed input stops the build with one clear line naming file, row and column, before any
chapter executes, and the last good output stays as it was."""
import json
import subprocess
import sys

import pytest

from conftest import REPO
from zzreview import validate

HEADER = "id,section,label,value,unit,qualifier,kind,when,quote,note"
ROW = "med-payment,traffic-mediation,调解支付金额,980370,元,exact,money,,980370元,"


def edit_metrics(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


CASES = {
    # name: (edit to data/, file, column, words the message must contain)
    "non-numeric value": (lambda d: edit_metrics(d / "metrics.csv", ROW, ROW.replace(",980370,", ",九十八万,")),
                          "metrics.csv", "value", "type"),
    "negative count": (lambda d: edit_metrics(d / "metrics.csv", ROW, ROW.replace(",980370,", ",-980370,")),
                       "metrics.csv", "value", "minimum"),
    "unknown section": (lambda d: edit_metrics(d / "metrics.csv", ROW, ROW.replace("traffic-mediation", "traffic-x")),
                        "metrics.csv", "section", "traffic-x"),
    "unknown qualifier": (lambda d: edit_metrics(d / "metrics.csv", ROW, ROW.replace(",exact,", ",about,")),
                          "metrics.csv", "qualifier", "about"),
    "duplicate id": (lambda d: edit_metrics(d / "metrics.csv", "med-succeeded,", "med-payment,"),
                     "metrics.csv", "id", "Unique"),
    "quote not in source": (lambda d: edit_metrics(d / "metrics.csv", ROW, ROW.replace(",980370元,", ",980371元,")),
                            "metrics.csv", "quote", "not in the source"),
    "value disagrees with quote": (lambda d: edit_metrics(d / "metrics.csv", ROW, ROW.replace(",980370,", ",980380,")),
                                   "metrics.csv", "value", "980370"),
    "wrong unit": (lambda d: edit_metrics(d / "metrics.csv", ROW, ROW.replace(",元,", ",万元,")),
                   "metrics.csv", "unit", "does not follow"),
}


@pytest.mark.parametrize("name", CASES)
def test_row_level_problem_names_file_row_column(data_copy, name):
    edit, file, column, words = CASES[name]
    edit(data_copy)
    problems = validate.problems()
    assert problems, "the malformed input was accepted"
    hit = [p for p in problems if p.file.endswith(file) and p.column == column]
    assert hit, [str(p) for p in problems]
    lines = (data_copy / "metrics.csv").read_text(encoding="utf-8").split("\n")
    assert lines[hit[0].row - 1].startswith("med-payment,"), "the message names the wrong row"
    assert words in str(hit[0])


def test_missing_column(data_copy):
    path = data_copy / "metrics.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(HEADER, HEADER.replace("qualifier,", "qualifer,")),
                    encoding="utf-8")
    problems = validate.problems()
    assert any(p.row == 1 and "qualif" in str(p) for p in problems), [str(p) for p in problems]


def test_invalid_utf8(data_copy):
    path = data_copy / "metrics.csv"
    raw = path.read_bytes()
    at = raw.index(ROW.encode())
    path.write_bytes(raw[:at] + b"\xff\xfe" + raw[at + 2:])
    (problem,) = validate.problems()
    assert "UTF-8" in problem.reason and problem.row == line_of_bytes(raw, at)


def line_of_bytes(raw, offset):
    return raw[:offset].count(b"\n") + 1


def test_empty_file(data_copy):
    (data_copy / "metrics.csv").write_text("", encoding="utf-8")
    (problem,) = validate.problems()
    assert "empty" in problem.reason and problem.file.endswith("metrics.csv")


def test_invalid_datapackage(data_copy):
    path = data_copy / "datapackage.json"
    dp = json.loads(path.read_text(encoding="utf-8"))
    dp["resources"][2]["schema"]["fields"][3]["type"] = "numbr"
    path.write_text(json.dumps(dp, ensure_ascii=False), encoding="utf-8")
    problems = validate.problems()
    assert any("datapackage.json" in p.file or "numbr" in str(p) for p in problems), [str(p) for p in problems]


def test_bom_and_crlf_are_accepted(data_copy):
    path = data_copy / "metrics.csv"
    text = path.read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    assert validate.problems() == []


def test_build_stops_before_executing_and_keeps_last_good_output(data_copy, tmp_path):
    edit_metrics(data_copy / "metrics.csv", ROW, ROW.replace(",980370,", ",980380,"))
    published = tmp_path / "out" / "html"
    published.mkdir(parents=True)
    (published / "index.html").write_text("last good build", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "zzreview", "build", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode != 0
    assert "metrics.csv, row" in proc.stderr and "column 'value'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / ".staging").exists(), "a chapter ran despite bad data"
    assert (published / "index.html").read_text(encoding="utf-8") == "last good build"


@pytest.mark.parametrize("phrase, numeral", [("八类案件", "八"), ("国道319线", "319")])
def test_a_numeral_neither_used_nor_excluded_is_reported(data_copy, phrase, numeral):
    path = data_copy / "numeral_exclusions.csv"
    lines = [l for l in path.read_text(encoding="utf-8").split("\n") if not l.startswith(phrase + ",")]
    path.write_text("\n".join(lines), encoding="utf-8")
    problems = [str(p) for p in validate.problems()]
    assert any(f"numeral '{numeral}'" in p for p in problems), problems


def test_figure_registry_problems_are_reported(tmp_path, monkeypatch):
    from zzreview import figures, paths

    reg = tmp_path / "figures.yaml"
    reg.write_text((REPO / "book" / "figures.yaml").read_text(encoding="utf-8")
                   .replace("metrics: [med-received, med-succeeded]", "metrics: [med-received, med-nope]")
                   .replace("caption: 2021年平和县", "caption: 275起，平和县"), encoding="utf-8")
    monkeypatch.setattr(paths, "figures_registry_path", lambda: reg)
    problems = [str(p) for p in figures.registry_problems()]
    assert any("unknown metric 'med-nope'" in p for p in problems), problems
    assert any("caption states a number" in p for p in problems), problems
