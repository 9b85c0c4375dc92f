"""What chapters call: one line each for the source passage, the metrics table, a figure, and
derived figures with their inputs and caveats. Outputs are Markdown, which the book renders
as MyST (tables and figures then work in HTML and PDF alike) and Jupyter shows as Markdown."""
from __future__ import annotations

import base64
import html
import json
import os
import re
import sys
import unicodedata
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

from zzreview import meta, paths, records
from zzreview.dataset import data, validate
from zzreview.dataset.bounds import Interval, interval_text, overlap_caveat, remainder, sum_of
from zzreview.dataset.quantity import QUALIFIERS, RULES, bounds_text, parse, when_text, with_unit
from zzreview.newspaper import marks, structure

QUALIFIER_SHORT = {"exact": "确数", "more_than": "下限", "approx": "约数", "nearly": "上限"}
QUALIFIER_ZH = {"exact": "确数", "more_than": "下限（余/多）", "approx": "约数（约/许/之际）", "nearly": "上限（近）"}


class Markdown:
    """A Markdown output; the book parses it as MyST."""

    def __init__(self, text: str):
        self.text = text

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:  # text/plain of the output: the text, not a memory address (builds repeat)
        return self.text


def setup() -> None:
    """First cell of every chapter: refuse to run on invalid data, and note every book file the
    chapter's own code opens (an audit hook), so the record of its reads is complete. (Charts are
    styled when the first figure is drawn.)"""
    if os.environ.get("ZZREVIEW_DATA_CHECKED") != "1":  # the build checked it all just before

        validate.check(chapters=False)  # an analyst's rerun after editing the data
    if not getattr(sys, "_zz_reads_hooked", False):  # (audit hooks cannot be removed: once a kernel)
        sys.addaudithook(lambda event, args: records.opened(*args) if event == "open" else None)
        sys._zz_reads_hooked = True


def record_reads():
    """Last cell of every chapter (hidden): what it read, with the content each read stood for,
    and what it drew. The output stays in the execution cache's record; the book's extension
    compares it with the inputs before each build (chapters.py)."""
    from zzreview.site.chapters import READS_MIME, reads_record  # (myst-nb: the replication package has none)

    display({READS_MIME: reads_record(), "text/plain": "（本章读取的数据记录）"}, raw=True)


def _drawing():
    """The chart modules, styled. Loaded only by chapters that draw: the executor counts the
    package modules a chapter loaded among its inputs, so a chart change re-runs just those."""
    from zzreview.drawing import charts, figures  # matplotlib: only in chapters that draw

    charts.setup()
    return charts, figures


def esc(text: str) -> str:
    """Escape characters Markdown would read as markup."""
    return re.sub(r"([\\`*_\[\]{}<>#|$~^])", r"\\\1", text)


def value_cell(row: dict) -> str:
    if row["kind"] in ("date", "time"):
        return ("约" if row["qualifier"] == "approx" else "") + when_text(row["when"])
    if row["kind"] == "rank":
        return f"第{int(row['value'])}名"
    return with_unit(bounds_text(row["value"], row["qualifier"]), row["unit"])


def as_written(row: dict) -> str:
    """A number as the source writes it, with its unit: "89万余辆次", "第一", "100%"."""
    expression = parse(row["quote"]).expression
    return expression if row["kind"] == "rank" else expression + ("" if row["unit"] == "%" else row["unit"])


def link_to(text: str, target: str, title: str = "") -> str:
    """A link within the page to the element with id `target` (the extension's zz-to role: MyST's
    own #links find no target inside a cell's output)."""
    title = " " + title.replace("`", "'").replace(">", "＞") if title else ""
    return f"{{zz-to}}`{text.replace('`', chr(39)).replace('<', '＜')} <{target}{title}>`"


