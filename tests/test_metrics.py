"""data/metrics.csv: every value traceable to a verbatim phrase, every numeral accounted for."""
import csv
import re

import pytest

from conftest import REPO
from zzreview.dataset import quantity, validate
from zzreview.newspaper import structure

RAW = (REPO / "data" / "source" / "000_29b51da462fdfb9d.txt").read_text(encoding="utf-8")
FLAT = re.sub(r"\s+", "", RAW)


def rows(name):
    with open(REPO / "data" / name, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


METRICS = rows("metrics.csv")
EXCLUSIONS = rows("numeral_exclusions.csv")


def test_shipped_data_has_no_problems():
    assert validate.problems() == []


@pytest.mark.parametrize("row", METRICS, ids=lambda r: r["id"])
def test_quote_is_verbatim_and_unique(row):
    assert FLAT.count(re.sub(r"\s+", "", row["quote"])) == 1


@pytest.mark.parametrize("row", METRICS, ids=lambda r: r["id"])
def test_value_and_qualifier_are_the_parse_of_the_quote(row):
    q = quantity.parse(row["quote"])
    assert row["qualifier"] == q.qualifier
    if row["kind"] in ("date", "time"):
        assert (row["value"], row["when"]) == ("", q.when)
    else:
        assert float(row["value"]) == q.value
        if row["kind"] not in ("rank", "percent"):
            assert q.after.startswith(row["unit"]), "the unit is the word after the number"


def test_ids_are_unique_ascii_slugs():
    ids = [r["id"] for r in METRICS]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", i) for i in ids)


def test_sections_exist_in_the_restored_page():
    sections = set(structure.build_page().section_ids())
    assert {r["section"] for r in METRICS} <= sections


def test_every_arabic_numeral_is_used_or_excluded():
    spans = []
    for phrase in [r["quote"] for r in METRICS] + [r["phrase"] for r in EXCLUSIONS]:
        needle = re.sub(r"\s+", "", phrase)
        spans += [(m.start(), m.start() + len(needle)) for m in re.finditer(re.escape(needle), FLAT)]
    numerals = list(re.finditer(r"\d+(?:\.\d+)?", FLAT))
    assert len(numerals) > 60  # the page is full of numbers; an empty scan would prove nothing
    loose = [FLAT[max(0, m.start() - 6):m.end() + 6] for m in numerals
             if not any(a <= m.start() and m.end() <= b for a, b in spans)]
    assert loose == []


def test_exclusions_occur_as_often_as_stated():
    for r in EXCLUSIONS:
        assert FLAT.count(re.sub(r"\s+", "", r["phrase"])) == int(r["occurrences"]), r["phrase"]


def test_one_phrase_with_several_facts_gives_one_row_each():
    second = [r for r in METRICS if r["quote"] == "反恐、法医技能、重点车辆查验查缉技能全省第二"]
    assert len(second) == 3 and {r["value"] for r in second} == {"2"}


# Spot checks against an independent reading of the page (value, unit, qualifier).
@pytest.mark.parametrize("phrase, value, unit, qualifier", [
    ("101.2万余条", 1012000, "条", "more_than"),
    ("89万余辆次", 890000, "辆次", "more_than"),
    ("200余万人", 2000000, "人", "more_than"),
    ("25万余元", 250000, "元", "more_than"),
    ("980370元", 980370, "元", "exact"),
    ("抓获涉诈嫌疑人3200多名", 3200, "名", "more_than"),
    ("连续保持六年", 6, "年", "exact"),
    ("三个道路交通防控圈", 3, "个", "exact"),
    ("涉牌涉证50起", 50, "起", "exact"),
])
def test_spot_checks(phrase, value, unit, qualifier):
    match = [r for r in METRICS if r["quote"] == phrase]
    assert len(match) == 1
    r = match[0]
    assert (float(r["value"]), r["unit"], r["qualifier"]) == (value, unit, qualifier)


def test_data_package_is_valid_frictionless():
    import frictionless

    report = frictionless.validate(str(REPO / "data" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert {t.name for t in report.tasks} >= {"metrics", "numeral-exclusions", "source-page"}
