"""Every chart of the book, styled once.

Forms follow the numbers: `bars` compares figures that share a unit (one panel per unit, never
two units on one axis); `magnitudes` lists figures of different units or sizes as a dot plot,
on a log axis when they span orders of magnitude; `ranks` draws places as places; `funnel`
draws stages; `partial` draws a breakdown the source leaves incomplete, with the remainder shown.
Lower bounds (余/多) are drawn as ▶ and labelled "≥".
"""
from __future__ import annotations

import re

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # charts are written to files; no screen needed

import matplotlib.patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.text  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from zzreview import meta  # noqa: E402
from zzreview.dataset.quantity import bounds_text, with_unit  # noqa: E402
from zzreview.drawing.forms import FORMS  # noqa: E402

CJK_SANS = "Noto Sans CJK SC"
PALETTE = {"ink": "#1f2933", "muted": "#616e7c", "bar": "#2f6f9f", "bound": "#c2410c",
           "rest": "#d9dee3", "grid": "#e4e7eb"}
SOURCE_PT = 8  # the source line under the print drawing (the narrow one has its own, larger)

STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": [CJK_SANS, "DejaVu Sans"],  # Latin fallback after the CJK face
    "axes.unicode_minus": False,  # CJK fonts lack U+2212
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.edgecolor": PALETTE["muted"],
    "axes.labelcolor": PALETTE["ink"],
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": PALETTE["muted"],
    "ytick.color": PALETTE["ink"],
    "text.color": PALETTE["ink"],
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "svg.fonttype": "path",  # glyphs become paths: readers need no CJK font
    "svg.hashsalt": "zzreview",  # stable ids inside the SVG
    "pdf.fonttype": 3,  # Type 42 subsetting of the CJK collection costs ~2.5 s a figure
}


class MissingGlyphError(RuntimeError):
    pass


def setup() -> None:
    """Apply the style; fail loudly if the CJK font is absent or any glyph would be missing."""
    try:
        font_manager.findfont(font_manager.FontProperties(family=CJK_SANS), fallback_to_default=False)
    except ValueError as exc:
        raise RuntimeError(f"找不到字体 {CJK_SANS!r}；请安装 Debian 的 fonts-noto-cjk"
                           "（安装脚本 scripts/setup.sh 会安装它）") from exc
    plt.rcParams.update(STYLE)
    # Matplotlib only warns about a missing glyph and ships a blank box; make it an error.
    warnings.filterwarnings("error", message=r"Glyph .* missing from", category=UserWarning)
    warnings.filterwarnings("error", message=r"Matplotlib currently does not support .* natively")


TOP_IN, BOTTOM_IN = 0.62, 0.95  # room for the title above and the axis, legend and source below
NARROW_IN = 3.6  # a phone's column: the narrow rendering is drawn at this width, not shrunk to it


@dataclass(frozen=True)
class Frame:
    """What a rendering is drawn for: its width and its type sizes (points). The print frame is
    the PDF's text block; the narrow one a phone's column (~360 CSS px), where category labels go
    above their rows so that the scale gets the whole width, and every text stays readable."""
    width_in: float
    narrow: bool
    label_pt: float  # category labels and values
    note_pt: float  # axis notes, legend, panel titles
    source_pt: float
    title_pt: float
    label_chars: int  # characters per line of a category label

    @classmethod
    def for_width(cls, width_in: float | None) -> "Frame":
        width_in = width_in or meta.text_width_in()
        if width_in < 5:
            return cls(width_in, True, label_pt=11, note_pt=9.5, source_pt=9, title_pt=12.5,
                       label_chars=int(width_in * 0.9 * 72 / 11))
        return cls(width_in, False, label_pt=9.5, note_pt=8.5, source_pt=SOURCE_PT, title_pt=12.5, label_chars=16)


def _role(artist, role: str = "label"):
    """Mark a text as a category label or value (the rest are notes), for the size record."""
    artist.zz_role = role
    return artist


