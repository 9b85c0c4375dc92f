"""Nothing on a page or a figure that the source does not say: what surrounds the numbers —
source lines, bounds, dates, claims about the book, versions, the register of open questions —
is computed from the data and true of it."""
import math
import re
from collections import Counter
from itertools import combinations

import pytest
from hypothesis import given, settings, strategies as st

from conftest import REPO
from zzreview.dataset import bounds, quantity, validate
from zzreview import book, meta
from zzreview.drawing import charts, figures
from zzreview.downloads import cite
from zzreview.newspaper import inventory, structure
from zzreview.dataset.bounds import Interval

from test_metrics import EXCLUSIONS, FLAT, METRICS, rows  # the data read independently of the package

REGISTER = rows("ambiguities.csv")


# --- 1. Source lines name the real articles and say what is unknown ------------------------

@pytest.mark.parametrize("fig_id", [f["id"] for f in figures.registry()])
def test_each_chart_names_the_articles_its_numbers_come_from(fig_id):
    import matplotlib.pyplot as plt

    charts.setup()
    fig = figures.draw(fig_id)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if "资料来源" in t.get_text()]
    plt.close(fig)
    assert len(texts) == 1
    line = texts[0].replace("\n", "")
    titles = re.findall(r"《(.+?)》", line)
    assert titles, line
    for title in titles:  # a headline of the page, as printed (spaces aside)
        assert re.sub(r"\s", "", title) in FLAT, title
    pg = structure.page()
    sections = {r["section"] for r in figures.drawn_rows(fig_id)}
    wanted = {pg.article(pg.section(s).article_id).headline for s in sections}
    assert all(any(h in t for t in titles) for h in wanted)
    assert "不详" in line and meta.source_facts()["published_not_before"] in line
    assert "1月初" not in line and "年初" not in line


def test_no_date_or_title_is_invented_in_the_package_or_config():
    """The phrases of the invented source line must not come back anywhere."""
    for path in [*(REPO / "zzreview").glob("*.py"), REPO / "_config.yml", REPO / "data" / "datapackage.json",
                 REPO / "book" / "_latex" / "zzreview.sty"]:
        text = path.read_text(encoding="utf-8")
        for bad in ("1月初", "年初）", "《漳州公安2021年工作回顾》"):
            assert bad not in text, f"{path.name}: {bad}"


# --- 3. Bounds keep their direction through arithmetic and rounding --------------------------

QUALIFIERS = st.sampled_from(bounds.QUALIFIER_OF_SOURCE)
VALUES = st.floats(min_value=1, max_value=5e6, allow_nan=False).map(lambda x: round(x, 1))


def _printed_bounds(text: str):
    numbers = [float(n.replace(",", "")) for n in re.findall(r"[\d,]+(?:\.\d+)?", text)]
    return numbers


@settings(max_examples=300, deadline=None)
@given(VALUES, QUALIFIERS, VALUES, QUALIFIERS, st.booleans())
def test_a_printed_bound_is_still_a_bound(a, qa, b, qb, percent):
    iv = Interval.of(a, qa) / Interval.of(b, qb)
    text = bounds.interval_text(iv, "", percent)
    scale = 100 if percent else 1
    if iv.qualifier == "more_than":
        assert text.startswith("≥")
        assert _printed_bounds(text)[0] <= iv.lo * scale + 1e-9
    elif iv.qualifier == "at_most":
        assert text.startswith("≤")
        assert _printed_bounds(text)[0] >= iv.hi * scale - 1e-9
    elif iv.qualifier == "approx":
        assert text.startswith("约")
    assert (qa == "approx" or qb == "approx") == (iv.qualifier == "approx"), "approx must carry through"


