"""Parse the quantity stated in a short Chinese phrase of the source.

A quote such as "89万余辆次" states one quantity: the figure (890000), a qualifier (余 → the
figure is a lower bound) and the unit that follows. The numeral conversion itself is cn2an's
(it reads "101.2万", "两千", "六"); this module finds the expression, strips the qualifier words
cn2an rejects, and reports the bound the qualifier implies.

Rules (shown in the book's method appendix, in this order; an earlier rule masks later ones):
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import cn2an

from zzreview.newspaper.source import squash

CN_DIGITS = "零〇一二两三四五六七八九十百千"
CN_NUMBER = rf"[{CN_DIGITS}]+(?:[万亿][{CN_DIGITS}]+)*"  # 一万零一; a trailing 万 is matched apart
# Measure words after a Chinese numeral; without one, a numeral is part of a word (统一, 一体化).
MEASURE_WORDS = ("批次", "辆次", "个", "名", "年", "项", "支", "辆", "场", "批", "起", "人", "次",
                 "处", "条", "份", "台", "笔", "岁", "路", "级", "类", "方", "楼", "圈", "室", "队")

QUALIFIERS = {
    "exact": "确数",
    "more_than": "“余”“多”：所给数字是下限，实际数大于它",
    "approx": "“约”“许”，或日期之后有“之际”：近似数，实际可能略大也可能略小",
    "nearly": "“近”：所给数字是上限，实际数略小于它",
}

_MEASURE = "|".join(MEASURE_WORDS)
RULES: list[tuple[str, str, re.Pattern]] = [
    ("date", "日期（可带时刻）：[YYYY年]M月D日[H时[M分]][许]；短语中日期之后有“之际”（在……到来之际）时为约数",
     re.compile(r"(?:(?P<y>\d{4})年)?(?P<mo>\d{1,2})月(?P<d>\d{1,2})日"
                r"(?:(?P<h>\d{1,2})时(?:(?P<mi>\d{1,2})分)?)?(?P<post>许)?")),
    ("time", "时刻：H时[M分][许]",
     re.compile(r"(?P<h>\d{1,2})时(?:(?P<mi>\d{1,2})分)?(?P<post>许)?")),
    ("rank", "名次：第 + 中文或阿拉伯数字",
     re.compile(rf"第(?P<n>[{CN_DIGITS}]+|\d+)")),
    ("percent", "百分比：[约|近]数字%",
     re.compile(r"(?P<pre>约|近)?(?P<n>\d+(?:\.\d+)?)%")),
    ("number", "阿拉伯数字：[约|近]数字[余|多][万|亿][余|多][许]，其后为单位",
     re.compile(r"(?P<pre>约|近)?(?P<n>\d+(?:\.\d+)?)(?P<q1>余|多)?(?P<mag>万|亿)?(?P<q2>余|多)?"
                r"(?P<post>许)?")),
    ("number", "中文数字：[约|近]中文数字[余|多][万|亿][余|多] + 量词（三个、六年、一名……）",
     re.compile(rf"(?P<pre>约|近)?(?P<n>{CN_NUMBER})(?P<q1>余|多)?(?P<mag>万|亿)?(?P<q2>余|多)?"
                rf"(?=(?:{_MEASURE}))")),
]
__doc__ += "\n".join(f"- {kind}: {text}" for kind, text, _ in RULES)


class ParseError(ValueError):
    pass


@dataclass(frozen=True)
class Quantity:
    kind: str  # date | time | rank | percent | number
    value: float | None  # None for dates and times
    qualifier: str  # a key of QUALIFIERS
    when: str | None  # ISO 8601 (partial) for dates and times
    expression: str  # the matched text, e.g. "89万余"
    after: str  # text following the expression in the quote (its unit comes first)

    @property
    def lower(self) -> float | None:
        """Smallest value the phrase allows (None: no bound stated)."""
        return self.value if self.qualifier in ("exact", "more_than") else None

    @property
    def upper(self) -> float | None:
        """Largest value the phrase allows (None: unbounded or not stated)."""
        return self.value if self.qualifier in ("exact", "nearly") else None


def _qualifier(groups: dict) -> str:
    words = [w for w in (groups.get("pre"), groups.get("q1"), groups.get("q2"), groups.get("post")) if w]
    if len(words) > 1:
        raise ParseError(f"修饰词多于一个：{'、'.join(words)}")
    if not words:
        return "exact"
    return {"余": "more_than", "多": "more_than", "约": "approx", "许": "approx", "近": "nearly"}[words[0]]


def _number(text: str) -> float:

    try:
        return float(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError) as exc:
        raise ParseError(f"无法读出数字 {text!r}（cn2an：{exc}）") from exc


def _when(g: dict) -> str:
    date = ""
    if g.get("mo"):
        date = f"{g['y']}-" if g.get("y") else "--"
        date += f"{int(g['mo']):02d}-{int(g['d']):02d}"
    if g.get("h"):
        date += f"T{int(g['h']):02d}"
        if g.get("mi"):
            date += f":{int(g['mi']):02d}"
    return date


def _interpret(kind: str, m: re.Match, quote: str) -> Quantity:
    g = m.groupdict()
    after = quote[m.end():]
    if kind in ("date", "time"):
        qualifier = _qualifier(g)
        if kind == "date" and "之际" in after:  # "on the occasion of": around that date, not on it
            if qualifier != "exact":
                raise ParseError(f"修饰词多于一个：{g.get('post')}、之际")
            qualifier = "approx"
        return Quantity(kind, None, qualifier, _when(g), m.group(0), after)
    if kind == "rank":
        return Quantity(kind, _number(g["n"]), "exact", None, m.group(0), after)
    value = _number(g["n"] + (g.get("mag") or ""))
    return Quantity(kind, value, _qualifier(g), None, m.group(0), after)


def find_all(quote: str) -> list[Quantity]:
    """Every quantity expression in a phrase, by rule priority; earlier rules mask later ones."""
    text = squash(quote)
    masked = text
    found: list[tuple[int, Quantity]] = []
    for kind, _, pattern in RULES:
        for m in pattern.finditer(masked):
            if not m.group(0) or ("n" in m.groupdict() and not m.group("n")):
                continue
            found.append((m.start(), _interpret(kind, m, text)))
            masked = masked[:m.start()] + "\0" * (m.end() - m.start()) + masked[m.end():]
    return [q for _, q in sorted(found, key=lambda t: t[0])]


def parse(quote: str) -> Quantity:
    """The one quantity a quote states; a quote with none or several is an error."""
    found = find_all(quote)
    if len(found) != 1:
        what = "没有数量" if not found else f"有 {len(found)} 个数量（{'、'.join(q.expression for q in found)}）"
        raise ParseError(f"引文 {quote!r} 中{what}；一条引文须恰好陈述一个数量")
    return found[0]


def bounds_text(value: float | None, qualifier: str) -> str:
    """How a reader should take the figure: '≥ 890,000' for 余/多."""
    if value is None:
        return ""
    shown = f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"
    return {"exact": shown, "more_than": f"≥ {shown}", "approx": f"≈ {shown}", "nearly": f"< {shown}",
            "at_most": f"≤ {shown}"}.get(qualifier, f"约 {shown}")  # the last two: derived bounds


def with_unit(shown: str, unit: str | None) -> str:
    """A value as printed with its unit: "252 项", but "100%"."""
    unit = unit or ""
    return f"{shown}{unit}" if unit == "%" else f"{shown} {unit}".strip()


def when_text(when: str) -> str:
    m = re.match(r"^(?:(\d{4})-|--)?(?:(\d{2})-(\d{2}))?(?:T(\d{2})(?::(\d{2}))?)?$", when or "")
    if not m:
        return when
    y, mo, d, h, mi = m.groups()
    text = (f"{y}年" if y else "") + (f"{int(mo)}月{int(d)}日" if mo else "")
    if h:
        text += f"{int(h)}时" + (f"{int(mi)}分" if mi else "")
    return text + ("（年份原文未写）" if mo and not y else "")
