"""The figures of the registry (book/figures.yaml), drawn from the data.

One entry per figure: a stable ASCII id (also the HTML anchor), the section it belongs to, its
chart form (forms.FORMS), title, Chinese caption and the metric ids it plots. `drawn_rows(id)`
is exactly what a chart shows (and its CSV and alt text hold); `draw(id)` draws it; `save` writes
SVG/PDF/PNG. The registry is read by records.py and checked by validate.py; what a chapter shows
for a figure (the notebook output) is in book.py.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os

from zzreview import meta, paths, records
from zzreview.dataset import data  # charts (matplotlib) only where a figure is drawn
from zzreview.dataset.bounds import Interval, interval_text, overlap_caveat, remainder
from zzreview.newspaper.structure import page

FORMATS = ("svg", "pdf", "png")


def registry() -> list[dict]:
    """book/figures.yaml (records.py reads it; validate.py checks it)."""
    return records.figure_registry()


def entry(fig_id: str) -> dict:
    return records.figure_entry(fig_id)


REST_LABEL = "其余（原文未分类）"


def metric_ids(fig_id: str) -> list[str]:
    """The metrics a figure plots, in drawing order (a partial breakdown's total first)."""
    item = entry(fig_id)
    return ([item["total"]] if item.get("total") else []) + list(item.get("metrics", []))


def drawn_rows(fig_id: str, given: dict[str, dict] | None = None) -> list[dict]:
    """Exactly what the chart draws, in drawing order (a partial breakdown: the total, its named
    parts, then the remainder). The chart, its alt text and its CSV all read these rows.
    `given` (id → row) replaces data/metrics.csv: an analyst's edited copy in a notebook."""
    item = entry(fig_id)
    metric = given.__getitem__ if given is not None else data.metric
    rows = []
    for mid in metric_ids(fig_id):
        r = metric(mid)
        iv = Interval.of_row(r)
        rows.append({"id": mid, "label": r["label"], "value": r["value"], "unit": r["unit"],
                     "qualifier": r["qualifier"], "lower_bound": None if iv.approx else iv.lo,
                     "upper_bound": None if iv.approx or math.isinf(iv.hi) else iv.hi,
                     "quote": r["quote"], "note": r["note"] or "", "section": r["section"]})
    if item["form"] == "partial":
        total = metric(item["total"])
        parts = [metric(m) for m in item["metrics"]]
        rest = remainder(total, parts)
        rows.append({"id": f"{item['total']}-unclassified", "label": REST_LABEL, "value": rest.point,
                     "unit": total["unit"], "qualifier": rest.qualifier,
                     "lower_bound": None if rest.approx else rest.lo,
                     "upper_bound": None if rest.approx or math.isinf(rest.hi) else rest.hi,
                     "quote": "", "note": "；".join(filter(None, ["由总数减去原文点名的各类算出，假定各类互不重叠",
                     overlap_caveat(parts, total["unit"], total=total)])),
                     "section": total["section"], "text": interval_text(rest, total["unit"])})
    return rows


DATA_COLUMNS = ["label", "value", "unit", "qualifier", "kind", "when", "quote", "note", "section"]


def figure_data(fig_id: str):
    """book.figure_data, without the chart modules (the HTML run shows it in the notebooks)."""
    ids = metric_ids(fig_id)
    with records.narrowed(*(f"metric:{m}" for m in ids)):
        df = data.metrics()
    return df.loc[ids, DATA_COLUMNS].copy()


def source_line(rows: list[dict]) -> str:
    """The chart's source statement: the articles its rows come from (meta.source_line)."""
    with records.narrowed(*(f"section:{r['section']}" for r in rows)):
        pg = page()
    titles = []
    for r in rows:
        art = pg.article(pg.section(r["section"]).article_id)
        titles.append(art.title + (art.subtitle or ""))
    return meta.source_line(titles)


def alt_text(fig_id: str, rows: list[dict] | None = None) -> str:
    """A drawing's alt text: its form, title and every value drawn (the chapter's figure and the
    figure's own page say the same)."""
    from zzreview.drawing import charts  # matplotlib: only where a figure is drawn
    from zzreview.drawing.forms import FORMS

    item = entry(fig_id)
    rows = rows if rows is not None else drawn_rows(fig_id)
    if item["form"] == "ranks":
        parts = [f"{r['label']}：{charts.RANK_NAMES.get(int(r['value']), int(r['value']))}" for r in rows]
    else:
        parts = [f"{r['label']}：{charts.value_text(r)}" for r in rows]
    return f"{FORMS[item['form']].name_zh}，{item['title']}：" + "；".join(parts) + "。"


EDITED_STAMP = "「数据已改动，非原书图表」"


def draw(fig_id: str, width_in: float | None = None, rows: list[dict] | None = None, edited: list[str] = ()):
    """The matplotlib Figure for a registry entry, drawn from the current data (or from `rows`,
    drawn_rows of an analyst's edited copy; `edited` names the rows that differ from the data:
    the drawing then says so in its title and its source line, so it is never taken for the book's)."""
    from zzreview.drawing import charts  # matplotlib: only where a figure is drawn

    item = entry(fig_id)
    rows = rows if rows is not None else drawn_rows(fig_id)
    title, source = item["title"], source_line(rows)
    if edited:
        changed = "、".join(r["label"] for r in rows if r["id"] in edited)
        title, source = f"{EDITED_STAMP}{title}", f"{EDITED_STAMP}改动了：{changed}。改动前的{source}"
    return charts.DRAW[item["form"]](rows, title, source, width_in)


def output_dir():
    out = paths.generated_dir() / "figures"
    out.mkdir(parents=True, exist_ok=True)
    return out


METADATA = {"svg": {"Date": None, "Creator": "zzreview"},
            "pdf": {"CreationDate": None, "ModDate": None, "Creator": "zzreview", "Producer": "matplotlib"},
            "png": {"Software": "zzreview"}, "webp": None}  # no dates: two builds give the same bytes


SCREEN_PX = 780  # the phone drawing's raster for pages: 2 device pixels per CSS pixel at 390 px


def _write(fig, path, fmt: str, **kwargs) -> None:
    tmp = path.with_suffix(f".tmp.{fmt}")
    if METADATA[fmt] is not None:
        kwargs["metadata"] = METADATA[fmt]
    fig.savefig(tmp, format=fmt, **kwargs)
    os.replace(tmp, path)  # readers never see a half-written file


DRAWN_COLUMNS = ["id", "label", "value", "unit", "qualifier", "lower_bound", "upper_bound", "quote", "note"]


def plain(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


EDITED_COLUMN = "edited"  # in an edited drawing's CSV: "yes" where a row differs from data/metrics.csv


def rows_csv(rows: list[dict], edited: list[str] | None = None) -> str:
    """The rows a chart drew, as its CSV download gives them; from edited data, with a column
    that says which rows differ from the book's data (their quote is the source's, not theirs)."""
    columns = DRAWN_COLUMNS + ([EDITED_COLUMN] if edited else [])
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        out = {k: ("" if row.get(k) is None else plain(row[k])) for k in DRAWN_COLUMNS}
        if edited:
            out[EDITED_COLUMN] = "yes" if row["id"] in edited else "no"
        writer.writerow(out)
    return buf.getvalue()


def _formats() -> dict[str, tuple[str, ...]]:
    """The formats of each rendering."""
    return {"print": FORMATS, "narrow": ("svg", "png")}


def drawn_names(fig_id: str) -> list[str]:
    """The drawings save() leaves for fig_id in this kind of build, with its CSV (named by _files)."""
    return sorted(path.name for kind, path in _files(fig_id).items() if kind not in ("screen", "sizes"))


EDITED_SUFFIX = ".edited"  # an edited drawing's files: fig-x.edited.png …, never the book's names


def _files(fig_id: str, edited: bool = False) -> dict:
    out = output_dir()
    stem = fig_id + (EDITED_SUFFIX if edited else "")
    files = {}
    for name, formats in _formats().items():
        suffix = "" if name == "print" else ".narrow"
        files.update({f"{fmt}{suffix}": out / f"{stem}{suffix}.{fmt}" for fmt in formats})
    for kind, ext in (("screen", "narrow.webp"), ("sizes", "sizes.json"), ("csv", "csv")):
        files[kind] = out / f"{stem}.{ext}"
    return files


def save(fig, fig_id: str, narrow=None, rows: list[dict] | None = None, edited: list[str] = ()) -> dict:
    """Write the print rendering in every format,
    the narrow one (drawn for a phone) as SVG and PNG, the rows drawn as CSV (what the drawing
    was made from, recorded as it was made), and a record of the smallest type each rendering
    drew (what the browser test scales to CSS pixels). Drawn from edited data (`edited`: the rows
    that differ), every file takes another name (_files), so the book's are never overwritten."""
    from zzreview.drawing import charts  # matplotlib: only where a figure is drawn

    names, files, sizes = _files(fig_id, bool(edited)), {}, {}
    rows = rows if rows is not None else drawn_rows(fig_id)
    for name, figure in (("print", fig), ("narrow", narrow)):
        formats = _formats()[name]
        if figure is None:
            continue
        charts.assert_inside(figure, formats)
        suffix = "" if name == "print" else ".narrow"
        for fmt in formats:
            files[f"{fmt}{suffix}"] = names[f"{fmt}{suffix}"]
            _write(figure, files[f"{fmt}{suffix}"], fmt)
        sizes[name] = charts.text_sizes(figure)
    if narrow is not None:  # what a phone and the figure index show: the phone drawing at twice a 390 px screen, light
        files["screen"] = names["screen"]
        _write(narrow, files["screen"], "webp", dpi=SCREEN_PX / narrow.get_figwidth(),
               pil_kwargs={"quality": 82, "method": 6})
    files["sizes"] = names["sizes"]
    files["sizes"].write_text(json.dumps(sizes, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    files["csv"] = names["csv"]  # last, once the drawings exist, and whole or not at all
    tmp = files["csv"].with_suffix(".tmp.csv")
    tmp.write_text(rows_csv(rows, edited), encoding="utf-8")
    os.replace(tmp, files["csv"])
    if not edited:
        records.note_drawn(fig_id)  # the executor re-runs the chapter if these files go missing
    return files
