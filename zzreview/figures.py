"""The figure registry (book/figures.yaml) and the figures drawn from it.

One entry per figure: a stable ASCII id (also the HTML anchor), the section it belongs to, its
chart form, title, Chinese caption and the metric ids it plots. `show(id)` draws the chart from
the data, writes SVG/PDF/PNG, and returns an output that Jupyter shows inline and that the book
renders as a numbered MyST figure with the registry's caption.
"""
from __future__ import annotations

import base64
import html
import math
import os
import re
import unicodedata
from functools import lru_cache

import matplotlib.pyplot as plt
import yaml

from . import charts, data, meta, paths
from .bounds import Interval, interval_text
from .errors import Problem
from .inventory import stated_numbers

ID_PATTERN = re.compile(r"^fig-[a-z0-9]+(-[a-z0-9]+)*$")
FORMS = (*charts.FORMS, "partial")  # partial takes a total besides its parts
FORMATS = ("svg", "pdf", "png")
YEARS = {"2021", "2022"}  # the only numbers a title or caption may state: the period covered
NAME_CATEGORIES = ("name", "ordinal-name", "event", "road", "period")


@lru_cache(maxsize=4)
def _registry(mtime: float) -> list[dict]:
    return yaml.safe_load(paths.figures_registry_path().read_text(encoding="utf-8")) or []


def registry() -> list[dict]:
    path = paths.figures_registry_path()
    return _registry(path.stat().st_mtime_ns)


def entry(fig_id: str) -> dict:
    for item in registry():
        if item["id"] == fig_id:
            return item
    raise KeyError(f"no figure {fig_id!r} in {paths.relpath(paths.figures_registry_path())}")


def _without_names(text: str, names: list[str]) -> str:
    for name in names:
        text = text.replace(f"“{name}”", "“”")
    return text


def registry_problems() -> list[Problem]:
    from .structure import page
    from .validate import read_csv_rows

    rel = paths.relpath(paths.figures_registry_path())
    metric_rows = {r["id"]: r for _, r in read_csv_rows(paths.metrics_path())}
    sections = set(page().section_ids())
    # names such as “一室两队” and periods such as “一年来” hold numerals but state no quantity (data/numeral_exclusions.csv)
    names = [r["phrase"] for _, r in read_csv_rows(paths.exclusions_path()) if r["category"] in NAME_CATEGORIES]
    problems, seen = [], set()
    for item in registry():
        fid = item.get("id", "")

        def bad(reason, column=None, hint=None):
            problems.append(Problem(rel, f"figure {fid!r}: {reason}", column=column, hint=hint))

        if not ID_PATTERN.match(fid):
            bad("id must look like 'fig-some-name'", "id")
        if fid in seen:
            bad("id is used twice; ids are never reused", "id")
        seen.add(fid)
        if item.get("section") not in sections:
            bad(f"unknown section {item.get('section')!r}", "section")
        if item.get("form") not in FORMS:
            bad(f"unknown form {item.get('form')!r}", "form", f"use one of {', '.join(FORMS)}")
        for key in ("title", "caption", "notes"):
            if not item.get(key) and key != "notes":
                bad(f"has no {key}", key)
            elif stated_numbers(_without_names(item.get(key) or "", names), YEARS):
                found = stated_numbers(_without_names(item[key], names), YEARS)
                bad(f"{key} states a number ({'、'.join(found)}); figures come "
                    "from the data (they would go stale here)", key,
                    "say it without a numeral, or let the chart and its alt text show it")
        ids = list(item.get("metrics") or []) + ([item["total"]] if item.get("total") else [])
        for mid in ids:
            if mid not in metric_rows:
                bad(f"plots unknown metric {mid!r}", "metrics", "use an id from data/metrics.csv")
            elif not metric_rows[mid].get("value"):
                bad(f"metric {mid!r} has no value to draw", "metrics")
        if item.get("form") in ("bars", "funnel", "partial"):
            units = {metric_rows[m]["unit"] for m in ids if m in metric_rows}
            if item.get("form") != "bars" and len(units) > 1:
                bad(f"a {item['form']} needs one unit, got {sorted(units)}", "metrics")
    return problems


def remainder(total: dict, parts: list[dict]) -> Interval:
    """What a total leaves after the parts the source names, with the bound their qualifiers
    allow (the parts are assumed not to overlap: the figure's note says so)."""
    named = sum((Interval.of_row(p) for p in parts[1:]), Interval.of_row(parts[0]))
    return Interval.of_row(total) - named


REST_LABEL = "其余（原文未分类）"


def drawn_rows(fig_id: str) -> list[dict]:
    """Exactly what the chart draws, in drawing order (a partial breakdown: the total, its named
    parts, then the remainder). The chart, its alt text and its CSV all read these rows."""
    item = entry(fig_id)
    ids = ([item["total"]] if item.get("total") else []) + list(item.get("metrics", []))
    rows = []
    for mid in ids:
        r = data.metric(mid)
        iv = Interval.of_row(r)
        rows.append({"id": mid, "label": r["label"], "value": r["value"], "unit": r["unit"],
                     "qualifier": r["qualifier"], "lower_bound": None if iv.approx else iv.lo,
                     "upper_bound": None if iv.approx or math.isinf(iv.hi) else iv.hi,
                     "quote": r["quote"], "note": r["note"] or "", "section": r["section"]})
    if item["form"] == "partial":
        total = data.metric(item["total"])
        rest = remainder(total, [data.metric(m) for m in item["metrics"]])
        rows.append({"id": f"{item['total']}-unclassified", "label": REST_LABEL, "value": rest.point,
                     "unit": total["unit"], "qualifier": rest.qualifier,
                     "lower_bound": None if rest.approx else rest.lo,
                     "upper_bound": None if rest.approx or math.isinf(rest.hi) else rest.hi,
                     "quote": "", "note": "由总数减去原文点名的各类算出，假定各类互不重叠",
                     "section": total["section"], "text": interval_text(rest, total["unit"])})
    return rows