@settings(max_examples=300, deadline=None)
@given(VALUES, QUALIFIERS, st.lists(st.tuples(VALUES, QUALIFIERS), min_size=1, max_size=4))
def test_a_remainder_carries_the_qualifiers(total, qt, parts):
    rest = bounds.remainder({"value": total, "qualifier": qt},
                             [{"value": v, "qualifier": q} for v, q in parts])
    true_lo = Interval.of(total, qt).lo - sum(Interval.of(v, q).hi for v, q in parts)
    assert rest.lo <= max(0.0, true_lo) + 1e-9 or rest.approx
    if all(q == "exact" for _, q in parts) and qt == "exact":
        assert rest.qualifier == "exact" or rest.lo == rest.hi == 0
    if any(q == "more_than" for _, q in parts) and qt != "approx" and not any(q == "approx" for _, q in parts):
        assert rest.qualifier in ("at_most", "exact", "unknown", "range") or math.isinf(rest.hi)


def test_every_derived_figure_on_the_pages_is_a_true_bound():
    """The derived tables of the book, recomputed: each printed lower bound ≤ the true lower."""
    data_ratio = book.ratio("risk-data-records", "risk-data-batches", "x")
    assert data_ratio.result.qualifier == "more_than"
    assert data_ratio.result_text() == "≥ 4,517 条/批次"  # 1,012,000 / 224 = 4,517.86, rounded down
    for d in [book.ratio("risk-patrol-staff", "risk-patrol-teams", "x"),
              book.ratio("risk-vehicles-turned-back", "risk-vehicles-checked", "x", percent=True),
              book.ratio("med-succeeded", "med-received", "x", percent=True)]:
        text = d.result_text()
        if text.startswith("≥"):
            assert _printed_bounds(text)[0] <= d.result.lo * (100 if d.percent else 1)


# --- 4. One rule for an indefinite 「一」 -------------------------------------------------------

def test_an_indefinite_one_is_never_a_count():
    """「一」 before a measure word introduces a thing (like English "a"); the book never records
    it as a count, and every such phrase of the source is listed as indefinite."""
    for r in METRICS:
        if r["kind"] in ("count", "money", "duration", "age"):
            q = quantity.parse(r["quote"])
            assert not re.fullmatch(r"一[万亿]?", q.expression), f"{r['id']} records 「一」 as a count"
    indefinite = {e["phrase"] for e in EXCLUSIONS if e["category"] == "indefinite"}
    ones = [n for n in inventory.numerals() if n.text == "一"]
    covered = {e["phrase"] for e in EXCLUSIONS}
    for n in ones:
        phrase = next((p for p in covered if any(s <= n.start < s + len(p) for s in inventory.occurrences(p))), None)
        assert phrase, f"「一」 in …{n.context}… is neither a fact nor excluded"
        cat = next(e["category"] for e in EXCLUSIONS if e["phrase"] == phrase)
        assert cat in ("indefinite", "name", "idiom", "period", "place", "ordinal-name"), (phrase, cat)
    assert len(indefinite) >= 7


def test_front_page_counts_follow_the_data():
    text = book.pipeline_summary().text
    c = book.counts()
    assert f"{len(METRICS)} 个定量事实" in text
    assert f"{len(EXCLUSIONS)} 个含数字的短语" in text
    assert f"共出现 {sum(int(e['occurrences']) for e in EXCLUSIONS)} 次" in text
    assert c["lower_bounds"] == sum(r["qualifier"] == "more_than" for r in METRICS)


# --- 5. A date can be approximate ----------------------------------------------------------------

def test_the_award_date_is_approximate_and_the_holiday_exact():
    by_id = {r["id"]: r for r in METRICS}
    assert by_id["forge-police-day"]["qualifier"] == "exact"
    assert by_id["forge-award-date"]["qualifier"] == "approx"
    assert by_id["forge-award-date"]["when"] == by_id["forge-police-day"]["when"]
    assert quantity.parse("在2021年1月10日首个“中国人民警察节”到来之际").qualifier == "approx"
    shown = book.value_cell({**by_id["forge-award-date"], "value": None})
    assert "约" in shown and "2021年1月10日" in shown


# --- 7. Claims about the book are exact -----------------------------------------------------

