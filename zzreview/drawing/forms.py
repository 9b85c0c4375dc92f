"""The chart forms a figure of the registry (book/figures.yaml) may take: the one list of them.
Validation and the alt text read it here, without importing matplotlib; charts.py draws each
(charts.DRAW)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Form:
    name_zh: str  # as the alt text names it
    one_unit: bool  # every drawn figure must share one unit
    needs_total: bool = False  # the registry entry names a total besides its metrics


FORMS = {
    "bars": Form("条形图", one_unit=False),
    "magnitudes": Form("点图", one_unit=False),
    "ranks": Form("名次点图", one_unit=False),
    "funnel": Form("漏斗图", one_unit=True),
    "partial": Form("分段条形图", one_unit=True, needs_total=True),
}
