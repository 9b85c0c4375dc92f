"""Validation messages: one Chinese line per problem, naming file, row and column, for inputs
that used to slip through (full-width digits) or end in a traceback (a chapter not in UTF-8)."""
import shutil

import pytest

from conftest import REPO
from zzreview import paths
from zzreview.dataset import validate
from zzreview.errors import Problem

ROW = "med-payment,traffic-mediation,调解支付金额,980370,元,exact,money,,980370元,"


def _line_of(path, start):
    return next(n for n, l in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if l.startswith(start))


def test_the_message_format():
    p = Problem("data/metrics.csv", "原因", row=5, column="value", hint="提示语")
    assert str(p) == "data/metrics.csv，第 5 行，value 列：原因（提示：提示语）"
    assert str(Problem("_toc.yml", "原因")) == "_toc.yml：原因"


@pytest.mark.parametrize("frictionless", [True, False])
@pytest.mark.parametrize("value", ["９８０３７０", "９８０３７０.０", "98０370"])
def test_full_width_digits_in_a_value_are_one_problem(data_copy, value, frictionless):
    path = data_copy / "metrics.csv"
    text = path.read_text(encoding="utf-8")
    assert ROW in text
    path.write_text(text.replace(ROW, ROW.replace(",980370,", f",{value},", 1)), encoding="utf-8")
    problems = validate.problems(frictionless=frictionless, chapters=False)
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert p.file.endswith("metrics.csv") and p.column == "value" and p.row == _line_of(path, "med-payment,")
    assert "全角" in p.reason and "半角" in (p.hint or ""), str(p)


@pytest.mark.parametrize("frictionless", [True, False])
def test_full_width_digits_in_an_exclusion_count_are_one_problem(data_copy, frictionless):
    path = data_copy / "numeral_exclusions.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("漳州110,4,", "漳州110,４,", 1), encoding="utf-8")
    problems = validate.problems(frictionless=frictionless, chapters=False)
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert p.file.endswith("numeral_exclusions.csv") and p.column == "occurrences"
    assert p.row == _line_of(path, "漳州110,") and "全角" in p.reason and "半角" in (p.hint or ""), str(p)


def test_a_value_python_reads_but_pandas_does_not_is_refused(data_copy):
    """float() and Decimal() read 1_000 and Arabic-Indic digits; the book's tables do not."""
    path = data_copy / "metrics.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(ROW, ROW.replace(",980370,", ",980_370,", 1)), encoding="utf-8")
    problems = validate.problems(frictionless=False, chapters=False)
    assert [(p.column, p.row) for p in problems] == [("value", _line_of(path, "med-payment,"))], \
        [str(p) for p in problems]


@pytest.fixture
def book_copy(tmp_path, monkeypatch):
    """The files the configuration check reads by name, and the chapters, in a folder of their own."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "book", root / "book")
    monkeypatch.setattr(paths, "REPO", root)
    return root


def test_a_chapter_not_in_utf8_is_one_problem(book_copy):
    chapter = book_copy / "book" / "review" / "risk.md"
    data = chapter.read_bytes()
    lines = data.split(b"\n")
    lines[6] = b"\xff" + lines[6]  # the seventh line
    chapter.write_bytes(b"\n".join(lines))
    problems = validate.config_problems() + validate._chapter_problems()
    assert len(problems) == 1, [str(p) for p in problems]
    p = problems[0]
    assert (p.file, p.row) == ("book/review/risk.md", 7), str(p)
    assert "UTF-8" in p.reason and "0xff" in p.reason and p.hint, str(p)