def text_sizes(fig) -> dict:
    """The smallest type drawn, in points, by role: what the browser test scales to CSS pixels."""
    sizes = {"label": [], "other": []}
    for t in fig.findobj(matplotlib.text.Text):
        if t.get_visible() and t.get_text().strip():
            sizes[getattr(t, "zz_role", "other")].append(t.get_fontsize())
    return {f"min_{k}_pt": float(min(v)) for k, v in sizes.items() if v} | {"width_pt": round(fig.get_figwidth() * 72, 3)}


def _source_lines(source: str, width_in: float, size_pt: float) -> list[str]:
    """The source statement wrapped to the chart's width (a Chinese character is one em wide),
    broken after a comma or semicolon when one is near the end of a line, and only where Chinese
    line-breaking rules allow (_breakable)."""
    per_line = int(width_in * 0.96 * 72 / size_pt)
    lines = []
    while _ems(source) > per_line:
        cut = per_line
        while _ems(source[:cut]) > per_line:
            cut -= 1
        breaks = [i + 1 for i in range(cut // 2, cut) if source[i] in "，；、）" and _breakable(source, i + 1)]
        allowed = [i for i in range(cut // 2, cut + 1) if _breakable(source, i)]  # (Chinese line-breaking rules)
        cut = breaks[-1] if breaks else (allowed[-1] if allowed else cut)
        lines.append(source[:cut].rstrip())
        source = source[cut:].lstrip()
    return [*lines, source]


def _ems(text: str) -> float:
    return sum(0.55 if ord(ch) < 0x2E80 else 1.0 for ch in text)


def _figure(n_rows: int, source: str, width_in: float | None = None, panels: int = 1,
            height_per_row: float = 0.42):
    """A figure for its frame (print: the PDF's text block from _config.yml; narrow: a phone),
    tall enough for its rows, their labels and its source statement."""
    frame = Frame.for_width(width_in)
    lines = _source_lines(source, frame.width_in, frame.source_pt)
    extra = (len(lines) - 1) * frame.source_pt * 1.35 / 72
    if frame.narrow:
        height_per_row += 0.3  # each row carries its label above it
        extra += 0.45  # larger type below the axis: a two-line note, the legend
    height = 1.6 + panels * 0.55 + max(n_rows, 1) * height_per_row + extra
    fig = plt.figure(figsize=(frame.width_in, height))
    fig.zz_source, fig.zz_bottom_in, fig.zz_frame = "\n".join(lines), BOTTOM_IN + extra, frame
    return fig


def _labels(ax, ys, rows) -> None:
    """Category labels: beside the rows on paper (y tick labels); above them on a phone."""
    frame = ax.figure.zz_frame
    if not frame.narrow:
        ax.set_yticks(list(ys), [_label(r, frame.label_chars) for r in rows])
        for t in ax.get_yticklabels():
            _role(t).set_fontsize(frame.label_pt)
        return
    ax.set_yticks([])
    for y, r in zip(ys, rows):  # just above the row's bar or dot (bars are 0.6 high)
        _role(ax.annotate(_label(r, frame.label_chars), (0, y + 0.33), xycoords=("axes fraction", "data"),
                          xytext=(0, 1), textcoords="offset points", va="bottom", ha="left",
                          fontsize=frame.label_pt, color=PALETTE["ink"]))


def _left(fig, print_left: float) -> float:
    """The axes' left edge: the label margin on paper, almost the edge on a phone."""
    return 0.05 if fig.zz_frame.narrow else print_left


def _axes(fig, left: float, right: float = 0.9):
    """Axes with fixed margins in inches, so titles and source lines sit the same on every chart."""
    h = fig.get_figheight()
    return fig.add_axes((left, fig.zz_bottom_in / h, right - left, 1 - (TOP_IN + fig.zz_bottom_in) / h))


def _finish(fig, title: str) -> None:
    frame = fig.zz_frame
    title = "\n".join(_wrap(title, int(frame.width_in * 0.95 * 72 / frame.title_pt)))
    fig.suptitle(title, x=0.02, y=1 - 0.08 / fig.get_figheight(), ha="left", va="top", fontsize=frame.title_pt,
                 fontweight="bold")
    fig.text(0.02, 0.05 / fig.get_figheight(), fig.zz_source, fontsize=frame.source_pt, color=PALETTE["muted"],
             ha="left", va="bottom", linespacing=1.35)
    for ax in fig.axes:
        for t in ax.get_xticklabels():
            t.set_fontsize(max(t.get_fontsize(), frame.note_pt))


def _label(row, chars: int = 16) -> str:
    """A category label, wrapped so it fits the left margin: balanced lines, broken after a
    closing quote or bracket or before an opening one when such a place is near."""
    return "\n".join(_wrap(row["label"], chars))


NO_LINE_START = "，。、；：？！）」』”’》〉%"  # Chinese line-breaking rules (禁则): these never begin a line
NO_LINE_END = "（「『“‘《〈"  # … and these never end one
WORD = re.compile(r"[0-9A-Za-z.,:/%-]")  # a date, a number or a Latin word is never cut
HAN = re.compile(r"[\u4e00-\u9fff]")


def _breakable(text: str, i: int) -> bool:
    """Whether a line may end between text[i-1] and text[i] (a space there disappears)."""
    a, b = text[i - 1], text[i]
    before, after = text[:i].rstrip()[-1:], text[i:].lstrip()[:1]
    number_and_unit = before.isdigit() and bool(HAN.match(after))  # “100 倍”“2021年” stay together
    return (b not in NO_LINE_START and a not in NO_LINE_END and not (WORD.match(a) and WORD.match(b))
            and not number_and_unit)


def _wrap(text: str, chars: int) -> list[str]:
    """Lines of at most `chars` characters, balanced (no one-character orphan), broken only where
    Chinese typesetting allows: after punctuation when one is near, never before a closing mark
    or inside a number or date."""
    if len(text) <= chars:
        return [text]
    size = -(-len(text) // -(-len(text) // chars))
    lines = []
    while len(text) > chars:
        allowed = [i for i in range(1, min(len(text) - 1, chars) + 1) if _breakable(text, i)] or [chars]
        near = [i for i in allowed if abs(i - size) <= 3 and (text[i - 1] in "”）、，：；" or text[i] in "“（")]
        cut = min(near or allowed, key=lambda i: abs(i - size))
        lines.append(text[:cut].rstrip())  # a space at a break is no part of either line
        text = text[cut:].lstrip()
    return [*lines, text]


class ClippedTextError(RuntimeError):
    pass


RENDERING_DPI = {"svg": 72, "pdf": 72, "png": 300}  # text is laid out per resolution: PNG's hinting differs
MARGIN_IN = 0.02  # a label must not touch the edge


def assert_inside(fig, formats=("svg", "pdf", "png")) -> None:
    """Every drawn text lies inside the figure, with a margin, in every rendering that is saved (its
    extents measured at that rendering's resolution): a clipped label fails the build rather than
    ship cut off (pages show the figure's canvas, nothing beyond it)."""
    dpi = fig.get_dpi()
    try:
        for res in sorted({RENDERING_DPI[f] for f in formats if f in RENDERING_DPI}):
            fig.set_dpi(res)
            fig.draw_without_rendering()
            outside = _texts_outside(fig, fig.canvas.get_renderer(), MARGIN_IN * res)
            if outside:
                raise ClippedTextError(f"图表中的文字超出了画布或贴着边缘（{res} dpi）：{outside}；请缩短或换行")
    finally:
        fig.set_dpi(dpi)


def _texts_outside(fig, renderer, margin: float = 0.0) -> list[str]:
    """The drawn texts that cross the figure's edge, or come within `margin` pixels of it."""
    undrawn = set()  # labels of ticks beyond the axis limits exist but are not drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            undrawn |= {id(label) for tick in axis.get_major_ticks() if not lo <= tick.get_loc() <= hi
                        for label in (tick.label1, tick.label2)}
    canvas, outside = fig.bbox, []
    for t in fig.findobj(matplotlib.text.Text):
        if not t.get_visible() or not t.get_text().strip() or id(t) in undrawn:
            continue
        box = t.get_window_extent(renderer)
        if (box.x0 < canvas.x0 + margin or box.y0 < canvas.y0 + margin or box.x1 > canvas.x1 - margin
                or box.y1 > canvas.y1 - margin):
            outside.append(t.get_text())
    return outside


def value_text(row) -> str:
    """A drawn value as printed: '≥ 890,000 辆次'; a derived row brings its own text."""
    return row.get("text") or with_unit(bounds_text(row["value"], row["qualifier"]), row.get("unit"))


def _is_bound(row) -> bool:
    return row["qualifier"] == "more_than"


def bars(rows, title: str, source: str, width_in: float | None = None):
    """Figures sharing a unit, one panel per unit; bars start at zero."""
    units = list(dict.fromkeys(r["unit"] for r in rows))
    fig = _figure(len(rows), source, width_in, panels=len(units))
    heights = [sum(1 for r in rows if r["unit"] == u) + 0.8 for u in units]
    bounded = False
    h = fig.get_figheight()
    frame = fig.zz_frame
    grid = fig.add_gridspec(len(units), 1, height_ratios=heights, hspace=0.9 + 0.6 * frame.narrow,
                            left=_left(fig, 0.36), right=0.78 if frame.narrow else 0.9,
                            top=1 - TOP_IN / h, bottom=fig.zz_bottom_in / h)
    for i, unit in enumerate(units):
        ax = fig.add_subplot(grid[i])
        group = [r for r in rows if r["unit"] == unit][::-1]
        ys = range(len(group))
        vals = [r["value"] for r in group]
        ax.barh(ys, vals, color=[PALETTE["bound"] if _is_bound(r) else PALETTE["bar"] for r in group],
                height=0.6)
        bounded = bounded or any(_is_bound(r) for r in group)
        _labels(ax, ys, group)
        top = max(vals)
        for y, r in zip(ys, group):
            _role(ax.text(r["value"] + top * 0.015, y, value_text(r), va="center", fontsize=frame.label_pt))
        ax.set_xlim(0, top * 1.3)
        if frame.narrow:  # room above the first row for its label, below the panel's title
            ax.set_ylim(-0.6, len(group) - 0.4 + 0.55)
        ax.set_title(f"单位：{unit}", fontsize=frame.note_pt, fontweight="normal", color=PALETTE["muted"])
        ax.grid(axis="x", color=PALETTE["grid"])
        ax.set_axisbelow(True)
        ax.tick_params(axis="y", length=0)
    _legend(fig, bounded, "橙色条")
    _finish(fig, title)
    return fig


def magnitudes(rows, title: str, source: str, width_in: float | None = None):
    """Figures of different units or sizes: a dot plot, log axis when they span >20×."""
    rows = list(rows)[::-1]
    fig = _figure(len(rows), source, width_in)
    frame = fig.zz_frame
    ax = _axes(fig, _left(fig, 0.42), 0.88)
    vals = [r["value"] for r in rows]
    log = max(vals) / min(vals) > 20
    for y, r in enumerate(rows):
        bound = _is_bound(r)
        ax.plot([r["value"]], [y], marker=">" if bound else "o", markersize=8, linestyle="none",
                color=PALETTE["bound"] if bound else PALETTE["bar"])
        _role(ax.annotate(value_text(r), (r["value"], y), xytext=(8, 0), textcoords="offset points",
                          va="center", fontsize=frame.label_pt))
    _labels(ax, range(len(rows)), rows)
    ax.tick_params(axis="y", length=0)
    if log:
        ax.set_xscale("log")
        room = 1.3 if frame.narrow else 0.6  # for the value written after the largest dot
        lo, hi = 10 ** math.floor(math.log10(min(vals))), 10 ** math.ceil(math.log10(max(vals)) + room)
        ax.set_xlim(lo, hi)
        for _ in range(4):  # a decade more while the value after the largest dot would not fit
            fig.draw_without_rendering()
            right = max(t.get_window_extent().x1 for t in ax.texts)
            if right <= ax.get_window_extent().x1:
                break
            hi *= 10
            ax.set_xlim(lo, hi)
        decades = round(math.log10(hi / lo))
        step = 1 if decades <= 5 else 2  # a gridline a decade, or every second one; set, not left to
        # matplotlib, which thins a crowded log axis by itself and would belie the note below
        ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator([lo * 10 ** k for k in range(0, decades + 1, step)]))
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        note = f"对数刻度：相邻两条刻度线相差 {10 ** step} 倍；各项单位不同，只比较数量级"
        ax.set_xlabel("\n".join(_wrap(note, int(frame.width_in * 0.9 * 72 / frame.note_pt))),
                      fontsize=frame.note_pt, color=PALETTE["muted"])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_pow10_label))
    else:
        ax.set_xlim(0, max(vals) * (1.9 if frame.narrow else 1.45))
        ax.set_xlabel("各项单位不同，只作数量大小的示意", fontsize=frame.note_pt, color=PALETTE["muted"])
    ax.grid(axis="x", color=PALETTE["grid"])
    ax.set_axisbelow(True)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    _legend(fig, any(_is_bound(r) for r in rows))
    _finish(fig, title)
    return fig


def _pow10_label(x, _pos) -> str:
    """A power of ten in Chinese units: 0.1, 1, 10, 100, 1000, 1万 … 1000万, 1亿 … 1000万亿."""
    if x <= 0:
        return ""
    e = round(math.log10(x))
    if e < 0:
        return f"{x:.{-e}f}"
    myriads, zeros = divmod(min(e, 15), 4)
    return "1" + "0" * (zeros + e - min(e, 15)) + ("", "万", "亿", "万亿")[myriads]


def _legend(fig, with_bounds: bool, mark: str = "▶") -> None:
    if with_bounds:
        frame = fig.zz_frame
        y_in = fig.zz_bottom_in - 0.8 if frame.narrow else 0.3 + fig.zz_bottom_in - BOTTOM_IN  # under the axis notes
        fig.text(0.05 if frame.narrow else 0.42, y_in / fig.get_figheight(),
                 f"{mark}：下限（原文“余”“多”，实际数更大）", fontsize=frame.note_pt, color=PALETTE["bound"], ha="left")


RANK_NAMES = {1: "第一", 2: "第二", 3: "第三", 4: "第四", 5: "第五"}


def ranks(rows, title: str, source: str, width_in: float | None = None):
    """Places as places: first at the left, no bars (a rank is not an amount)."""
    rows = list(rows)[::-1]
    fig = _figure(len(rows), source, width_in)
    frame = fig.zz_frame
    ax = _axes(fig, _left(fig, 0.42), 0.92)
    worst = int(max(r["value"] for r in rows))
    for y, r in enumerate(rows):
        ax.plot([r["value"]], [y], marker="o", markersize=11, color=PALETTE["bar"], linestyle="none")
        _role(ax.annotate(RANK_NAMES.get(int(r["value"]), f"第{int(r['value'])}"), (r["value"], y),
                          xytext=(12, 0), textcoords="offset points", va="center", fontsize=frame.label_pt))
    ax.set_xlim(0.5, worst + 1.0)
    ax.set_xticks(range(1, worst + 1), [f"全省{RANK_NAMES.get(k, k)}" for k in range(1, worst + 1)])
    _labels(ax, range(len(rows)), rows)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.tick_params(axis="y", length=0)
    ax.grid(axis="x", color=PALETTE["grid"])
    ax.set_axisbelow(True)
    _finish(fig, title)
    return fig


def funnel(rows, title: str, source: str, width_in: float | None = None):
    """Stages in order, same unit; each later stage labelled with its share of the first."""
    rows = list(rows)
    fig = _figure(len(rows), source, width_in, height_per_row=0.6)
    frame = fig.zz_frame
    ax = _axes(fig, _left(fig, 0.22), 0.96)
    first = rows[0]["value"]
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        ax.barh(y, r["value"], left=(first - r["value"]) / 2, height=0.62,
                color=PALETTE["bound"] if _is_bound(r) else PALETTE["bar"])
        about = "约 " if _is_bound(r) or _is_bound(rows[0]) else ""  # from a bound: an approximate share
        share = "" if i == 0 else f"占“{rows[0]['label']}”的{about}{r['value'] / first:.1%}"
        share = "".join("\n" + line for line in _wrap(share, 9 if frame.narrow else 12)) if share else ""
        _role(ax.text(first * 1.03, y, value_text(r) + share, ha="left", va="center", fontsize=frame.label_pt))
    _labels(ax, range(len(rows) - 1, -1, -1), rows)
    ax.set_xticks([])
    ax.spines["bottom"].set_visible(False)
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0)
    ax.set_xlim(0, first * (2.1 if frame.narrow else 1.5))
    ax.set_ylim(-0.6, len(rows) - 0.4 + 0.3 * frame.narrow)
    _legend(fig, any(_is_bound(r) for r in rows), "橙色条")
    _finish(fig, title)
    return fig


