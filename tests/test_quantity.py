"""The parser of Chinese quantity phrases: examples read off the page, then properties."""
import cn2an
import pytest
from hypothesis import given, strategies as st

from zzreview.dataset.quantity import ParseError, parse

EXAMPLES = [
    # phrase, value, qualifier, when
    ("101.2万余条", 1_012_000, "more_than", None),
    ("200余万人", 2_000_000, "more_than", None),
    ("10.2万余辆次", 102_000, "more_than", None),
    ("25万余元", 250_000, "more_than", None),
    ("视频监控95000多路", 95_000, "more_than", None),
    ("980370元", 980_370, "exact", None),
    ("所有科目100%达标", 100, "exact", None),
    ("巡特警比武竞赛全省第一", 1, "exact", None),
    ("禁毒情侦一体化比武全省第三", 3, "exact", None),  # 一体化 is a word, not a number
    ("三个道路交通防控圈", 3, "exact", None),
    ("连续保持六年", 6, "exact", None),
    ("两千人", 2000, "exact", None),
    ("约300人", 300, "approx", None),
    ("近3000名", 3000, "nearly", None),
    ("2021年1月10日", None, "exact", "2021-01-10"),
    ("1 月 1 日 21 时 41 分", None, "exact", "--01-01T21:41"),
    ("当日 8 时许", None, "approx", "T08"),
]


@pytest.mark.parametrize("phrase, value, qualifier, when", EXAMPLES)
def test_examples(phrase, value, qualifier, when):
    q = parse(phrase)
    assert (q.value, q.qualifier, q.when) == (value, qualifier, when)


def test_bounds_follow_the_qualifier():
    assert (parse("89万余辆次").lower, parse("89万余辆次").upper) == (890_000, None)
    assert (parse("812人").lower, parse("812人").upper) == (812, 812)
    assert (parse("近3000名").lower, parse("近3000名").upper) == (None, 3000)
    assert (parse("约300人").lower, parse("约300人").upper) == (None, None)


@pytest.mark.parametrize("phrase", ["涉疫案件46起、27人", "统一平台", "", "约300余人"])
def test_a_quote_must_state_exactly_one_quantity(phrase):
    with pytest.raises(ParseError):
        parse(phrase)


@given(n=st.integers(min_value=1, max_value=10**7), wan=st.booleans(),
       qual=st.sampled_from(["", "余", "多"]), unit=st.sampled_from(["人", "辆次", "条", "元", "处"]),
       spaced=st.booleans())
def test_arabic_with_wan_and_qualifiers(n, wan, qual, unit, spaced):
    phrase = f"{n}{'万' if wan else ''}{qual}{unit}"
    if spaced:  # the OCR put spaces inside numbers and words
        phrase = " ".join(phrase)
    q = parse(phrase)
    assert q.value == n * (10_000 if wan else 1)
    assert q.qualifier == ("more_than" if qual else "exact")
    assert q.after.startswith(unit)


@given(whole=st.integers(min_value=0, max_value=999), tenth=st.integers(min_value=1, max_value=9))
def test_decimal_wan(whole, tenth):
    assert parse(f"{whole}.{tenth}万余条").value == whole * 10_000 + tenth * 1_000


@given(n=st.integers(min_value=1, max_value=99_999), unit=st.sampled_from(["个", "名", "年", "项"]))
def test_chinese_numerals_round_trip(n, unit):
    assert parse(cn2an.an2cn(n) + unit).value == n


@given(n=st.integers(min_value=1, max_value=50))
def test_ranks(n):
    q = parse(f"全省第{cn2an.an2cn(n)}")
    assert (q.kind, q.value) == ("rank", n)
