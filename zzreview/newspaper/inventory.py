"""Every numeral of the source is accounted for: used by a metric row's quote or listed, with a
reason, in data/numeral_exclusions.csv. Matching ignores whitespace, as the OCR spaced numbers."""
from __future__ import annotations

import re
from dataclasses import dataclass

from zzreview.dataset.quantity import CN_DIGITS, CN_NUMBER, MEASURE_WORDS
from zzreview.newspaper.source import squash, squashed_source

ARABIC = re.compile(r"\d+(?:\.\d+)?")
# A Chinese numeral states a quantity when a measure word follows it, or an order after 第.
CHINESE = re.compile(rf"{CN_NUMBER}[万亿]?(?=(?:{'|'.join(MEASURE_WORDS)}))|第[{CN_DIGITS}]+")
# In the book's own text (titles, captions), also a Chinese numeral made vague: 十几, 两百多万, 数十.
VAGUE = re.compile(rf"{CN_NUMBER}[几多余][万亿]?|[几数][十百千万]+")


def stated_numbers(text: str, allowed: set[str] = frozenset()) -> list[str]:
    """Every number a piece of the book's own text states, in any numeral form (Arabic, Chinese
    with a measure word, ordinal, vague), except the allowed ones (e.g. the years covered)."""
    found = [m.group(0) for pattern in (ARABIC, CHINESE, VAGUE) for m in pattern.finditer(text)]
    return [n for n in found if n not in allowed]


@dataclass(frozen=True)
class Numeral:
    start: int  # offset in the whitespace-free source
    text: str
    context: str


def numerals() -> list[Numeral]:
    text = squashed_source()
    found = []
    for pattern in (ARABIC, CHINESE):
        for m in pattern.finditer(text):
            ctx = text[max(0, m.start() - 8):m.end() + 8]
            found.append(Numeral(m.start(), m.group(0), ctx))
    return sorted(found, key=lambda n: n.start)


def occurrences(phrase: str) -> list[int]:
    """Start offsets of a phrase in the whitespace-free source."""
    needle, text = squash(phrase), squashed_source()
    return [m.start() for m in re.finditer(re.escape(needle), text)] if needle else []


def uncovered(phrases: list[str]) -> list[Numeral]:
    """Numerals not inside any occurrence of the given phrases."""
    spans = [(s, s + len(squash(p))) for p in phrases for s in occurrences(p)]
    return [n for n in numerals()
            if not any(a <= n.start and n.start + len(n.text) <= b for a, b in spans)]