def _marked_lines(section_id: str) -> list[tuple[str, list[tuple[marks.Mark, str]]]]:
    """The section's lines as printed (kicker, heading, paragraphs), each with its marks and, for
    a numeral that is not a fact, its anchor's name ("<section>-<n>", counted through the part;
    "" for a fact)."""
    with records.narrowed(f"section:{section_id}", f"metrics-of:{section_id}"):
        sec = structure.page().section(section_id)
        df = data.metrics()
    quotes = {str(mid): str(q) for mid, q in df.loc[df["section"] == section_id, "quote"].items()}
    ex = data.exclusions()
    reasons = dict(zip(ex["phrase"], ex["reason"]))
    out, n = [], 0
    for line in [*sec.printed_titles, *sec.paragraphs]:
        found = []
        for m in marks.marks(line, quotes, reasons):
            n += not m.is_fact
            found.append((m, "" if m.is_fact else f"{section_id}-{n}"))
        out.append((line, found))
    return out


def fact_title(mid: str) -> str:
    r = data.metric(mid)
    return f"{r['label']}：{value_cell(r)}（{QUALIFIER_SHORT[r['qualifier']]}）"


def _marked(line: str, found: list[tuple[marks.Mark, str]]) -> str:
    """A line of the source in Markdown: each fact a link to its data row (#m-<id>), with the
    phrase's own anchors (#q-<id>, one per fact it carries); each numeral that is not a fact a
    link to the reason (#x-<section>-<n>)."""
    out, pos = [], 0
    for m, n in found:
        out.append(esc(line[pos:m.start]))
        if m.is_fact:
            title = "；".join(fact_title(f) for f in m.facts)
            mark = link_to(line[m.start:m.end], f"m-{m.facts[0]}", title)
            for mid in reversed(m.facts):
                mark = f"[{mark}]{{#q-{mid}}}"
        else:
            mark = f'[{link_to(line[m.start:m.end], f"x-{n}", "不计作数据：" + m.reason)}]{{#xq-{n}}}'
        out.append(mark)
        pos = m.end
    return "".join(out) + esc(line[pos:])


def passage(section_id: str) -> Markdown:
    """The restored source passage a chapter covers, as a quotation with its byline; every number
    in it marked (newspaper/marks.py)."""
    with records.narrowed(f"section:{section_id}"):
        pg = structure.page()
    sec = pg.section(section_id)
    art = pg.article(sec.article_id)
    lines = [_marked(line, found) for line, found in _marked_lines(section_id)]
    lines = [f"**{t}**" for t in lines[:len(sec.printed_titles)]] + lines[len(sec.printed_titles):]
    quote = "\n>\n".join(f"> {line}" for line in lines)
    title = esc(art.title + (art.subtitle or ""))
    cite = f"——原文，出自《{title}》" + (f"，署名：{esc(art.byline)}" if art.byline else "")
    return Markdown(_container("zz-source", f"{quote}\n>\n> {cite}\n"))


def non_facts(section_id: str) -> list[str]:
    """The section's numerals that are not facts, in order: the reasons the marks link to."""
    return [f"- {link_to('「' + line[m.start:m.end] + '」', f'xq-{n}')}：[{esc(m.reason)}]{{#x-{n}}}"
            for line, found in _marked_lines(section_id) for m, n in found if not m.is_fact]


def article_heading(article_id: str) -> Markdown:
    """The article's printed title, byline and how the layout scattered it."""
    with records.narrowed(f"article:{article_id}"):
        art = structure.page().article(article_id)
    title = f"**{esc(art.title)}**" + (f"{esc(art.subtitle)}" if art.subtitle else "")
    byline = f"署名：{esc(art.byline)}。" if art.byline else "原文无署名。"
    return Markdown(f"原标题：{title}\n\n{byline}版面说明（本书）：{esc(art.note)}\n")


def _drawn_in(mid: str) -> str:
    """The figures that draw a metric, as references (the book numbers them)."""
    figs = [f["id"] for f in records.figure_registry() if mid in f.get("metrics", []) or f.get("total") == mid]
    return "、".join(f"{{numref}}`{f}`" for f in figs) or "—"


