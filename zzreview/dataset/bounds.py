"""What a figure of the source allows, carried through arithmetic: intervals with their qualifier.

A stated figure is exact, a lower bound (余/多: the true value is larger), an upper bound (近: the
true value is a little smaller) or approximate (约/许: either way, by an unknown amount). Sums,
differences and ratios of such figures are intervals; an approximate input makes the result
approximate. Displayed bounds are rounded AWAY from the inside of the interval — a lower bound
down, an upper bound up — so that what the page prints is still a true bound.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

QUALIFIER_OF_SOURCE = ("exact", "more_than", "nearly", "approx")


@dataclass(frozen=True)
class Interval:
    lo: float  # ≥ 0 for the book's quantities; may equal hi
    hi: float  # may be math.inf
    approx: bool = False  # some input was approximate: the interval is only indicative
    point: float | None = None  # the figure computed from the stated numbers

    @classmethod
    def of(cls, value: float, qualifier: str) -> "Interval":
        lo, hi = {"exact": (value, value), "more_than": (value, math.inf), "nearly": (0.0, value),
                  "approx": (value, value)}[qualifier]
        return cls(lo, hi, qualifier == "approx", value)

    @classmethod
    def of_row(cls, row: dict) -> "Interval":
        return cls.of(row["value"], row["qualifier"])

    def __add__(self, other: "Interval") -> "Interval":
        return Interval(self.lo + other.lo, self.hi + other.hi, self.approx or other.approx,
                        self.point + other.point)

    def __sub__(self, other: "Interval") -> "Interval":
        """self − other, clamped at zero (the book's quantities are counts and amounts)."""
        return Interval(max(0.0, self.lo - other.hi), max(0.0, self.hi - other.lo),
                        self.approx or other.approx, self.point - other.point)

    def __truediv__(self, other: "Interval") -> "Interval":
        lo = self.lo / other.hi if not math.isinf(other.hi) else 0.0
        hi = self.hi / other.lo if other.lo else math.inf
        return Interval(lo, hi, self.approx or other.approx, self.point / other.point)

    @property
    def qualifier(self) -> str:
        """exact | more_than (a lower bound) | at_most (an upper bound) | range | approx."""
        if self.approx:
            return "approx"
        if self.lo == self.hi:
            return "exact"
        if math.isinf(self.hi):
            return "more_than" if self.lo > 0 else "unknown"
        if self.lo == 0:
            return "at_most"
        return "range"


def rounded(x: float, decimals: int, direction: str) -> float:
    """x at `decimals` places: 'down', 'up' or 'nearest'. Guards against float noise
    (4.1 * 100 = 409.99999…) so an exact figure is not pushed a step."""
    scale = 10 ** decimals
    y = round(x * scale, 9)
    if direction == "down":
        return math.floor(y) / scale
    if direction == "up":
        return math.ceil(y) / scale
    return round(y) / scale


def number_text(x: float, decimals: int) -> str:
    return f"{x:,.{decimals}f}"


def decimals_for(x: float, percent: bool) -> int:
    """Display precision: percentages to 0.1 %; counts below 100 that are not whole to 0.1."""
    if percent:
        return 1
    return 0 if float(x).is_integer() or abs(x) >= 100 else 1


def interval_text(iv: Interval, unit: str = "", percent: bool = False, inputs: str = "两数都是界限") -> str:
    """An interval as the page prints it; bounds rounded outwards. `inputs`: what the inputs are
    (“两数都是下限”), said when the result is known only roughly."""
    def show(x: float, direction: str) -> str:
        scale = 100.0 if percent else 1.0
        d = decimals_for(x * scale, percent)
        text = number_text(rounded(x * scale, d, direction), d)
        return (text + "%") if percent else f"{text} {unit}".strip()

    q = iv.qualifier
    if q == "exact":
        return show(iv.lo, "nearest")
    if q == "approx":
        return f"约 {show(iv.point, 'nearest')}"
    if q == "more_than":
        return f"≥ {show(iv.lo, 'down')}"
    if q == "at_most":
        return f"≤ {show(iv.hi, 'up')}"
    if q == "range":
        return f"{show(iv.lo, 'down')} – {show(iv.hi, 'up')}"
    return f"约 {show(iv.point, 'nearest')}（{inputs}，真实值可大可小）"


def remainder(total: dict, parts: list[dict], may_overlap: bool = False) -> Interval:
    """What a total leaves after the parts the source names, with the bound their qualifiers
    allow: assuming the parts do not overlap (the figure's note says so), or, `may_overlap`,
    allowing that they do."""
    return Interval.of_row(total) - (covered(parts) if may_overlap else sum_of(parts))


def sum_of(parts: list[dict]) -> Interval:
    return sum((Interval.of_row(p) for p in parts[1:]), Interval.of_row(parts[0]))


def covered(parts: list[dict]) -> Interval:
    """What parts that may overlap cover together: at least the largest, at most their sum."""
    whole = sum_of(parts)
    return Interval(max(Interval.of_row(p).lo for p in parts), whole.hi, whole.approx, whole.point)


def overlap_caveat(parts: list[dict], unit: str, total: dict | None = None) -> str | None:
    """The caveat giving what parts assumed apart come to if they may overlap: their sum, or what
    they leave of `total`; none when that is the same figure or only approximate."""
    apart = sum_of(parts) if total is None else remainder(total, parts)
    iv = covered(parts) if total is None else remainder(total, parts, may_overlap=True)
    if iv.approx or (iv.lo, iv.hi) == (apart.lo, apart.hi):
        return None
    return f"若各项可能重叠，则为 {interval_text(iv, unit)}"