def source_line(rows: list[dict]) -> str:
    """The chart's source statement: the articles its rows come from (meta.source_line)."""
    from .structure import page

    pg = page()
    titles = []
    for r in rows:
        art = pg.article(pg.section(r["section"]).article_id)
        titles.append(art.title + (art.subtitle or ""))
    return meta.source_line(titles)


def draw(fig_id: str, width_in: float | None = None):
    """The matplotlib Figure for a registry entry, drawn from the current data."""
    item = entry(fig_id)
    rows = drawn_rows(fig_id)
    source = source_line(rows)
    if item["form"] == "partial":
        return charts.partial(rows[0], rows[1:-1], rows[-1], item["title"], source, width_in)
    return charts.FORMS[item["form"]](rows, item["title"], source, width_in)


def output_dir():
    out = paths.generated_dir() / "figures"
    out.mkdir(parents=True, exist_ok=True)
    return out


def save(fig, fig_id: str) -> dict:
    """Write every format; metadata without dates so two builds give the same bytes."""
    charts.assert_inside(fig)
    out = output_dir()
    files = {}
    meta = {"svg": {"Date": None, "Creator": "zzreview"}, "pdf": {"CreationDate": None, "ModDate": None,
            "Creator": "zzreview", "Producer": "matplotlib"}, "png": {"Software": "zzreview"}}
    for fmt in FORMATS:
        path = out / f"{fig_id}.{fmt}"
        tmp = path.with_suffix(f".tmp.{fmt}")
        fig.savefig(tmp, format=fmt, metadata=meta[fmt])
        os.replace(tmp, path)  # readers never see a half-written file
        files[fmt] = path
    thumb = out / f"{fig_id}.thumb.png"  # for the figure index: 320 px wide, light
    fig.savefig(thumb, format="png", dpi=320 / fig.get_figwidth(), metadata=meta["png"])
    files["thumb"] = thumb
    return files


class FigureOutput:
    """Shown inline in Jupyter (SVG + caption); rendered by the book as a numbered MyST figure."""

    def __init__(self, fig_id: str, files: dict):
        self.fig_id, self.files, self.item = fig_id, files, entry(fig_id)

    @property
    def alt(self) -> str:
        """Alt text with the values, generated from the data so it never goes stale."""
        item = self.item
        rows = drawn_rows(self.fig_id)
        form = {"bars": "条形图", "magnitudes": "点图", "ranks": "名次点图", "funnel": "漏斗图",
                "partial": "分段条形图"}[item["form"]]
        if item["form"] == "ranks":
            parts = [f"{r['label']}{charts.RANK_NAMES.get(int(r['value']), int(r['value']))}" for r in rows]
        else:
            parts = [f"{r['label']}{charts.value_text(r)}" for r in rows]
        return f"{form}，{item['title']}：" + "；".join(parts) + "。"

    def markdown(self) -> str:
        # relative to the chapter being executed (its working directory), as Sphinx resolves it
        rel = os.path.relpath(self.files["svg"].with_suffix(""), os.getcwd()).replace(os.sep, "/") + ".*"
        caption = self.item["caption"].strip()
        return (f"```{{figure}} {rel}\n:name: {self.fig_id}\n:alt: {self.alt}\n"
                f":width: 100%\n\n{caption}\n```\n\n```{{zz-cite}} {self.fig_id}\n```\n")

    def html(self) -> str:
        svg = base64.b64encode(self.files["svg"].read_bytes()).decode()
        return (f'<figure id="{self.fig_id}"><img alt="{html.escape(self.alt)}" style="max-width:100%" '
                f'src="data:image/svg+xml;base64,{svg}"><figcaption>{html.escape(self.item["caption"])}'
                f"</figcaption></figure>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/markdown": self.markdown(), "text/html": self.html(),
                "text/plain": f"[{self.fig_id}] {self.item['title']}"}


def show(fig_id: str) -> FigureOutput:
    fig = draw(fig_id)
    try:
        files = save(fig, fig_id)
    except UserWarning as exc:  # charts.setup() made matplotlib's missing-glyph warning an error
        glyph = re.search(r"Glyph (\d+) ", str(exc))
        if not glyph:
            raise
        char = chr(int(glyph.group(1)))
        raise charts.MissingGlyphError(
            f"figure {fig_id}: the chart's fonts have no glyph for U+{ord(char):04X} {char!r} "
            f"({unicodedata.name(char, 'unnamed')}); it would print as a blank box. Remove the character "
            "from the label or title, or install a font that has it") from None
    finally:
        plt.close(fig)  # a figure left open would be displayed a second time
    return FigureOutput(fig_id, files)