def fact_link(mid: str, text: str | None = None) -> str:
    """A value in a table or note: a link back to the phrase of the source it comes from."""
    r = data.metric(mid)
    return link_to(text or value_cell(r), f"q-{mid}")


def lead(text: str) -> Markdown:
    """A chapter's opening: prose in which each {metric-id} becomes the number as the source
    writes it ("89万余辆次"), linked to its marked phrase like any other value."""
    return Markdown(re.sub(r"\{([a-z0-9-]+)\}", lambda m: fact_link(m[1], as_written(data.metric(m[1]))), text) + "\n")


def fold(summary: str, body: str, css_class: str = "") -> str:
    """A section that folds on a phone (open on a desktop, in full on paper): sphinxext.py's zz-fold."""
    option = f":class: {css_class}\n" if css_class else ""
    return f"`````{{zz-fold}} {summary}\n{option}{body}\n`````\n"


def metrics_table(section_id: str) -> Markdown:
    """Every metric of a section — label (the anchor its marked phrase links to), value with its
    qualifier, the figures that draw it, and the quote (a link back to the marked phrase) — and
    the section's numerals that are not facts, with the reason; folded on a phone."""
    with records.narrowed(f"metrics-of:{section_id}"):
        df = data.metrics()
    rows = df[df["section"] == section_id]
    others = non_facts(section_id)
    parts = []
    if rows.empty:
        parts.append("本书未从本部分原文整理出定量事实。")
    else:
        out = ["| 指标 | 数值 | 限定 | 图 | 原文 |", "|---|---|---|---|---|"]
        for mid in rows.index:
            r = data.metric(mid)
            out.append(f"| [{esc(r['label'])}]{{#m-{mid}}} | {esc(value_cell(r))} | {QUALIFIER_ZH[r['qualifier']]} | "
                       f"{_drawn_in(mid)} | {fact_link(mid, '「' + r['quote'] + '」')} |")
        parts.append(_container("metrics-table", "\n".join(out)))
    if others:
        parts.append("原文中另有以下含数字的短语，不作为数据：\n\n" + "\n".join(others))
    summary = (f"本部分的 {len(rows)} 个数字" + (f"及 {len(others)} 处不计作数据的数字" if others else "")
               if len(rows) else f"本部分没有数据；另有 {len(others)} 处含数字的短语不计作数据")
    return Markdown(fold(summary, "\n\n".join(parts) + "\n", "zz-data"))


def _code_labels(resource: str, field: str) -> dict[str, str]:
    """A coded column's Chinese names, as the data package gives them (x_labels)."""
    res = next(r for r in meta.datapackage()["resources"] if r["name"] == resource)
    return next(f for f in res["schema"]["fields"] if f["name"] == field)["x_labels"]


def _register_item(row, labels: dict, links: bool = True) -> str:
    """One entry: the phrase, what kind of question, the facts it concerns (on the part's own
    page, links to their marked phrases), the question and the book's handling."""
    facts = [data.metric(m) for m in row.metrics.split()] if row.metrics else []
    names = "、".join(fact_link(r["id"], r["label"]) if links else esc(r["label"]) for r in facts)
    return (f"- [**「{esc(row.quote)}」**]{{#{row.id}}}（{labels[row.kind]}{'；所涉：' + names if names else ''}）  \n"
            f"  {esc(row.question)}  \n  处理：{esc(row.judgement)}")


def ambiguities(section_id: str) -> Markdown:
    """What this part of the text leaves open, and how the book treats it (data/ambiguities.csv);
    folded on a phone."""
    with records.narrowed(f"register-of:{section_id}"):
        df = data.ambiguities()
    rows = df[df["section"] == section_id]
    if rows.empty:
        return Markdown("登记表中没有本部分的条目。\n")
    labels = _code_labels("ambiguities", "kind")
    body = "\n".join(_register_item(r, labels) for r in rows.itertuples()) + "\n"
    return Markdown(fold(f"本部分的 {len(rows)} 条核对记录", body, "zz-register"))


