"""Validation messages: one Chinese line per problem, naming file, row and column, for inputs
that used to slip through (full-width digits) or end in a traceback (a chapter not in UTF-8)."""
import shutil

import pytest

from conftest import REPO
from zzreview import paths, validate
from zzreview.errors import Problem

ROW = "med-payment,traffic-mediation,调解支付金额,980370,元,exact,money,,980370元,"


def _line_of(path, start):
    return next(n for n, l in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if l.startswith(start))


def test_the_message_format():
    p = Problem("data/metrics.csv", "原因", row=5, column="value", hint="提示语")
    assert str(p) == "data/metrics.csv，第 5 行，value 列：原因（提示：提示语）"
    assert str(Problem("_toc.yml", "原因")) == "_toc.yml：原因"