def partial(rows, title: str, source: str, width_in: float | None = None):
    """A total (the first row), the parts the source names, and the remainder it leaves unnamed
    (the last row, hatched)."""
    total, parts, rest = rows[0], rows[1:-1], rows[-1]
    fig = _figure(3, source, width_in, height_per_row=0.5)
    frame = fig.zz_frame
    h, extra = fig.get_figheight(), fig.zz_bottom_in - BOTTOM_IN
    base = h - extra  # the layout above the source statement, as for a one-line source
    bar_y = 0.62 if frame.narrow else 0.3  # on a phone the key goes under the bar
    ax = fig.add_axes((0.04, (bar_y * base + extra) / h, 0.92, (0.12 if frame.narrow else 0.3) * base / h))
    left = 0.0
    colors = ["#2f6f9f", "#5b9bc4", "#9cc3de", "#c7dcec"]
    segments = [(p, colors[i % len(colors)], None) for i, p in enumerate(parts)]
    segments.append((rest, PALETTE["rest"], "///"))
    for i, (row, color, hatch) in enumerate(segments):
        value = row["value"]
        ax.barh(0, value, left=left, color=color, hatch=hatch, edgecolor="white", height=0.8)
        mid = left + value / 2
        if frame.narrow:  # a key under the bar, one line a segment: small segments never collide
            key_y = -1.3 - 1.1 * i
            ax.add_patch(matplotlib.patches.Rectangle((0, key_y - 0.22), total["value"] * 0.05, 0.44,
                                                      facecolor=color, hatch=hatch, edgecolor="white",
                                                      clip_on=False))
            _role(ax.text(total["value"] * 0.08, key_y, f"{row['label']} {value_text(row)}", va="center",
                          fontsize=frame.label_pt))
        else:
            label = "\n".join(_wrap(row["label"], 12))
            y_text = 0.62 if i % 2 == 0 else -0.62
            _role(ax.annotate(f"{label}\n{value_text(row)}", (mid, 0.4 if y_text > 0 else -0.4),
                              xytext=(mid, y_text), ha="center", va="bottom" if y_text > 0 else "top",
                              fontsize=frame.label_pt,
                              arrowprops={"arrowstyle": "-", "color": PALETTE["muted"], "lw": 0.6}))
        left += value
    ax.set_xlim(0, total["value"])
    ax.set_ylim(-1.6, 1.6)
    ax.axis("off")
    _role(fig.text(0.04, (0.8 * base + extra) / h, "\n".join(_wrap(f"{total['label']}：共 {value_text(total)}",
                   int(frame.width_in * 0.9 * 72 / 10.5))), fontsize=10.5 if frame.narrow else 10))
    _finish(fig, title)
    return fig


# How each chart form (forms.FORMS) is drawn: (rows, title, source, width_in) -> Figure.
DRAW: dict[str, Callable] = {"bars": bars, "magnitudes": magnitudes, "ranks": ranks, "funnel": funnel,
                             "partial": partial}
if DRAW.keys() != FORMS.keys():
    raise ImportError(f"charts.DRAW 画的图形 {sorted(DRAW)} 与 forms.FORMS 列出的 {sorted(FORMS)} 不一致")