def ambiguity_register() -> Markdown:
    """The whole register, part by part, in reading order."""
    df = data.ambiguities()
    pg, labels = structure.page(), _code_labels("ambiguities", "kind")
    out = []
    for art in pg.articles:
        for sec in art.sections:
            rows = df[df["section"] == sec.id]
            name = sec.title or (art.title + (art.subtitle or ""))
            items = [_register_item(r, labels, links=False) for r in rows.itertuples()] or ["（本部分没有条目）"]
            out.append(fold(f"{name}（{len(rows)} 条）", "\n".join(items) + "\n", "zz-register"))
    return Markdown("\n".join(out))


def _container(css_class: str, body: str) -> str:
    """Wrap Markdown in a docutils container so the book's CSS can style it."""
    return f"````{{container}} {css_class}\n{body}\n````\n"


class FigureOutput:
    """Shown inline in Jupyter (SVG + caption); rendered by the book as a numbered MyST figure."""

    def __init__(self, fig_id: str, files: dict, rows: list[dict], edited: list[str] = ()):
        self.fig_id, self.files, self.item = fig_id, files, records.figure_entry(fig_id)
        self.rows, self.edited = rows, list(edited)

    @property
    def alt(self) -> str:
        """Alt text with the values, generated from the data so it never goes stale."""
        return _drawing()[1].alt_text(self.fig_id, self.rows)

    def markdown(self) -> str:
        # not this build's path: the cached output stays valid wherever the build is (sphinxext)
        rel = paths.generated_uri(self.files["svg"].with_suffix("")) + ".*"
        caption = self.item["caption"].strip()
        return (f"```{{figure}} {rel}\n:name: {self.fig_id}\n:alt: {self.alt}\n"
                f":width: 100%\n\n{caption}\n```\n\n```{{zz-cite}} {self.fig_id}\n```\n")

    def note(self) -> str:
        if not self.edited:
            return ""
        return (f"注意：本图用的是笔记本里改过的数据（{'、'.join(self.edited)} 与 data/metrics.csv 不同），"
                f"不是书中的图：图上标有{_drawing()[1].EDITED_STAMP}，文件名带 .edited（{self.files['csv'].name} 等，"
                f"在 {self.files['csv'].parent}），其 CSV 的 edited 列标出改动的行。")

    def html(self) -> str:
        svg = base64.b64encode(self.files["svg"].read_bytes()).decode()
        note = f"<p><strong>{html.escape(self.note())}</strong></p>" if self.edited else ""
        return (f'{note}<figure id="{self.fig_id}"><img alt="{html.escape(self.alt)}" style="max-width:100%" '
                f'src="data:image/svg+xml;base64,{svg}"><figcaption>{html.escape(self.item["caption"])}'
                f"</figcaption></figure>")

    def _repr_mimebundle_(self, include=None, exclude=None):
        plain = f"[{self.fig_id}] {self.item['title']}" + (f"\n{self.note()}" if self.edited else "")
        # the metadata names the figure: the exported notebook finds the cells that draw one by it
        return ({"text/markdown": self.markdown(), "text/html": self.html(), "text/plain": plain},
                {"zzreview": {"figure": self.fig_id}})


def figure_data(fig_id: str):
    """The rows of data/metrics.csv a figure draws, as a pandas DataFrame indexed by metric id
    (a partial breakdown's total first). Change a value, a label or a unit in it and pass it to
    figure(fig_id, data) to see the chart follow."""
    _, figures = _drawing()  # (a chapter that asks for a figure's data draws it: its chart code is an input)
    return figures.figure_data(fig_id)


def _rows_of(df) -> dict[str, dict]:
    """A figure_data DataFrame back into metric rows (what data.metric gives)."""
    out = {}
    for mid, row in df.iterrows():
        r = {k: (None if k in ("value", "when") and _missing(v) else v) for k, v in row.to_dict().items()}
        r["value"] = None if r["value"] is None else float(r["value"])
        r["note"] = "" if _missing(r.get("note")) else r["note"]
        out[str(mid)] = {"id": str(mid), **r}
    return out