def test_the_restored_text_adds_nothing_but_its_labels():
    """The full text appendix: the page's characters, plus only the book's marked additions."""
    pg = structure.page()
    md = book.restored_source().text
    for art in pg.articles:  # the book's own words: layout notes and labels
        md = md.replace(f"*版面说明（本书）：{book.esc(art.note)}*", "")
    md = md.split("## 版面栏目标签")[0]
    md = md.replace("署名：", "").replace("\\", "")
    md = re.sub(r"[#*\s\u3000]", "", md)
    expected = Counter()
    for art in pg.articles:
        for part in (art.kicker, art.headline, art.subtitle, art.byline):
            expected.update(re.sub(r"\s", "", part or ""))
        for sec in art.sections:
            for part in sec.printed_titles + sec.paragraphs:
                expected.update(re.sub(r"\s", "", part))
    assert Counter(md) == expected
    assert all(Counter(md)[ch] <= Counter(FLAT)[ch] for ch in set(md)), "a character the page does not have"


# --- 8. A build from uncommitted changes says so ------------------------------------------------

def test_version_label_says_uncommitted_in_words():
    assert cite.commit_label("0aea492") == "0aea492"
    dirty = cite.commit_label("0aea492-dirty")
    assert "未提交的改动" in dirty and "0aea492" in dirty
    assert "未知" in cite.commit_label("unknown")
    fid = figures.registry()[0]["id"]
    texts = cite.figure_citations(fid, cite.Numbering({fid: ("book/x", "1.1")}), "0aea492-dirty")
    assert all("未提交的改动" in t for t in texts.values())
    assert all("未提交的改动" in t for t in cite.book_citations("0aea492-dirty").values())


# --- 9. The register of open questions covers every part, systematically ----------------------

def test_the_register_covers_every_part():
    assert {r["section"] for r in REGISTER} == set(structure.page().section_ids())


def _covered_pairs(section):
    pairs = set()
    for r in REGISTER:
        if r["section"] == section:
            pairs |= {frozenset(p) for p in combinations(r["metrics"].split(), 2)}
    return pairs


def test_every_pair_of_same_unit_numbers_in_a_part_is_judged():
    missing = []
    for section in structure.page().section_ids():
        groups = {}
        for r in METRICS:
            if r["section"] == section and r["kind"] in ("count", "money", "duration", "age"):
                groups.setdefault(r["unit"], []).append(r["id"])
        covered = _covered_pairs(section)
        for unit, ids in groups.items():
            missing += [f"{section} {unit}: {a} / {b}" for a, b in combinations(ids, 2)
                        if frozenset((a, b)) not in covered]
    assert missing == []


def test_every_shared_phrase_and_period_phrase_is_judged():
    quotes = Counter(r["quote"] for r in METRICS)
    several = {m for r in REGISTER if r["kind"] == "several-items" for m in r["metrics"].split()}
    assert [r["id"] for r in METRICS if quotes[r["quote"]] > 1 and r["id"] not in several] == []
    timed = {m for r in REGISTER if r["kind"] in ("period", "date-precision") for m in r["metrics"].split()}
    assert [r["id"] for r in METRICS if r["kind"] in ("date", "time", "duration") and r["id"] not in timed] == []
    period_quotes = {r["quote"] for r in REGISTER if r["kind"] in ("period", "date-precision")}
    assert [e["phrase"] for e in EXCLUSIONS if e["category"] == "period" and e["phrase"] not in period_quotes] == []


def test_every_chapter_shows_its_part_of_the_register():

    shown = set()
    for md in (REPO / "book").rglob("*.md"):
        shown |= set(re.findall(r'zz\.ambiguities\("([a-z-]+)"\)', md.read_text(encoding="utf-8")))
    assert shown == set(structure.page().section_ids())
    assert "zz.ambiguity_register()" in (REPO / "book" / "appendix" / "method.md").read_text(encoding="utf-8")


# --- 11. Provenance is checked against the part ------------------------------------------------

def test_a_quote_outside_its_part_is_refused(data_copy):
    path = data_copy / "metrics.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("med-succeeded,traffic-mediation,", "med-succeeded,review-forge,"), encoding="utf-8")
    problems = [str(p) for p in validate.problems()]
    assert any("不在部分 'review-forge' 的文字中" in p and "traffic-mediation" in p
               and "，section 列：" in p for p in problems), problems


