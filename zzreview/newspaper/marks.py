"""Where the numbers of a passage are: each metric's quote (a fact) and each phrase of the
exclusion list (a numeral that is not one), found in a line of the restored text. The book
marks them there (book.py): a fact links to its data row, a non-fact to the reason it is not one.

Quotes may overlap (one phrase reports several rankings; a date phrase sits inside the phrase of
the award given on it): overlapping quotes make one mark that carries all their facts. A
non-fact inside a fact's quote is part of that quote and gets no mark of its own.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    start: int
    end: int
    facts: tuple[str, ...] = ()  # metric ids; empty for a numeral that is not a fact
    reason: str = ""  # a non-fact's reason (data/numeral_exclusions.csv)

    @property
    def is_fact(self) -> bool:
        return bool(self.facts)


def _all(text: str, phrase: str) -> list[int]:
    out, i = [], text.find(phrase)
    while phrase and i >= 0:
        out.append(i)
        i = text.find(phrase, i + len(phrase))
    return out


def marks(line: str, quotes: dict[str, str], exclusions: dict[str, str]) -> list[Mark]:
    """The marks of one line, in order. `quotes`: metric id → quote (the section's metrics, in
    data order); `exclusions`: phrase → reason."""
    facts: list[Mark] = []
    for mid, quote in quotes.items():
        for start in _all(line, quote):
            facts.append(Mark(start, start + len(quote), (mid,)))
    facts.sort(key=lambda m: (m.start, m.end))
    merged: list[Mark] = []
    for m in facts:
        if merged and m.start < merged[-1].end:  # overlapping quotes: one mark, all their facts
            last = merged.pop()
            m = Mark(last.start, max(last.end, m.end), last.facts + m.facts)
        merged.append(m)
    others = [Mark(s, s + len(phrase), (), reason) for phrase, reason in exclusions.items()
              for s in _all(line, phrase)]
    others = [o for o in others if not any(o.start < f.end and f.start < o.end for f in merged)]
    return sorted(merged + others, key=lambda m: m.start)