def _missing(value) -> bool:

    return value is None or (not isinstance(value, (list, tuple)) and bool(pd.isna(value)))


def _edited(given: dict[str, dict]) -> list[str]:
    """The metric ids whose drawn fields differ from data/metrics.csv."""
    changed = []
    for mid, row in given.items():
        stored = data.metric(mid)
        if any(row.get(k) != stored.get(k) for k in ("label", "value", "unit", "qualifier")):
            changed.append(mid)
    return changed


def figure(fig_id: str, data_frame=None) -> FigureOutput:
    """A numbered figure from the registry, drawn from the current data, or from `data_frame`
    (figure_data(fig_id), possibly edited) in an analyst's notebook."""
    charts, figures = _drawing()
    given = _rows_of(data_frame) if data_frame is not None else None
    rows = figures.drawn_rows(fig_id, given)
    edited = _edited(given) if given is not None else []
    fig = narrow = None
    try:  # (drawing lays out text too: a missing glyph may show there first)
        fig = figures.draw(fig_id, rows=rows, edited=edited)
        narrow = figures.draw(fig_id, charts.NARROW_IN, rows=rows, edited=edited)
        files = figures.save(fig, fig_id, narrow, rows, edited)
    except UserWarning as exc:  # charts.setup() made matplotlib's missing-glyph warning an error
        glyph = re.search(r"Glyph (\d+) ", str(exc))
        if not glyph:
            raise
        char = chr(int(glyph.group(1)))
        raise charts.MissingGlyphError(
            f"图 {fig_id}：图表字体中没有字符 U+{ord(char):04X} {char!r}（{unicodedata.name(char, '无名称')}）"
            "的字形，它会显示成空白方框。请从标签或标题中删去该字符，或安装含有它的字体") from None
    finally:
        for drawn in (fig, narrow):  # a figure left open would be displayed a second time
            if drawn is not None:
                plt.close(drawn)
    return FigureOutput(fig_id, files, rows, edited)


# --- Derived figures: interval arithmetic, so a bound stays a bound (zzreview/dataset/bounds.py) ------

@dataclass
class Derived:
    label: str
    formula: str
    inputs: list[dict]
    result: Interval
    percent: bool = False
    caveats: list[str] = field(default_factory=list)
    unit: str = ""

    def result_text(self) -> str:
        kinds = {r["qualifier"] for r in self.inputs} - {"exact"}  # (an approximate result is printed without it)
        what = QUALIFIER_SHORT[kinds.pop()] if len(kinds) == 1 else "界限"
        return interval_text(self.result, self.unit, self.percent,
                             f"{'两' if len(self.inputs) == 2 else '各'}数都是{what}")


def _bound_caveats(rows: list[dict]) -> list[str]:
    notes = []
    for r in rows:  # each named as the source writes it: "89万余辆次"
        if r["qualifier"] != "exact" and r["kind"] not in ("date", "time"):
            notes.append(f"“{r['label']}”原文作“{as_written(r)}”，是{QUALIFIER_SHORT[r['qualifier']]}")
    return notes


def ratio(numerator: str, denominator: str, label: str, percent: bool = False,
          caveat: str | None = None) -> Derived:
    """numerator / denominator, with the bound the qualifiers allow."""
    a, b = data.metric(numerator), data.metric(denominator)
    caveats = _bound_caveats([a, b])
    if a["unit"] != b["unit"]:
        caveats.append(f"单位不同（{a['unit']} ÷ {b['unit']}），结果是“每{b['unit']}多少{a['unit']}”")
    if caveat:
        caveats.append(caveat)
    unit = "" if percent or a["unit"] == b["unit"] else f"{a['unit']}/{b['unit']}"
    return Derived(label, f"{a['label']} ÷ {b['label']}", [a, b], Interval.of_row(a) / Interval.of_row(b),
                   percent, caveats, unit)