def test_a_register_quote_outside_its_part_is_refused(data_copy):
    path = data_copy / "ambiguities.csv"
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[1]
    section = first.split(",")[1]
    other = "farm-school" if section != "farm-school" else "elderly"
    path.write_text(text.replace(first, first.replace(f",{section},", f",{other},", 1)), encoding="utf-8")
    problems = [str(p) for p in validate.problems()]
    assert any("ambiguities.csv，第 2 行" in p and "的文字中" in p for p in problems), problems


# --- 13. Captions and titles state no values, in any numeral form -----------------------------

@pytest.mark.parametrize("text, found", [("数值从十几到两百多万", ["十几", "两百多万"]), ("三项成效", ["三"]),
                                         ("两个数字都是下限", ["两"]), ("其中三类", ["三"]),
                                         ("共 275 起", ["275"]), ("2021年平和县", [])])
def test_the_numeral_finder_sees_every_form(text, found):
    assert inventory.stated_numbers(text, {"2021", "2022"}) == found


def test_no_title_or_caption_states_a_value():
    assert validate.registry_problems() == []


# --- 14. Each fact stated once -------------------------------------------------------------

def test_charts_are_drawn_at_the_configured_text_width():
    config = meta.config()["sphinx"]["config"]["latex_elements"]
    assert config["papersize"] == "a4paper" and "hmargin={2.5cm,2.5cm}" in config["sphinxsetup"]
    assert abs(meta.text_width_in() - (210 - 50) / 25.4) < 1e-9
    import matplotlib.pyplot as plt

    charts.setup()
    fig = figures.draw(figures.registry()[0]["id"])
    assert abs(fig.get_figwidth() - meta.text_width_in()) < 1e-9
    plt.close(fig)


@pytest.mark.parametrize("fact", ["漳州公安 2021：可复现的注释版回顾", "CC BY 4.0", "CC-BY-4.0", "zzreview-2021",
                                  "漳州公安2021注释版回顾编写组", "不早于 2022"])
def test_each_fact_is_typed_in_one_place(fact):
    """Book title and author (_config.yml), PDF name (_config.yml), licence and source facts
    (datapackage.json): nowhere else in the code, configuration or typography."""
    places = [p for p in [*(REPO / "zzreview").glob("*.py"), REPO / "_config.yml", REPO / "data" / "datapackage.json",
                          REPO / "book" / "_latex" / "zzreview.sty"]
              if fact in p.read_text(encoding="utf-8")]
    if fact == meta.book_author():  # the data package travels alone, so it names its contributor too
        assert meta.datapackage()["contributors"][0]["title"] == fact
        places = [p for p in places if p.name != "datapackage.json"]
    assert len(places) <= 1, places


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=4),
       st.integers(0, 500))
def test_a_remainder_that_may_overlap_holds_every_overlap_and_no_more(parts, extra):
    """Exact counts of categories that may overlap: each category is a set of cases, the total
    covers their union and `extra` unnamed ones; the printed range holds the true remainder. And
    it is no wider than it must be: nested categories reach its top, apart ones its bottom."""
    cases = [set(range(start, start + size)) for start, size in parts]  # overlapping runs of case numbers
    union = set().union(*cases)
    total = {"value": len(union) + extra, "qualifier": "exact"}
    named = [{"value": len(c), "qualifier": "exact"} for c in cases]
    rest = bounds.remainder(total, named, may_overlap=True)
    assert rest.lo <= extra <= rest.hi
    sizes = [len(c) for c in cases]
    nested_rest = total["value"] - max(sizes)  # every category inside the largest
    apart_rest = max(0, total["value"] - sum(sizes))  # no two share a case (clamped: counts)
    assert (rest.lo, rest.hi) == (apart_rest, nested_rest)
    assert bounds.remainder(total, named).lo == apart_rest  # the no-overlap assumption's figure


def test_the_nanjing_remainder_gives_its_range_without_the_assumption():
    d = book.difference("nanjing-violations", ["nanjing-drunk-driving", "nanjing-truck-overload",
                                               "nanjing-plates-licences"], "x", may_overlap=True)
    assert d.result_text() == "61 起"  # 122 − (7 + 4 + 50), the categories apart
    assert d.caveats[-1] == "若各项可能重叠，则为 61 起 – 72 起"  # they may cover as few as 50