def total(ids: list[str], label: str, caveat: str | None = None, may_overlap: bool = False) -> Derived:
    """Sum of figures that share a unit; `may_overlap`: the caveats give the range if they overlap."""
    rows = [data.metric(i) for i in ids]
    units = {r["unit"] for r in rows}
    if len(units) != 1:
        raise ValueError(f"单位不同的数字不能相加：{'、'.join(sorted(units))}")
    overlap = overlap_caveat(rows, rows[0]["unit"]) if may_overlap else None
    caveats = _bound_caveats(rows) + [c for c in (caveat, overlap) if c]
    return Derived(label, " + ".join(r["label"] for r in rows), rows, sum_of(rows), False, caveats, rows[0]["unit"])


def difference(whole: str, parts: list[str], label: str, caveat: str | None = None,
               may_overlap: bool = False) -> Derived:
    """whole − sum(parts), e.g. the part of a total the source leaves unclassified; `may_overlap`:
    the caveats give the range if the parts overlap."""
    w, rows = data.metric(whole), [data.metric(p) for p in parts]
    overlap = overlap_caveat(rows, w["unit"], total=w) if may_overlap else None
    caveats = _bound_caveats([w] + rows) + [c for c in (caveat, overlap) if c]
    return Derived(label, f"{w['label']} − （" + " + ".join(r["label"] for r in rows) + "）",
                   [w] + rows, remainder(w, rows), False, caveats, w["unit"])


def derived_table(items: list[Derived]) -> Markdown:
    """Derived figures with their formula, inputs (as quoted) and caveats."""
    out = ["| 派生指标 | 计算 | 输入 | 结果 | 注意 |", "|---|---|---|---|---|"]
    for d in items:
        inputs = "；".join(f"{esc(r['label'])} {fact_link(r['id'])}" for r in d.inputs)
        caveats = "；".join(esc(c) for c in d.caveats) or "—"
        out.append(f"| {esc(d.label)} | {esc(d.formula)} | {inputs} | **{esc(d.result_text())}** | {caveats} |")
    return Markdown(_container("derived-table", "\n".join(out)))


# --- Appendix helpers ------------------------------------------------------------------------

def code(text: str) -> str:
    """Inline code in a table cell: shown exactly as in the data (only the cell separator is
    escaped, which the table parser turns back into '|')."""
    text = str(text).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def data_dictionary() -> Markdown:
    """Every table of the data package with its fields, generated from datapackage.json. Names,
    values and patterns are code, shown byte for byte as the data package has them."""
    out = []
    for res in meta.datapackage()["resources"]:
        head = f"{esc(res['title'])}\n\n{esc(res.get('description', ''))}\n"
        if "schema" not in res:
            out.append(fold(f"{res['path']}：{res['title']}", head))
            continue
        table = ["| 字段 | 名称 | 类型 | 约束 | 说明 |", "|---|---|---|---|---|"]
        for f in res["schema"]["fields"]:
            shown = []
            for key, val in f.get("constraints", {}).items():
                if key == "enum":
                    shown.append(f"{key}: " + "、".join(code(v) for v in val))
                else:  # as JSON writes it: true, 2, a pattern string
                    shown.append(f"{key}: {code(val if isinstance(val, str) else json.dumps(val))}")
            table.append(f"| {code(f['name'])} | {esc(f.get('title', ''))} | {code(f['type'])} | "
                         f"{'；'.join(shown) if shown else '—'} | {esc(f.get('description', ''))} |")
        key = res["schema"].get("primaryKey")
        keys = f"\n主键：{'、'.join(code(k) for k in key)}\n" if key else ""
        out.append(fold(f"{res['path']}：{res['title']}", head + "\n" + _container("zz-cards", "\n".join(table)) + keys))
    return Markdown("\n".join(out))


def parser_rules() -> Markdown:
    out = ["| 顺序 | 类型 | 规则 |", "|---|---|---|"]
    out += [f"| {i} | `{kind}` | {esc(text)} |" for i, (kind, text, _) in enumerate(RULES, 1)]
    out += ["", "| 限定 | 含义 |", "|---|---|"]
    out += [f"| `{k}` | {esc(v)} |" for k, v in QUALIFIERS.items()]
    return Markdown("\n".join(out) + "\n")


def exclusions_table() -> Markdown:
    df, labels = data.exclusions(), _code_labels("numeral-exclusions", "category")
    out = ["| 原文短语 | 出现次数 | 类别 | 原因 |", "|---|---|---|---|"]
    out += [f"| 「{esc(r.phrase)}」 | {r.occurrences} | {labels[r.category]} | {esc(r.reason)} |"
            for r in df.itertuples()]
    return Markdown(fold(f"全部 {len(df)} 个短语", _container("zz-cards", "\n".join(out))))


def restored_source() -> Markdown:
    """The whole page in reading order, as restored by the structure step. Every printed title
    stands on its own line as printed; the only words added are the book's labels 署名 and the
    note on each article's layout (in italics)."""
    pg = structure.page()
    out = []
    for art in pg.articles:
        out.append(f"## {esc(art.title)}" + (esc(art.subtitle) if art.subtitle else ""))  # as the articles cite it
        out.append(f"*版面说明（本书）：{esc(art.note)}*")
        for sec in art.sections:
            out += [f"**{esc(t)}**" for t in sec.printed_titles]
            out += [esc(p) for p in sec.paragraphs]
        if art.byline:
            out.append(f"署名：{esc(art.byline)}")
    out.append("## 版面栏目标签")
    out.append("原文另有以下几行文字，本书推断是栏目标签；原文未表明它们属于哪篇文章：" +
               "、".join(f"「{esc(x)}」" for x in pg.page_labels) + "。")
    return Markdown("\n\n".join(out) + "\n")


def counts() -> dict:
    """Sizes quoted on the front page, computed rather than typed."""
    df = data.metrics()
    ex = data.exclusions()
    pg = structure.page()
    return {"metrics": len(df), "articles": len(pg.articles), "sections": len(pg.section_ids()),
            "figures": len(records.figure_registry()), "exclusion_phrases": len(ex),
            "exclusion_occurrences": int(ex["occurrences"].sum()),
            "lower_bounds": int((df["qualifier"] == "more_than").sum())}


def source_statement() -> Markdown:
    """What the source is, from the data package; unknowns are said to be unknown."""
    dp = meta.datapackage()
    src, x = dp["sources"][0], meta.source_facts()
    unknown = "不详（原文中没有）"
    rows = [
        ("报纸名称", unknown if x["newspaper"] == meta.UNKNOWN else esc(x["newspaper"])),
        ("版次", unknown if x["page"] == meta.UNKNOWN else esc(x["page"])),
        ("出版日期", (unknown if x["published"] == meta.UNKNOWN else esc(x["published"]))
         + f"；据文中日期推断不早于 {x['published_not_before']}，依据：{esc(x['evidence_for_date'])}"),
        ("收到的文本", "UTF-8 纯文本；文件名和 sha256 校验值记在数据包中，网页版也列在本页底部的“技术信息”里"),
        ("说明", esc(src["description"])),
    ]
    out = ["| 项目 | 内容 |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return Markdown(_container("zz-cards", "\n".join(out)))


def pipeline_summary() -> Markdown:
    c = counts()
    return Markdown(
        f"按本书的复原，原文分为 {c['articles']} 篇（组）文章、{c['sections']} 个部分；整理出 {c['metrics']} 个定量事实"
        f"（其中 {c['lower_bounds']} 个是“余/多”给出的下限）；另有 {c['exclusion_phrases']} 个含数字的短语"
        f"（在原文中共出现 {c['exclusion_occurrences']} 次）不作为定量事实，逐一说明了原因；"
        f"全书 {c['figures']} 幅图。以上数目都由程序从数据计算。\n")
